/**
 * Where the remote builder builds: a pool of Docker engines, from `defineConfig({ builders: { remote: { engines } } })`,
 * an image's `builderConfig`, the builder's own options, or `IMAGESPEC_REMOTE_ENGINES`. Parsing reads no file: the TLS
 * material and SSH keys are read when a build connects, so `supports()` stays cheap and never throws.
 */

import { checkBuilderSettings, grammar, ImageSpecError, type ValidationIssue, z, zodIssuesToValidation } from "@imagespec/core/authoring";
import {
  type DockerBuildSettings,
  dockerBuildSettingsShape,
  type EngineTransport,
  expandHome,
  readDockerBuildSettings,
  type TlsMaterial,
} from "@imagespec/docker-build";

/** One engine of the pool, as written in the configuration. */
export interface RemoteEngineConfig {
  /** `tcp://host:2376` (TLS), `ssh://user@host[:port]`. Query parameters may carry the settings below (`?maxBuilds=4&name=a`). */
  readonly host: string;
  /** Names the engine in results, progress and errors. Default: the address. */
  readonly name?: string;
  /** Builds this engine runs at once. Default: the builder's `maxBuilds` (2). */
  readonly maxBuilds?: number;
  /** A folder with `ca.pem`, `cert.pem` and `key.pem`, as DOCKER_CERT_PATH. Default: the builder's `certPath`, else DOCKER_CERT_PATH. */
  readonly certPath?: string;
  /** Explicit TLS files; each wins over the same file in `certPath`. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** `false`: plain TCP without TLS (anyone who reaches the port owns the engine). Default: TLS. */
  readonly tls?: boolean;
  /** SSH: the private key. Default: the SSH agent (SSH_AUTH_SOCK), else ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  readonly identityFile?: string;
  /** SSH: the known_hosts file the engine's host key must be in. Default ~/.ssh/known_hosts. */
  readonly knownHosts?: string;
  /**
   * The platforms this engine runs natively, e.g. `["linux/arm64"]` (in an address: `?platforms=linux/arm64`, repeated
   * for several). A platform goes to the engines that declare it when there are any; other engines build it only
   * under emulation, when none of those can take it.
   */
  readonly platforms?: readonly string[];
}

export interface RemoteBuilderConfig extends DockerBuildSettings {
  /** The pool: addresses or engine objects. Default: IMAGESPEC_REMOTE_ENGINES (comma-separated addresses). */
  readonly engines?: readonly (string | RemoteEngineConfig)[];
  /** The TLS folder for every tcp:// engine that names none. Default: DOCKER_CERT_PATH. */
  readonly certPath?: string;
  /** Builds each engine runs at once, unless the engine says otherwise. Default 2. */
  readonly maxBuilds?: number;
  /** How long an engine has to answer the health check before the build goes to the next. Default 10 000 ms. */
  readonly healthCheckTimeoutMs?: number;
}

declare module "@imagespec/core" {
  interface BuilderSettings {
    /** @imagespec/builder-remote: a pool of remote Docker engines. */
    remote: RemoteBuilderConfig;
  }
}

export const DEFAULT_MAX_BUILDS = 2;
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 10_000;

/** An engine with everything resolved but the files: how to reach it and how many builds it takes. */
export interface ResolvedEngine {
  readonly name: string;
  /** The address without settings, for messages. */
  readonly address: string;
  readonly maxBuilds: number;
  /** The platforms it declares it runs natively (none: not said). */
  readonly platforms: readonly string[];
  /** How @imagespec/docker-build's connection module reaches it (never a socket: a remote engine is TCP or SSH). */
  readonly transport: Exclude<EngineTransport, { kind: "socket" }>;
}

export interface ResolvedRemoteConfig {
  readonly engines: readonly ResolvedEngine[];
  readonly settings: DockerBuildSettings;
  readonly healthCheckTimeoutMs: number;
  /** Where the engines came from, for messages: `configuration` or `IMAGESPEC_REMOTE_ENGINES`. */
  readonly source: "configuration" | "IMAGESPEC_REMOTE_ENGINES" | undefined;
}

const engineSchema = z
  .object({
    host: z.string().min(1),
    name: z
      .string()
      .regex(/^[^\s,]+$/, "a name without spaces or commas")
      .optional(),
    maxBuilds: z.number().int().min(1).max(64).optional(),
    certPath: z.string().min(1).optional(),
    ca: z.string().min(1).optional(),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    tls: z.boolean().optional(),
    identityFile: z.string().min(1).optional(),
    knownHosts: z.string().min(1).optional(),
    platforms: z
      .array(z.string().refine((p) => p !== "native" && grammar.checkPlatform(p) === undefined, "a platform is os/arch[/variant], e.g. linux/arm64"))
      .optional(),
  })
  .strict();

const ownSettings = {
  certPath: z.string().min(1).optional(),
  maxBuilds: z.number().int().min(1).max(64).optional(),
  healthCheckTimeoutMs: z.number().int().min(100).max(600_000).optional(),
};

/**
 * Every setting of the remote builder, strict (core checks the config file and images' builderConfig against it
 * before anything builds). Engines are addresses or strict engine objects; what only resolving can tell (a bad
 * address, TLS material for an ssh:// engine) is checked by `resolveRemoteConfig`.
 */
export const remoteBuilderSettings = z
  .object({
    ...dockerBuildSettingsShape,
    ...ownSettings,
    engines: z.array(z.union([z.string(), engineSchema])).optional(),
  })
  .strict();

// Here each entry is checked on its own (resolveEngine), so one bad entry does not hide the others' problems.
const schema = z.object({ ...ownSettings, engines: z.array(z.unknown()).optional() });

const KEYS = Object.keys(schema.shape);
const QUERY_KEYS = new Set(["name", "maxBuilds", "certPath", "ca", "cert", "key", "tls", "identityFile", "knownHosts", "platforms"]);

const HINT =
  "Set IMAGESPEC_REMOTE_ENGINES=tcp://host:2376,ssh://user@host, or builders.remote.engines in imagespec.config.ts (see @imagespec/builder-remote's README).";

/** Reads one engine: an address string or an object whose `host` may also carry query settings. */
function resolveEngine(
  entry: string | RemoteEngineConfig,
  field: string,
  defaults: { maxBuilds: number; certPath: string | undefined },
  env: NodeJS.ProcessEnv,
  issues: ValidationIssue[],
): ResolvedEngine | undefined {
  const given: RemoteEngineConfig = typeof entry === "string" ? { host: entry } : entry;
  if (typeof given.host !== "string" || given.host.trim() === "") {
    issues.push({ field: `${field}.host`, value: given.host, message: "an engine needs a host (tcp://host:2376, ssh://user@host)" });
    return undefined;
  }
  const problem = (message: string, at = field) => {
    issues.push({ field: at, value: typeof entry === "string" ? entry : given.host, message });
    return undefined;
  };
  let url: URL;
  try {
    url = new URL(given.host.trim());
  } catch {
    return problem("is not an engine address; write tcp://host:2376 (TLS) or ssh://user@host[:port]");
  }
  if (!["tcp:", "https:", "ssh:"].includes(url.protocol)) return problem(`uses ${url.protocol}//, but remote engines are reached over tcp:// (TLS) or ssh://`);
  const query: Record<string, string> = {};
  const queryPlatforms: string[] = [];
  for (const [key, value] of url.searchParams) {
    if (!QUERY_KEYS.has(key)) return problem(`has an unknown setting ${JSON.stringify(key)} (known: ${[...QUERY_KEYS].join(", ")})`);
    if (key === "platforms") queryPlatforms.push(value);
    else query[key] = value;
  }
  const fromQuery: Partial<Record<keyof RemoteEngineConfig, unknown>> = { ...query, ...(queryPlatforms.length > 0 && { platforms: queryPlatforms }) };
  if (query.maxBuilds !== undefined) fromQuery.maxBuilds = /^\d+$/.test(query.maxBuilds) ? Number(query.maxBuilds) : query.maxBuilds;
  if (query.tls !== undefined) fromQuery.tls = query.tls === "false" ? false : query.tls === "true" ? true : query.tls;
  const merged = engineSchema.safeParse({ ...fromQuery, ...given, host: given.host });
  if (!merged.success) {
    for (const issue of zodIssuesToValidation(merged.error.issues, { ...fromQuery, ...given })) {
      issues.push({ ...issue, field: issue.field === "" ? field : `${field}${issue.field.startsWith("[") ? "" : "."}${issue.field}` });
    }
    return undefined;
  }
  const engine = merged.data;
  if (url.pathname !== "" && url.pathname !== "/") return problem("has a path; an engine address is scheme://host[:port]");
  const address = `${url.protocol}//${url.username ? `${url.username}@` : ""}${url.host}`;
  const name = engine.name ?? address;
  const maxBuilds = engine.maxBuilds ?? defaults.maxBuilds;
  const platforms = [...new Set(engine.platforms ?? [])];
  const port = url.port ? Number(url.port) : undefined;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!hostname) return problem("names no host");

  if (url.protocol === "tcp:" || url.protocol === "https:") {
    if (engine.identityFile !== undefined || engine.knownHosts !== undefined) return problem("sets identityFile or knownHosts, which are for ssh:// engines");
    if (url.username || url.password) return problem("has a user name; a tcp:// engine authenticates with its TLS client certificate");
    if (engine.tls === false) {
      if (url.protocol === "https:") return problem("is https:// but sets tls=false");
      if (engine.ca || engine.cert || engine.key || engine.certPath) return problem("sets tls=false and TLS files at once");
      return { name, address, maxBuilds, platforms, transport: { kind: "tcp", host: hostname, port: port ?? 2375, tls: false } };
    }
    const certPath = engine.certPath ?? defaults.certPath;
    if (!certPath && !engine.ca && !engine.cert && !engine.key) {
      return problem(
        "has no TLS material: give certPath (a folder with ca.pem, cert.pem, key.pem), ca/cert/key, or DOCKER_CERT_PATH; or tls=false to talk plain TCP (anyone who reaches that port controls the engine)",
      );
    }
    if ((engine.cert === undefined) !== (engine.key === undefined) && !certPath)
      return problem("gives only one of cert and key; a client certificate needs both");
    const tls: TlsMaterial = {
      ...(certPath !== undefined && { certPath: expandHome(certPath, env) }),
      ...(engine.ca !== undefined && { ca: expandHome(engine.ca, env) }),
      ...(engine.cert !== undefined && { cert: expandHome(engine.cert, env) }),
      ...(engine.key !== undefined && { key: expandHome(engine.key, env) }),
    };
    return { name, address, maxBuilds, platforms, transport: { kind: "tcp", host: hostname, port: port ?? 2376, tls } };
  }
  if (url.protocol === "ssh:") {
    if (engine.tls !== undefined || engine.certPath || engine.ca || engine.cert || engine.key)
      return problem("sets TLS options, which are for tcp:// engines (SSH encrypts the connection itself)");
    if (url.password) return problem("has a password in the address; use a key (identityFile) or the SSH agent");
    return {
      name,
      address,
      maxBuilds,
      platforms,
      transport: {
        kind: "ssh",
        host: hostname,
        port: port ?? 22,
        username: url.username ? decodeURIComponent(url.username) : undefined,
        identityFile: engine.identityFile === undefined ? undefined : expandHome(engine.identityFile, env),
        knownHosts: expandHome(engine.knownHosts ?? "~/.ssh/known_hosts", env),
      },
    };
  }
  return undefined;
}

/**
 * The builder's configuration with its engines resolved. Engines come from the configuration when it lists any,
 * else from IMAGESPEC_REMOTE_ENGINES. Throws CONFIG_ERROR naming every bad field.
 */
export function resolveRemoteConfig(config: Readonly<Record<string, unknown>> | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedRemoteConfig {
  // Unknown keys (a misspelled `engins`) first: they would otherwise just be left out.
  const unknown = Object.fromEntries(Object.entries(config ?? {}).filter(([key]) => !Object.hasOwn(remoteBuilderSettings.shape, key)));
  if (Object.keys(unknown).length > 0) throw configError(checkBuilderSettings(remoteBuilderSettings, unknown, { type: "remote", at: "builders.remote" }));
  const shared = readDockerBuildSettings(config);
  const own = Object.fromEntries(Object.entries(config ?? {}).filter(([key]) => KEYS.includes(key)));
  const parsed = schema.safeParse(own);
  const issues: ValidationIssue[] = [...shared.issues];
  if (!parsed.success) {
    issues.push(...zodIssuesToValidation(parsed.error.issues, own));
    throw configError(issues);
  }
  const data = parsed.data;
  const fromEnv = (env.IMAGESPEC_REMOTE_ENGINES ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const configured = data.engines !== undefined && data.engines.length > 0;
  const entries = configured ? data.engines! : fromEnv;
  const source = configured ? "configuration" : fromEnv.length > 0 ? "IMAGESPEC_REMOTE_ENGINES" : undefined;
  const defaults = { maxBuilds: data.maxBuilds ?? DEFAULT_MAX_BUILDS, certPath: data.certPath ?? (env.DOCKER_CERT_PATH || undefined) };
  const engines: ResolvedEngine[] = [];
  entries.forEach((entry, i) => {
    const field = configured ? `engines[${i}]` : `IMAGESPEC_REMOTE_ENGINES[${i}]`;
    if (typeof entry !== "string" && (typeof entry !== "object" || entry === null || Array.isArray(entry))) {
      issues.push({ field, value: entry, message: "must be an address (tcp://host:2376, ssh://user@host) or an object with a host" });
      return;
    }
    const engine = resolveEngine(entry as string | RemoteEngineConfig, field, defaults, env, issues);
    if (engine === undefined) return;
    const twin = engines.find((e) => e.name === engine.name);
    if (twin !== undefined) {
      issues.push({ field, value: engine.name, message: `names the same engine as another entry (${twin.name}); give each entry its own name (name=...)` });
      return;
    }
    engines.push(engine);
  });
  if (issues.length > 0) throw configError(issues);
  return { engines, settings: shared.settings, healthCheckTimeoutMs: data.healthCheckTimeoutMs ?? DEFAULT_HEALTH_CHECK_TIMEOUT_MS, source };
}

function configError(issues: readonly ValidationIssue[]): ImageSpecError {
  return new ImageSpecError(
    "CONFIG_ERROR",
    `Cannot use the remote builder's configuration: ${issues.map((i) => `${i.field} (${JSON.stringify(i.value)}): ${i.message}`).join("; ")}`,
    {
      field: issues[0]?.field,
      value: issues[0]?.value,
      issues,
      hint: `Fix builders.remote in imagespec.config.ts, the image's builderConfig, or IMAGESPEC_REMOTE_ENGINES. ${HINT}`,
    },
  );
}

/** Why the remote builder has nothing to build on. */
export const NO_ENGINE_REASON = `no remote engine is configured. ${HINT}`;
