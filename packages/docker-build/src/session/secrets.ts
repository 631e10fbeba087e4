/**
 * Secrets (`moby.buildkit.secrets.v1.Secrets/GetSecret`): a step with `--mount=type=secret,id=<id>` asks for the value
 * by id when it runs. The value is read then, from its file or environment variable, and handed to the engine;
 * it is never written anywhere on this machine, never logged, and never kept after the answer.
 */

import { readFile } from "node:fs/promises";
import { type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import type { Message } from "./proto.js";

/** Where a secret's value is: a file (absolute path) or an environment variable. */
export type SecretSource = { readonly file: string } | { readonly env: string };

export interface SecretsService {
  GetSecret(call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>): void;
}

export function secretsService(sources: ReadonlyMap<string, SecretSource>, env: NodeJS.ProcessEnv, trace: (line: string) => void): SecretsService {
  return {
    GetSecret(call, callback) {
      const id = String(call.request.ID ?? "");
      const source = sources.get(id);
      if (source === undefined) return callback({ code: status.NOT_FOUND, details: `no secret ${JSON.stringify(id)} in this build` });
      if ("env" in source) {
        const value = env[source.env];
        trace(`secret ${id}: from the environment variable ${source.env}${value === undefined ? " (not set)" : ""}`);
        if (value === undefined) return callback({ code: status.NOT_FOUND, details: `secret ${id}: the environment variable ${source.env} is not set` });
        return callback(null, { data: Buffer.from(value, "utf8") });
      }
      trace(`secret ${id}: from the file ${source.file}`);
      readFile(source.file).then(
        (data) => callback(null, { data }),
        (error: NodeJS.ErrnoException) =>
          callback({
            code: status.NOT_FOUND,
            details: `secret ${id}: cannot read ${source.file}: ${error.code === "ENOENT" ? "it does not exist" : error.message}`,
          }),
      );
    },
  };
}
