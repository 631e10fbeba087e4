/**
 * Registry credentials from the Docker config file, the way the Docker CLI finds them:
 * `credHelpers[host]`, then `credsStore`, then the `auths` section.
 *
 * Secrets never appear in an error message or a log: errors name the registry and the config file only.
 */

import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ImageSpecError } from "../errors.js";
import { DOCKER_HUB } from "../reference.js";

/** What a registry login gives: a user name and password, or an OAuth2 identity (refresh) token. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken` in the Docker config); exchanged for an access token. */
  identityToken?: string;
}

/**
 * Finds credentials for a registry domain (`ghcr.io`, `127.0.0.1:5000`, `docker.io`); undefined when there are none.
 * Throws an AUTH_ERROR when the credential source itself is broken (malformed file, failing helper).
 */
export type CredentialResolver = (registryDomain: string) => Promise<RegistryCredentials | undefined>;

export interface DockerConfigResolverOptions {
  /** The Docker config file (or a folder holding `config.json`); the spec field `registryConfig`. */
  configPath?: string;
  /** Environment for `DOCKER_CONFIG`, `HOME` and the `PATH` credential helpers are found on. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Upper bound for one credential helper run. Default 30 s (a helper may wait for a keychain unlock). */
  helperTimeoutMs?: number;
}

/** The auth config the Docker Engine API takes for push and pull (`X-Registry-Auth`, dockerode's `authconfig`). */
export interface DockerEngineAuthConfig {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

/** The key Docker uses for Docker Hub in config files and credential stores. */
const DOCKER_HUB_SERVER = "https://index.docker.io/v1/";
const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
/** Marker the credential helper protocol uses for an identity token in place of a user name. */
const IDENTITY_TOKEN_USERNAME = "<token>";

interface DockerAuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

interface DockerConfigFile {
  auths: Record<string, DockerAuthEntry>;
  credHelpers: Record<string, string>;
  credsStore?: string;
}

/** Where the Docker CLI reads its config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const configDir = env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
  return join(configDir, "config.json");
}

/**
 * A resolver backed by a Docker config file. The file is read once per resolver and credentials are
 * cached per registry, so a build run asks a credential helper at most once per registry.
 * A missing default config file means "no credentials"; a missing explicit `configPath` is an error.
 */
export function createDockerConfigResolver(options: DockerConfigResolverOptions = {}): CredentialResolver {
  const env = options.env ?? process.env;
  const helperTimeoutMs = options.helperTimeoutMs ?? 30_000;
  let configPromise: Promise<{ path: string; config: DockerConfigFile | undefined }> | undefined;
  const resolved = new Map<string, Promise<RegistryCredentials | undefined>>();

  const loadConfig = () => {
    if (!configPromise) {
      configPromise = readDockerConfig(options.configPath, env);
      // Let a fixed file be picked up by the next lookup.
      configPromise.catch(() => {
        configPromise = undefined;
      });
    }
    return configPromise;
  };

  return async (registryDomain: string) => {
    const domain = normalizeRegistryKey(registryDomain);
    let pending = resolved.get(domain);
    if (!pending) {
      pending = loadConfig().then(({ path, config }) => (config ? lookUpCredentials(domain, config, path, env, helperTimeoutMs) : undefined));
      resolved.set(domain, pending);
      // A failure may be transient (a locked keychain): do not keep it.
      pending.catch(() => resolved.delete(domain));
    }
    return pending;
  };
}

/** Engine API auth config for a registry, with Docker Hub's server address written the way the daemon expects. */
export function toDockerEngineAuth(registryDomain: string, credentials: RegistryCredentials): DockerEngineAuthConfig {
  const domain = normalizeRegistryKey(registryDomain);
  const serveraddress = domain === DOCKER_HUB ? DOCKER_HUB_SERVER : domain;
  if (credentials.identityToken !== undefined) {
    return {
      serveraddress,
      identitytoken: credentials.identityToken,
      ...(credentials.username !== undefined && { username: credentials.username }),
    };
  }
  return { serveraddress, username: credentials.username ?? "", password: credentials.password ?? "" };
}

/** `https://index.docker.io/v1/` → `docker.io`, `https://host:5000/` → `host:5000`; Hub aliases become `docker.io`. */
function normalizeRegistryKey(key: string): string {
  const host = key
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

async function readDockerConfig(explicitPath: string | undefined, env: NodeJS.ProcessEnv): Promise<{ path: string; config: DockerConfigFile | undefined }> {
  let path = explicitPath ?? defaultDockerConfigPath(env);
  if (explicitPath !== undefined) {
    // `registryConfig` may name the folder, like DOCKER_CONFIG does.
    const info = await stat(explicitPath).catch(() => undefined);
    if (info?.isDirectory()) path = join(explicitPath, "config.json");
  }
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && explicitPath === undefined) return { path, config: undefined };
    throw new ImageSpecError(
      "AUTH_ERROR",
      `Cannot read registry credentials from ${path}: ${code === "ENOENT" ? "the file does not exist" : (error as Error).message}`,
      {
        value: path,
        hint: "Point registryConfig at an existing Docker config file, or run `docker login <registry>` to create one.",
        cause: error,
      },
    );
  }
  return { path, config: parseDockerConfig(text, path) };
}

function parseDockerConfig(text: string, path: string): DockerConfigFile {
  const malformed = (why: string, cause?: unknown) =>
    new ImageSpecError("AUTH_ERROR", `Cannot read registry credentials from ${path}: ${why}`, {
      value: path,
      hint: "Fix the file (it is JSON with `auths`, `credHelpers` and `credsStore`), or log in again with `docker login <registry>`.",
      ...(cause !== undefined && { cause }),
    });
  let data: unknown;
  try {
    // An empty file is what some tools leave behind; Docker treats it as an empty config.
    data = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    // The JSON parser's message can quote file content, which may be a secret: keep only the position.
    const position = /position \d+|line \d+ column \d+/.exec((error as Error).message)?.[0];
    throw malformed(`it is not valid JSON${position ? ` (at ${position})` : ""}`);
  }
  if (!isRecord(data)) throw malformed("it is not a JSON object");
  const { auths = {}, credHelpers = {}, credsStore } = data;
  if (!isRecord(auths) || !Object.values(auths).every(isRecord)) {
    throw malformed("`auths` must be an object of registry → { auth | username, password | identitytoken }");
  }
  if (!isRecord(credHelpers) || !Object.values(credHelpers).every((name) => typeof name === "string")) {
    throw malformed("`credHelpers` must be an object of registry → helper name");
  }
  if (credsStore !== undefined && typeof credsStore !== "string") throw malformed("`credsStore` must be a string");
  return {
    auths: auths as Record<string, DockerAuthEntry>,
    credHelpers: credHelpers as Record<string, string>,
    ...(credsStore !== undefined && credsStore !== "" && { credsStore }),
  };
}

async function lookUpCredentials(
  domain: string,
  config: DockerConfigFile,
  configPath: string,
  env: NodeJS.ProcessEnv,
  helperTimeoutMs: number,
): Promise<RegistryCredentials | undefined> {
  const helper = findByRegistryKey(config.credHelpers, domain) ?? config.credsStore;
  if (helper !== undefined && helper !== "") {
    const fromHelper = await runCredentialHelper(helper, domain, configPath, env, helperTimeoutMs);
    if (fromHelper) return fromHelper;
    // Docker stops here; falling back to a filled-in `auths` entry costs nothing and helps half-migrated configs.
  }
  const entry = findByRegistryKey(config.auths, domain);
  return entry === undefined ? undefined : credentialsFromAuthEntry(entry, domain, configPath);
}

/** An exact key first, then any key that normalises to the same host (`https://host/`, `http://host/v2/`, ...). */
function findByRegistryKey<T>(record: Record<string, T>, domain: string): T | undefined {
  const exact = domain === DOCKER_HUB ? (record[DOCKER_HUB_SERVER] ?? record[domain]) : record[domain];
  if (exact !== undefined) return exact;
  for (const [key, value] of Object.entries(record)) {
    if (normalizeRegistryKey(key) === domain) return value;
  }
  return undefined;
}

function credentialsFromAuthEntry(entry: DockerAuthEntry, domain: string, configPath: string): RegistryCredentials | undefined {
  const invalid = (why: string) =>
    new ImageSpecError("AUTH_ERROR", `Cannot read the credentials for ${domain} from ${configPath}: ${why}`, {
      value: configPath,
      hint: `Log in again with \`docker login ${domain}\`, or fix the entry for ${domain} under \`auths\`.`,
    });
  const credentials: RegistryCredentials = {};
  if (entry.auth !== undefined && entry.auth !== "") {
    if (typeof entry.auth !== "string") throw invalid("`auth` must be a base64 string");
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) throw invalid("`auth` must be the base64 of `username:password`");
    credentials.username = decoded.slice(0, colon);
    credentials.password = decoded.slice(colon + 1);
  } else if (entry.username !== undefined || entry.password !== undefined) {
    if (typeof entry.username !== "string" || typeof entry.password !== "string") {
      throw invalid("`username` and `password` must both be strings");
    }
    credentials.username = entry.username;
    credentials.password = entry.password;
  }
  if (entry.identitytoken !== undefined && entry.identitytoken !== "") {
    if (typeof entry.identitytoken !== "string") throw invalid("`identitytoken` must be a string");
    credentials.identityToken = entry.identitytoken;
  }
  // `{}` entries are what `docker login` leaves when a credsStore holds the secret.
  return Object.keys(credentials).length === 0 ? undefined : credentials;
}

/** Runs `docker-credential-<helper> get` with the server URL on stdin (the credential helper protocol). */
async function runCredentialHelper(
  helper: string,
  domain: string,
  configPath: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<RegistryCredentials | undefined> {
  const executable = `docker-credential-${helper}`;
  const serverUrl = domain === DOCKER_HUB ? DOCKER_HUB_SERVER : domain;
  const failed = (why: string, cause?: unknown) =>
    new ImageSpecError(
      "AUTH_ERROR",
      `Cannot get the credentials for ${domain} from the credential helper ${executable} (configured in ${configPath}): ${why}`,
      {
        value: executable,
        hint: `Install ${executable} on PATH or remove it from ${configPath}, then run \`docker login ${domain}\`.`,
        ...(cause !== undefined && { cause }),
      },
    );
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) throw failed("the helper name is not a plain program name");

  // Imported here: only credential helpers need a child process, and the CLI should not pay for it at start.
  const { execa } = await import("execa");
  const result = await execa(executable, ["get"], {
    input: serverUrl,
    env,
    extendEnv: false,
    timeout: timeoutMs,
    reject: false,
    stripFinalNewline: true,
  });
  if (result.failed) {
    const errno = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    if (errno === "ENOENT") throw failed("the program is not on PATH");
    if (result.timedOut) throw failed(`it did not answer within ${Math.round(timeoutMs / 1000)} s`);
    // Helpers print their error on stdout (the protocol) or stderr; neither carries the secret on failure.
    const message = firstLine(result.stdout) || firstLine(result.stderr) || `exit code ${result.exitCode ?? "unknown"}`;
    if (/credentials not found/i.test(message)) return undefined;
    throw failed(message.slice(0, 200));
  }
  let answer: unknown;
  try {
    answer = JSON.parse(result.stdout);
  } catch {
    throw failed("its answer is not JSON");
  }
  if (!isRecord(answer) || typeof answer.Secret !== "string") throw failed("its answer has no `Secret`");
  const username = typeof answer.Username === "string" ? answer.Username : "";
  if (answer.Secret === "") return undefined;
  return username === IDENTITY_TOKEN_USERNAME ? { identityToken: answer.Secret } : { username, password: answer.Secret };
}

function firstLine(text: unknown): string {
  return typeof text === "string" ? (text.trim().split("\n")[0] ?? "").trim() : "";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
