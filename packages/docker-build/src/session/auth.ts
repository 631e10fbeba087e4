/**
 * Registry credentials (`moby.filesync.v1.Auth`): BuildKit asks `Credentials` for each registry host it pulls from
 * (the base image, helper stages), so every registry gets its own credentials from the builder's resolver (Docker
 * config, credential helpers, registryConfig). The token-authority methods are answered UNIMPLEMENTED: BuildKit then
 * takes the username and secret and fetches registry tokens itself, as it does for the Docker CLI without them.
 */

import { type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import type { Message } from "./proto.js";

/** A registry's credentials as BuildKit takes them: a username and a password or an identity token (`secret`). */
export type SessionCredentials = (host: string) => Promise<{ readonly username: string; readonly secret: string } | undefined>;

type Unary = (call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>) => void;

export interface AuthService {
  Credentials: Unary;
  FetchToken: Unary;
  GetTokenAuthority: Unary;
  VerifyTokenAuthority: Unary;
}

/** BuildKit names Docker Hub by the host it talks to; credentials are stored under docker.io. */
function registryName(host: string): string {
  return host === "registry-1.docker.io" || host === "index.docker.io" ? "docker.io" : host;
}

export function authService(credentials: SessionCredentials, trace: (line: string) => void): AuthService {
  const unimplemented: Unary = (_call, callback) => callback({ code: status.UNIMPLEMENTED, details: "imagespec lets BuildKit fetch registry tokens itself" });
  return {
    Credentials(call, callback) {
      const host = String(call.request.Host ?? "");
      credentials(registryName(host)).then(
        (found) => {
          trace(`registry credentials for ${host}: ${found ? `found (user ${found.username || "(identity token)"})` : "none (anonymous)"}`);
          callback(null, found ? { Username: found.username, Secret: found.secret } : {});
        },
        (error: Error) => callback({ code: status.UNAVAILABLE, details: `cannot read the credentials for ${host}: ${error.message}` }),
      );
    },
    FetchToken: unimplemented,
    GetTokenAuthority: unimplemented,
    VerifyTokenAuthority: unimplemented,
  };
}
