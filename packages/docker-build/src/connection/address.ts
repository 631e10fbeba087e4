/**
 * Where a Docker engine is and how to reach it: a unix (or npipe) socket, TCP with or without TLS, or SSH. Parsing
 * reads no file and loads no client, so builders call it from `supports()` and config checks; `openEngineConnection`
 * (`@imagespec/docker-build/engine`) reads the TLS material and SSH keys and connects.
 */

import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ImageSpecError } from "@imagespec/core/authoring";

/** TLS files: a DOCKER_CERT_PATH-style folder (`ca.pem`, `cert.pem`, `key.pem`) and/or explicit files, which win. None: the system CAs. */
export type TlsMaterial = { readonly ca?: string; readonly cert?: string; readonly key?: string; readonly certPath?: string };

/** How to reach an engine, with every default resolved (paths absolute, ports set). */
export type EngineTransport =
  | { readonly kind: "socket"; readonly socketPath: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly tls: false | TlsMaterial }
  | {
      readonly kind: "ssh";
      readonly host: string;
      readonly port: number;
      readonly username: string | undefined;
      /** The private key; undefined: the SSH agent (SSH_AUTH_SOCK), else ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
      readonly identityFile: string | undefined;
      /** The known_hosts file the host key must be in: an unknown or changed key is refused, always. */
      readonly knownHosts: string;
    };

export interface EngineAddress {
  /** The address as messages show it: `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`. */
  readonly endpoint: string;
  readonly transport: EngineTransport;
}

export interface EngineHostOptions {
  /** DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, HOME. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** SSH: the private key (default: the agent, then ~/.ssh/id_*). */
  readonly identityFile?: string;
  /** SSH: the known_hosts file (default ~/.ssh/known_hosts). */
  readonly knownHosts?: string;
  /** The setting the address came from, for errors. Default `host`. */
  readonly field?: string;
}

const DEFAULT_SOCKET = "/var/run/docker.sock";

/** `~/x` → the home folder; relative paths resolve against the current directory. */
export function expandHome(value: string, env: NodeJS.ProcessEnv = process.env): string {
  if (value === "~" || value.startsWith("~/")) return path.join(env.HOME || os.homedir(), value.slice(1));
  return path.resolve(value);
}

/** The local socket when nothing names an engine: Docker Desktop's `~/.docker/run/docker.sock` if it exists, else /var/run/docker.sock (dockerode's rule). */
function defaultSocket(env: NodeJS.ProcessEnv): string {
  const user = path.join(env.HOME || os.homedir(), ".docker", "run", "docker.sock");
  return existsSync(user) ? user : DEFAULT_SOCKET;
}

/**
 * Reads an engine address as the docker CLI does: `unix://` and `npipe://` sockets, `tcp://host[:port]` (TLS when
 * DOCKER_TLS_VERIFY is set, the scheme is `https://` or the port is 2376; the files from DOCKER_CERT_PATH, else
 * ~/.docker when DOCKER_TLS_VERIFY asks for verification, else the system CAs), and `ssh://[user@]host[:port]`, whose host
 * key is always checked against known_hosts. A bad address is a CONFIG_ERROR naming the field.
 */
export function parseEngineHost(host: string, options: EngineHostOptions = {}): EngineAddress {
  const env = options.env ?? process.env;
  const field = options.field ?? "host";
  const bad = (why: string) =>
    new ImageSpecError("CONFIG_ERROR", `Cannot connect to the Docker engine: ${JSON.stringify(host)} ${why}`, {
      field,
      value: host,
      hint: "Write it as unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host.",
    });
  if (host.startsWith("unix://") || host.startsWith("npipe://")) {
    const socketPath = host.slice(host.indexOf("://") + 3) || (host.startsWith("npipe://") ? "//./pipe/docker_engine" : defaultSocket(env));
    return { endpoint: host.startsWith("unix://") ? `unix://${socketPath}` : host, transport: { kind: "socket", socketPath } };
  }
  let url: URL;
  try {
    // The docker CLI reads `host:port` as tcp://host:port.
    url = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch {
    throw bad("is not an engine address");
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!hostname) throw bad("names no host");
  if (url.pathname !== "" && url.pathname !== "/") throw bad("has a path; an engine address is scheme://host[:port]");
  const port = url.port ? Number(url.port) : undefined;
  if (url.protocol === "ssh:") {
    if (url.password) throw bad("has a password; use a key (identityFile) or the SSH agent");
    const username = url.username ? decodeURIComponent(url.username) : undefined;
    return {
      endpoint: `ssh://${url.username ? `${url.username}@` : ""}${url.host}`,
      transport: {
        kind: "ssh",
        host: hostname,
        port: port ?? 22,
        username,
        identityFile: options.identityFile === undefined ? undefined : expandHome(options.identityFile, env),
        knownHosts: expandHome(options.knownHosts ?? "~/.ssh/known_hosts", env),
      },
    };
  }
  if (url.protocol !== "tcp:" && url.protocol !== "http:" && url.protocol !== "https:")
    throw bad(`uses ${url.protocol}//; an engine is reached over unix://, tcp:// or ssh://`);
  if (url.username || url.password) throw bad("has a user name; a tcp:// engine authenticates with its TLS client certificate");
  const verify = (env.DOCKER_TLS_VERIFY ?? "") !== "";
  const tls = url.protocol === "https:" || verify || port === 2376;
  const certPath = env.DOCKER_CERT_PATH || (verify ? path.join(env.HOME || os.homedir(), ".docker") : undefined);
  return {
    endpoint: `${url.protocol === "https:" ? "https" : "tcp"}://${url.host}`,
    transport: { kind: "tcp", host: hostname, port: port ?? (tls ? 2376 : 2375), tls: tls ? (certPath ? { certPath: expandHome(certPath, env) } : {}) : false },
  };
}

/** The engine a local builder uses: `host` when given, else DOCKER_HOST, else the local socket. */
export function localEngineAddress(host: string | undefined, options: EngineHostOptions = {}): EngineAddress {
  const env = options.env ?? process.env;
  if (host !== undefined) return parseEngineHost(host, options);
  if (env.DOCKER_HOST) return parseEngineHost(env.DOCKER_HOST, { ...options, field: "DOCKER_HOST" });
  const socketPath = defaultSocket(env);
  return { endpoint: `unix://${socketPath}`, transport: { kind: "socket", socketPath } };
}
