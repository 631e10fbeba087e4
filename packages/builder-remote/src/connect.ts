/**
 * Reaching one engine: its TLS material or SSH key read and checked (a bad file is named), a dockerode client with
 * every option given explicitly (dockerode otherwise fills gaps from DOCKER_HOST and DOCKER_CERT_PATH, which describe
 * the local engine, not this one), and a health check that the engine answers and builds with BuildKit.
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { formatPlatform } from "@imagespec/core/authoring";
import { type EngineConnection, withTimeout } from "@imagespec/docker-build/engine";
import type Dockerode from "dockerode";
import type { ResolvedEngine, TlsMaterial } from "./config.js";
import { type HostVerifier, knownHostsVerifier } from "./known-hosts.js";

/** Why an engine cannot be used: `config` for material the user must fix, `down` for an engine that does not answer. */
export class EngineUnavailable extends Error {
  constructor(
    readonly kind: "config" | "down",
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "EngineUnavailable";
  }
}

export interface OpenEngine extends EngineConnection {
  /** `Docker 27.1.1, API 1.46, linux/amd64`. */
  readonly description: string;
  /** The engine's own platform, `linux/amd64`. */
  readonly platform: string;
}

/** Minimum Engine API for BuildKit builds through `/build?version=2` (Docker 18.09). */
const MIN_API = [1, 39] as const;

async function readMaterial(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new EngineUnavailable("config", `cannot read the TLS ${what} ${file}: ${code === "ENOENT" ? "it does not exist" : (error as Error).message}`);
  }
}

/** The CA, client certificate and key, each read and checked; an error names the file at fault. */
export async function loadTlsMaterial(tls: TlsMaterial): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
  const inFolder = (name: string) => (tls.certPath === undefined ? undefined : path.join(tls.certPath, name));
  const exists = async (file: string | undefined) => file !== undefined && (await access(file).then(() => true, () => false));
  const caFile = tls.ca ?? inFolder("ca.pem");
  let certFile = tls.cert ?? inFolder("cert.pem");
  let keyFile = tls.key ?? inFolder("key.pem");
  if (tls.certPath !== undefined && !(await exists(tls.certPath))) throw new EngineUnavailable("config", `the TLS folder ${tls.certPath} does not exist`);
  // In a folder, the client pair is optional (server-only TLS), as the docker CLI has it; half a pair is an error.
  if (tls.cert === undefined && tls.key === undefined && !(await exists(certFile)) && !(await exists(keyFile))) {
    certFile = undefined;
    keyFile = undefined;
  }
  const material: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  if (caFile !== undefined) {
    material.ca = await readMaterial(caFile, "CA certificate");
    try {
      new X509Certificate(material.ca);
    } catch (error) {
      throw new EngineUnavailable("config", `the TLS CA certificate ${caFile} is not a PEM certificate (${(error as Error).message})`);
    }
  }
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined) throw new EngineUnavailable("config", `the TLS client certificate needs both cert and key, but only ${certFile ?? keyFile} is given`);
    material.cert = await readMaterial(certFile, "client certificate");
    material.key = await readMaterial(keyFile, "client key");
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(material.cert);
    } catch (error) {
      throw new EngineUnavailable("config", `the TLS client certificate ${certFile} is not a PEM certificate (${(error as Error).message})`);
    }
    let key: ReturnType<typeof createPrivateKey>;
    try {
      key = createPrivateKey(material.key);
    } catch (error) {
      throw new EngineUnavailable("config", `the TLS client key ${keyFile} is not a PEM private key (${(error as Error).message})`);
    }
    if (!certificate.checkPrivateKey(key)) throw new EngineUnavailable("config", `the TLS client key ${keyFile} does not belong to the certificate ${certFile}`);
    if (new Date(certificate.validTo).getTime() < Date.now()) throw new EngineUnavailable("config", `the TLS client certificate ${certFile} expired on ${certificate.validTo}`);
  }
  return material;
}

async function sshKey(file: string | undefined, env: NodeJS.ProcessEnv): Promise<{ privateKey?: Buffer; agent?: string }> {
  if (file !== undefined) {
    try {
      return { privateKey: await readFile(file) };
    } catch (error) {
      throw new EngineUnavailable("config", `cannot read the SSH key ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (error as Error).message}`);
    }
  }
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
  const home = env.HOME || os.homedir();
  for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
    const candidate = path.join(home, ".ssh", name);
    const key = await readFile(candidate).catch(() => undefined);
    if (key !== undefined) return { privateKey: key };
  }
  throw new EngineUnavailable("config", `no SSH key: SSH_AUTH_SOCK is not set and ${path.join(home, ".ssh")} has no id_ed25519, id_ecdsa or id_rsa`, "Start an SSH agent with your key, or give the engine an identityFile.");
}

/** dockerode options for the engine, every one explicit. */
async function dockerOptions(engine: ResolvedEngine, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ options: Dockerode.DockerOptions; verifier?: HostVerifier }> {
  const t = engine.transport;
  const none = { ca: undefined, cert: undefined, key: undefined, socketPath: undefined, timeout: undefined } as unknown as Dockerode.DockerOptions;
  if (t.kind === "tcp") {
    if (t.tls === false) return { options: { ...none, protocol: "http", host: t.host, port: t.port } };
    const material = await loadTlsMaterial(t.tls);
    return { options: { ...none, protocol: "https", host: t.host, port: t.port, ...material } as Dockerode.DockerOptions };
  }
  const key = await sshKey(t.identityFile, env);
  const verifier = await knownHostsVerifier(t.knownHosts, t.host, t.port);
  const options = {
    ...none,
    protocol: "ssh",
    host: t.host,
    port: t.port,
    ...(t.username !== undefined && { username: t.username }),
    sshOptions: { ...key, hostVerifier: verifier, readyTimeout: timeoutMs },
  } as Dockerode.DockerOptions;
  return { options, verifier };
}

/** Explains the usual TLS handshake failures in terms of the files the user gave. */
function explainFailure(engine: ResolvedEngine, error: Error, verifier: HostVerifier | undefined): { message: string; hint?: string } {
  const message = error.message || String(error);
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (verifier?.refusal !== undefined) return { message: verifier.refusal, hint: "imagespec checks SSH host keys as ssh does (StrictHostKeyChecking); it never accepts an unknown key." };
  if (engine.transport.kind === "ssh" && /authentication methods failed/i.test(message)) {
    return { message: `it refused our SSH key (${message})`, hint: "Give the engine an identityFile whose public key is in the remote user's authorized_keys, or load it into your SSH agent." };
  }
  if (engine.transport.kind === "tcp" && engine.transport.tls !== false) {
    const tls = engine.transport.tls;
    const ca = tls.ca ?? (tls.certPath ? path.join(tls.certPath, "ca.pem") : "the system CAs");
    if (/self[- ]signed|unable to (get|verify)|certificate (verify|signature)|UNABLE_TO|SELF_SIGNED|CERT_/.test(`${code} ${message}`)) {
      return { message: `its TLS certificate is not signed by ${ca} (${message})`, hint: `Use the CA that signed the engine's certificate as ${ca}.` };
    }
    if (/altnames|ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match/.test(`${code} ${message}`)) {
      return { message: `its TLS certificate is not for ${engine.transport.host} (${message})` };
    }
    if (/bad certificate|certificate required|alert|handshake/i.test(message)) {
      return { message: `it refused our TLS client certificate (${message})`, hint: "Give a client certificate (cert.pem, key.pem) signed by the CA the engine trusts (its --tlscacert)." };
    }
  }
  if (code === "ECONNREFUSED") return { message: "it refuses connections (nothing listens on that port)" };
  return { message };
}

/**
 * Connects and checks the engine: it answers `/version` within the timeout, over an API that builds with BuildKit.
 * Rejects with EngineUnavailable saying why.
 */
export async function openEngine(engine: ResolvedEngine, options: { timeoutMs: number; env: NodeJS.ProcessEnv }): Promise<OpenEngine> {
  const { default: Docker } = await import("dockerode");
  const { options: clientOptions, verifier } = await dockerOptions(engine, options.env, options.timeoutMs);
  let docker: Dockerode;
  try {
    docker = new Docker(clientOptions);
  } catch (error) {
    // dockerode reads DOCKER_HOST and DOCKER_CERT_PATH for its defaults even when every option is given.
    throw new EngineUnavailable("config", `cannot create a Docker client (${(error as Error).message})`, "Check DOCKER_HOST and DOCKER_CERT_PATH in the environment: dockerode reads them even for remote engines.");
  }
  let version: Dockerode.DockerVersion;
  try {
    version = await withTimeout(docker.version(), options.timeoutMs, `it did not answer within ${options.timeoutMs / 1000} s`);
  } catch (error) {
    const explained = explainFailure(engine, error as Error, verifier);
    throw new EngineUnavailable("down", explained.message, explained.hint);
  }
  const api = (version.ApiVersion ?? "0.0").split(".").map(Number);
  if ((api[0] ?? 0) < MIN_API[0] || ((api[0] ?? 0) === MIN_API[0] && (api[1] ?? 0) < MIN_API[1])) {
    throw new EngineUnavailable("down", `its Engine API ${version.ApiVersion} is too old for BuildKit (needs ${MIN_API.join(".")}, Docker 18.09 or later)`);
  }
  const platform = formatPlatform({ os: String(version.Os).toLowerCase(), architecture: String(version.Arch).toLowerCase() });
  return { docker, endpoint: engine.address, description: `Docker ${version.Version}, API ${version.ApiVersion}, ${platform}`, platform };
}
