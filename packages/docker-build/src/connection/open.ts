/**
 * Connecting to an engine: its TLS material or SSH key read and checked (a bad file is named), the SSH host key checked
 * against known_hosts, a dockerode client with every option given explicitly (dockerode otherwise fills gaps from
 * DOCKER_HOST, DOCKER_CERT_PATH and SSH_AUTH_SOCK of this process, which may describe another engine), and a health
 * check that the engine answers and builds with BuildKit. Both Docker builders connect through here.
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { formatPlatform, ImageSpecError } from "@imagespec/core/authoring";
import type Dockerode from "dockerode";
import { type EngineConnection, withTimeout } from "../engine-api.js";
import type { EngineAddress, EngineTransport, TlsMaterial } from "./address.js";
import { type HostVerifier, knownHostsVerifier } from "./known-hosts.js";

const CONNECTION_ERROR = Symbol.for("imagespec.docker-build.engine-connection");

/**
 * Why an engine cannot be used. `config`: material the user must fix (a missing or broken TLS file or SSH key);
 * `host-key`: the SSH host key is unknown, changed or revoked in known_hosts; `down`: the engine does not answer,
 * refuses us, or is too old. The message is the reason alone (`its SSH host key is not in ...`); `endpoint` names the engine.
 */
export class EngineConnectionError extends Error {
  constructor(
    readonly kind: "config" | "host-key" | "down",
    readonly endpoint: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "EngineConnectionError";
    Object.defineProperty(this, CONNECTION_ERROR, { value: true });
  }
}

/** True for an EngineConnectionError, from any copy of this package. */
export function isEngineConnectionError(error: unknown): error is EngineConnectionError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[CONNECTION_ERROR] === true;
}

/** The hint for an SSH host key that was refused: there is no way around the check. */
const HOST_KEY_HINT = "imagespec checks SSH host keys as ssh does (StrictHostKeyChecking); it never accepts an unknown key.";

/**
 * The ImageSpecError a builder throws for one engine it cannot use: `Cannot <action>: ...` naming the engine;
 * CONFIG_ERROR for material to fix, ENVIRONMENT otherwise.
 */
export function engineConnectionFailure(error: EngineConnectionError, action: string, downHint?: string): ImageSpecError {
  const { endpoint, kind } = error;
  const message =
    kind === "host-key"
      ? `Cannot ${action}: the Docker engine at ${endpoint} is not trusted: ${error.message}`
      : kind === "config"
        ? `Cannot ${action}: the Docker engine at ${endpoint} cannot be reached: ${error.message}`
        : `Cannot ${action}: no Docker engine answers at ${endpoint} (${error.message})`;
  return new ImageSpecError(kind === "config" ? "CONFIG_ERROR" : "ENVIRONMENT", message, {
    value: endpoint,
    cause: error,
    ...((error.hint ?? downHint) !== undefined && { hint: error.hint ?? downHint }),
  });
}

export interface OpenedEngine extends EngineConnection {
  /** `Docker 27.1.1, API 1.46, linux/amd64`. */
  readonly description: string;
  /** The engine's own platform, `linux/amd64`. */
  readonly platform: string;
}

/** Minimum Engine API for BuildKit builds through `/build?version=2` (Docker 18.09). */
const MIN_API = [1, 39] as const;

async function readMaterial(endpoint: string, file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new EngineConnectionError(
      "config",
      endpoint,
      `cannot read the TLS ${what} ${file}: ${code === "ENOENT" ? "it does not exist" : (error as Error).message}`,
    );
  }
}

/** The CA, client certificate and key, each read and checked; an error names the file at fault. */
export async function loadTlsMaterial(tls: TlsMaterial, endpoint = "the engine"): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
  const fail = (message: string) => new EngineConnectionError("config", endpoint, message);
  const inFolder = (name: string) => (tls.certPath === undefined ? undefined : path.join(tls.certPath, name));
  const exists = async (file: string | undefined) =>
    file !== undefined &&
    (await access(file).then(
      () => true,
      () => false,
    ));
  const caFile = tls.ca ?? inFolder("ca.pem");
  let certFile = tls.cert ?? inFolder("cert.pem");
  let keyFile = tls.key ?? inFolder("key.pem");
  if (tls.certPath !== undefined && !(await exists(tls.certPath))) throw fail(`the TLS folder ${tls.certPath} does not exist`);
  // In a folder, the client pair is optional (server-only TLS), as the docker CLI has it; half a pair is an error.
  if (tls.cert === undefined && tls.key === undefined && !(await exists(certFile)) && !(await exists(keyFile))) {
    certFile = undefined;
    keyFile = undefined;
  }
  const material: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  if (caFile !== undefined) {
    material.ca = await readMaterial(endpoint, caFile, "CA certificate");
    try {
      new X509Certificate(material.ca);
    } catch (error) {
      throw fail(`the TLS CA certificate ${caFile} is not a PEM certificate (${(error as Error).message})`);
    }
  }
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined)
      throw fail(`the TLS client certificate needs both cert and key, but only ${certFile ?? keyFile} is given`);
    material.cert = await readMaterial(endpoint, certFile, "client certificate");
    material.key = await readMaterial(endpoint, keyFile, "client key");
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(material.cert);
    } catch (error) {
      throw fail(`the TLS client certificate ${certFile} is not a PEM certificate (${(error as Error).message})`);
    }
    let key: ReturnType<typeof createPrivateKey>;
    try {
      key = createPrivateKey(material.key);
    } catch (error) {
      throw fail(`the TLS client key ${keyFile} is not a PEM private key (${(error as Error).message})`);
    }
    if (!certificate.checkPrivateKey(key)) throw fail(`the TLS client key ${keyFile} does not belong to the certificate ${certFile}`);
    if (new Date(certificate.validTo).getTime() < Date.now()) throw fail(`the TLS client certificate ${certFile} expired on ${certificate.validTo}`);
  }
  return material;
}

async function sshKey(endpoint: string, file: string | undefined, env: NodeJS.ProcessEnv): Promise<{ privateKey?: Buffer; agent?: string }> {
  if (file !== undefined) {
    try {
      return { privateKey: await readFile(file) };
    } catch (error) {
      throw new EngineConnectionError(
        "config",
        endpoint,
        `cannot read the SSH key ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (error as Error).message}`,
      );
    }
  }
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
  const home = env.HOME || os.homedir();
  for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
    const key = await readFile(path.join(home, ".ssh", name)).catch(() => undefined);
    if (key !== undefined) return { privateKey: key };
  }
  throw new EngineConnectionError(
    "config",
    endpoint,
    `no SSH key: SSH_AUTH_SOCK is not set and ${path.join(home, ".ssh")} has no id_ed25519, id_ecdsa or id_rsa`,
    "Start an SSH agent with your key, or give the engine an identityFile.",
  );
}

/** Every dockerode option, so none comes from this process's DOCKER_* variables. */
const NONE = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  timeout: undefined,
} as unknown as Dockerode.DockerOptions;

/** dockerode options for the engine, every one explicit, and the SSH options (with the host key check) when it is ssh://. */
async function clientOptions(
  address: EngineAddress,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ options: Dockerode.DockerOptions; sshOptions?: Record<string, unknown>; verifier?: HostVerifier }> {
  const t = address.transport;
  if (t.kind === "socket") return { options: { ...NONE, socketPath: t.socketPath } };
  if (t.kind === "tcp") {
    if (t.tls === false) return { options: { ...NONE, protocol: "http", host: t.host, port: t.port } };
    const material = await loadTlsMaterial(t.tls, address.endpoint);
    return { options: { ...NONE, protocol: "https", host: t.host, port: t.port, ...material } as Dockerode.DockerOptions };
  }
  const key = await sshKey(address.endpoint, t.identityFile, env);
  const verifier = await knownHostsVerifier(t.knownHosts, t.host, t.port);
  const sshOptions = { ...key, hostVerifier: verifier, readyTimeout: timeoutMs };
  const options = {
    ...NONE,
    protocol: "ssh",
    host: t.host,
    port: t.port,
    ...(t.username !== undefined && { username: t.username }),
    sshOptions,
  } as Dockerode.DockerOptions;
  return { options, sshOptions, verifier };
}

/** Explains the usual SSH and TLS failures in terms of the files the user gave. */
function explainFailure(
  transport: EngineTransport,
  error: Error,
  verifier: HostVerifier | undefined,
): { kind: "host-key" | "down"; message: string; hint?: string } {
  const message = error.message || String(error);
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (verifier?.refusal !== undefined) return { kind: "host-key", message: verifier.refusal, hint: HOST_KEY_HINT };
  if (transport.kind === "ssh" && /authentication methods failed/i.test(message)) {
    return {
      kind: "down",
      message: `it refused our SSH key (${message})`,
      hint: "Give the engine an identityFile whose public key is in the remote user's authorized_keys, or load it into your SSH agent.",
    };
  }
  if (transport.kind === "tcp" && transport.tls !== false) {
    const tls = transport.tls;
    const ca = tls.ca ?? (tls.certPath ? path.join(tls.certPath, "ca.pem") : "the system CAs");
    if (/self[- ]signed|unable to (get|verify)|certificate (verify|signature)|UNABLE_TO|SELF_SIGNED|CERT_/.test(`${code} ${message}`)) {
      return {
        kind: "down",
        message: `its TLS certificate is not signed by ${ca} (${message})`,
        hint: `Use the CA that signed the engine's certificate as ${ca}.`,
      };
    }
    if (/altnames|ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match/.test(`${code} ${message}`)) {
      return { kind: "down", message: `its TLS certificate is not for ${transport.host} (${message})` };
    }
    if (/bad certificate|certificate required|alert|handshake/i.test(message)) {
      return {
        kind: "down",
        message: `it refused our TLS client certificate (${message})`,
        hint: "Give a client certificate (cert.pem, key.pem) signed by the CA the engine trusts (its --tlscacert).",
      };
    }
  }
  if (transport.kind !== "socket" && code === "ECONNREFUSED") return { kind: "down", message: "it refuses connections (nothing listens on that port)" };
  return { kind: "down", message };
}

/**
 * Connects and checks the engine: it answers `/version` within the timeout, over an API that builds with BuildKit.
 * An ssh:// engine's host key must be in its known_hosts file. Rejects with an EngineConnectionError saying why.
 */
export async function openEngineConnection(address: EngineAddress, options: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<OpenedEngine> {
  const env = options.env ?? process.env;
  const { endpoint, transport } = address;
  const { default: Docker } = await import("dockerode");
  const { options: dockerOptions, sshOptions, verifier } = await clientOptions(address, env, options.timeoutMs);
  let docker: Dockerode;
  try {
    docker = new Docker(dockerOptions);
  } catch (error) {
    // dockerode reads DOCKER_HOST and DOCKER_CERT_PATH for its defaults even when every option is given.
    throw new EngineConnectionError(
      "config",
      endpoint,
      `cannot create a Docker client (${(error as Error).message})`,
      "Check DOCKER_HOST and DOCKER_CERT_PATH in the environment: dockerode reads them even when the engine is named.",
      { cause: error },
    );
  }
  // dockerode puts SSH_AUTH_SOCK of a DOCKER_HOST=ssh:// process over the options given: ours, with the host key check, win.
  if (sshOptions !== undefined) (docker.modem as unknown as { sshOptions: Record<string, unknown> }).sshOptions = sshOptions;
  let version: Dockerode.DockerVersion;
  try {
    version = await withTimeout(docker.version(), options.timeoutMs, `it did not answer within ${options.timeoutMs / 1000} s`);
  } catch (error) {
    const explained = explainFailure(transport, error as Error, verifier);
    throw new EngineConnectionError(explained.kind, endpoint, explained.message, explained.hint, { cause: error });
  }
  const api = (version.ApiVersion ?? "0.0").split(".").map(Number);
  if ((api[0] ?? 0) < MIN_API[0] || ((api[0] ?? 0) === MIN_API[0] && (api[1] ?? 0) < MIN_API[1])) {
    throw new EngineConnectionError(
      "down",
      endpoint,
      `its Engine API ${version.ApiVersion} is too old for BuildKit (needs ${MIN_API.join(".")}, Docker 18.09 or later)`,
    );
  }
  const platform = formatPlatform({ os: String(version.Os).toLowerCase(), architecture: String(version.Arch).toLowerCase() });
  return { docker, endpoint, description: `Docker ${version.Version}, API ${version.ApiVersion}, ${platform}`, platform };
}
