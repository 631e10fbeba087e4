/**
 * A build on the pool: loaded only when the builder builds. Takes a slot on the least busy engine that answers,
 * builds there through @imagespec/docker-build (its BuildKit session over the same TLS or SSH connection serves the
 * context, registry credentials, secrets and SSH agents; push from the engine), and, when the engine goes away
 * mid-build, retries once on another engine. An image of several platforms is one build per platform, spread over
 * the pool (a platform goes to the engines that declare it native, when there are any), and an image index.
 */

import type { Image } from "@imagespec/core";
import { type BuildContext, type BuildResult, ImageSpecError, type NativePlatform, samePlatform } from "@imagespec/core/authoring";
import { type DockerBuildPlan, renderDockerBuild } from "@imagespec/docker-build";
import {
  buildOnEngine,
  buildPlatformIndex,
  cancelledError,
  cannotRunReason,
  EngineLostError,
  type EnginePlatforms,
  type OpenedEngine,
  openEngineConnection,
  engineBuildPlatforms,
  isEngineLost,
  unsupportedPlatformError,
} from "@imagespec/docker-build/engine";
import type { ResolvedEngine, ResolvedRemoteConfig } from "./config.js";
import { type EnginePool, NoEngineAvailable, type Refusal } from "./pool.js";

/** One engine of the pool, through @imagespec/docker-build's connection module (SSH host keys checked against known_hosts). */
function openOne(engine: ResolvedEngine, config: ResolvedRemoteConfig, env: NodeJS.ProcessEnv): Promise<OpenedEngine> {
  return openEngineConnection({ endpoint: engine.address, transport: engine.transport }, { timeoutMs: config.healthCheckTimeoutMs, env });
}

function listRefusals(refusals: readonly Refusal[]): string {
  return refusals.map((r) => `\n  - ${r.engine.name}${r.engine.name === r.engine.address ? "" : ` (${r.engine.address})`}: ${r.reason}`).join("");
}

/** Every engine failed its check: CONFIG_ERROR when all of them are misconfigured, else ENVIRONMENT. */
function noEngineError(image: Image, refusals: readonly Refusal[], hints: readonly string[]): ImageSpecError {
  const allConfig = refusals.length > 0 && refusals.every((r) => r.kind === "config");
  return new ImageSpecError(
    allConfig ? "CONFIG_ERROR" : "ENVIRONMENT",
    `Cannot build ${image.name}: no remote engine can take the build:${listRefusals(refusals)}`,
    {
      value: refusals.map((r) => r.engine.address),
      hint: [...new Set(hints)].join(" ") || "Start the engines or fix their addresses (IMAGESPEC_REMOTE_ENGINES or builders.remote.engines).",
    },
  );
}

/** How long what an engine said about its platforms is trusted. */
const FACTS_TTL_MS = 60_000;

interface EngineFacts {
  readonly at: number;
  /** The engine's platforms, or why it could not be asked. */
  readonly answer: Promise<EnginePlatforms | { error: string }>;
}

/** Per pool: what each engine said about its platforms, shared by the builds of that pool. */
const facts = new WeakMap<EnginePool, Map<string, EngineFacts>>();

function platformsOf(
  pool: EnginePool,
  engine: ResolvedEngine,
  open: (engine: ResolvedEngine) => Promise<OpenedEngine>,
): Promise<EnginePlatforms | { error: string }> {
  let known = facts.get(pool);
  if (known === undefined) {
    known = new Map();
    facts.set(pool, known);
  }
  const cached = known.get(engine.name);
  if (cached !== undefined && Date.now() - cached.at < FACTS_TTL_MS) return cached.answer;
  const answer = (async () => {
    try {
      const connection = await open(engine);
      const supported = await engineBuildPlatforms(connection).catch(() => [] as string[]);
      return { native: connection.platform, supported: [connection.platform, ...supported.filter((p) => !samePlatform(p, connection.platform))] };
    } catch (error) {
      return { error: (error as Error).message };
    }
  })();
  known.set(engine.name, { at: Date.now(), answer });
  return answer;
}

function engineLabel(engine: ResolvedEngine): string {
  return `${engine.name}${engine.name === engine.address ? "" : ` (${engine.address})`}`;
}

/**
 * Before anything builds: every platform must have an engine that declares it, or one that can run it (natively or
 * emulated). A platform that no engine that answers can run is an ENVIRONMENT error naming what each engine builds.
 */
async function checkPoolPlatforms(
  image: Image,
  config: ResolvedRemoteConfig,
  pool: EnginePool,
  open: (engine: ResolvedEngine) => Promise<OpenedEngine>,
): Promise<void> {
  for (const platform of image.platforms) {
    if (config.engines.some((e) => e.platforms.some((p) => samePlatform(p, platform)))) continue;
    const answers: { engine: ResolvedEngine; platforms: EnginePlatforms }[] = [];
    let supported = false;
    for (const engine of config.engines) {
      const answer = await platformsOf(pool, engine, open);
      if ("error" in answer) continue;
      if (answer.supported.some((p) => samePlatform(p, platform))) {
        supported = true;
        break;
      }
      answers.push({ engine, platforms: answer });
    }
    // No engine answered at all: the build's own attempt says why, engine by engine.
    if (supported || answers.length === 0) continue;
    throw unsupportedPlatformError(
      image,
      [platform],
      answers.length === 1
        ? cannotRunReason(engineLabel(answers[0]!.engine), [platform], answers[0]!.platforms)
        : `no engine of the remote pool can run that platform (${answers.map((a) => `${engineLabel(a.engine)} builds for ${a.platforms.supported.join(", ")}`).join("; ")})`,
    );
  }
}

export async function runRemoteBuild(
  image: Image,
  context: BuildContext,
  config: ResolvedRemoteConfig,
  pool: EnginePool,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BuildResult> {
  const { uri, signal } = context;
  if (signal.aborted) throw cancelledError(image, uri);
  const plan = await renderDockerBuild(image, { baseUri: context.baseUri, config: config.settings });
  const open = (engine: ResolvedEngine) => openOne(engine, config, env);
  await checkPoolPlatforms(image, config, pool, open);
  if (image.platforms.length > 1) {
    // The pool's slots are the limit: every platform asks for one at once, so they spread over the engines.
    return buildPlatformIndex(image, context, {
      concurrency: image.platforms.length,
      build: (platform, platformContext) => buildOnPool(image, platformContext, config, pool, env, plan, platform),
    });
  }
  return buildOnPool(image, context, config, pool, env, plan, image.platforms[0]);
}

/** One platform on one engine of the pool: an engine that declares the platform if any can take it, else any that can run it. */
async function buildOnPool(
  image: Image,
  context: BuildContext,
  config: ResolvedRemoteConfig,
  pool: EnginePool,
  env: NodeJS.ProcessEnv,
  plan: DockerBuildPlan,
  platform: string | undefined,
): Promise<BuildResult> {
  const { uri, signal } = context;
  const lines: string[] = [];
  const note = (line: string) => {
    lines.push(line);
    context.report({ type: "log", line });
  };
  const warn = (message: string) => {
    lines.push(`WARNING: ${message}`);
    context.report({ type: "warning", message });
  };
  const hints: string[] = [];
  const declares = (engine: ResolvedEngine) => platform !== undefined && engine.platforms.some((p) => samePlatform(p, platform));
  const check = async (engine: ResolvedEngine): Promise<OpenedEngine> => {
    let connection: OpenedEngine;
    try {
      connection = await openOne(engine, config, env);
    } catch (error) {
      const hint = (error as { hint?: unknown }).hint;
      if (typeof hint === "string") hints.push(hint);
      throw error;
    }
    if (platform !== undefined && !declares(engine) && !samePlatform(connection.platform, platform)) {
      const answer = await platformsOf(pool, engine, async () => connection);
      if (!("error" in answer) && !answer.supported.some((p) => samePlatform(p, platform))) {
        throw Object.assign(new Error(`it cannot run ${platform} (it builds for ${answer.supported.join(", ")})`), { kind: "unsuitable" });
      }
    }
    return connection;
  };
  // Engines that declare the platform first and alone; the others (emulating it) only when none of those can build.
  const preferred = new Set(config.engines.filter(declares).map((e) => e.name));
  const others = new Set(config.engines.filter((e) => !preferred.has(e.name)).map((e) => e.name));

  const acquire = async (exclude: ReadonlySet<string>) => {
    const skip = (r: Refusal) =>
      warn(`Skipped remote engine ${engineLabel(r.engine)}${platform !== undefined && image.platforms.length > 1 ? ` for ${platform}` : ""}: ${r.reason}`);
    if (preferred.size > 0 && [...preferred].some((name) => !exclude.has(name))) {
      try {
        return await pool.acquire({ exclude: new Set([...exclude, ...others]), signal, check, onSkip: skip });
      } catch (error) {
        if (!(error instanceof NoEngineAvailable) || others.size === 0) throw error;
        warn(`No engine that runs ${platform} natively can take the build (${error.message}); building it under emulation on another engine`);
      }
    }
    return pool.acquire({ exclude: new Set([...exclude, ...preferred]), signal, check, onSkip: skip });
  };

  const attempt = async (exclude: ReadonlySet<string>): Promise<BuildResult> => {
    const lease = await acquire(exclude);
    note(
      `Building${platform !== undefined && image.platforms.length > 1 ? ` ${platform}` : ""} on remote engine ${engineLabel(lease.engine)}: ${lease.value.description}`,
    );
    try {
      const result = await buildOnEngine(lease.value, image, context, {
        settings: config.settings,
        engine: lease.engine.name,
        plan,
        env,
        ...(platform !== undefined && { platform }),
      });
      lease.release();
      return result;
    } catch (error) {
      lease.release(isEngineLost(error) ? { reason: `it went away during a build (${(error as Error).message})`, kind: "down" } : undefined);
      throw error;
    }
  };
  const cancelledOr = (error: unknown) => (signal.aborted ? cancelledError(image, uri) : error);

  let result: BuildResult;
  try {
    result = await attempt(new Set());
  } catch (error) {
    if (error instanceof NoEngineAvailable) throw cancelledOr(noEngineError(image, error.refusals, hints));
    if (!isEngineLost(error) || signal.aborted) throw cancelledOr(error);
    warn(`${error.message}; building it again on another engine (once)`);
    try {
      result = await attempt(new Set([error.engine]));
    } catch (second) {
      if (second instanceof NoEngineAvailable) {
        const others =
          second.refusals.length === 0 ? " and the pool has no other engine" : `, and no other engine could take the build:${listRefusals(second.refusals)}`;
        throw cancelledOr(new EngineLostError(`${error.message}${others}`, { engine: error.engine, log: error.log, cause: error }));
      }
      throw cancelledOr(second);
    }
  }
  if (!context.push) warn(`${uri} was built on ${result.engine} and not pushed (push is off): it stays on that engine`);
  return { ...result, log: [...lines, result.log ?? ""].join("\n") };
}

/**
 * The pool's platform, for images whose platform is `native`: the one its engines declare, or else the one they run,
 * when they all agree. A pool of several platforms has no single native one.
 */
export async function poolNativePlatform(config: ResolvedRemoteConfig, pool: EnginePool, env: NodeJS.ProcessEnv = process.env): Promise<NativePlatform> {
  const open = (engine: ResolvedEngine) => openOne(engine, config, env);
  const seen = new Map<string, string[]>();
  const problems: string[] = [];
  for (const engine of config.engines) {
    let platform = engine.platforms[0];
    if (platform === undefined) {
      const answer = await platformsOf(pool, engine, open);
      if ("error" in answer) {
        problems.push(`${engineLabel(engine)}: ${answer.error}`);
        continue;
      }
      platform = answer.native;
    }
    seen.set(platform, [...(seen.get(platform) ?? []), engine.name]);
  }
  if (seen.size === 1) {
    const [[platform, engines]] = [...seen] as [[string, string[]]];
    return { platform, source: `remote ${engines.join(", ")}` };
  }
  if (seen.size === 0) {
    throw new ImageSpecError("ENVIRONMENT", `Cannot resolve the platform "native": no remote engine answered:\n  - ${problems.join("\n  - ")}`, {
      hint: "Start the engines, or name the platform (e.g. linux/arm64).",
    });
  }
  throw new ImageSpecError(
    "CONFIG_ERROR",
    `Cannot resolve the platform "native": the remote pool runs several (${[...seen].map(([p, names]) => `${p} on ${names.join(", ")}`).join("; ")})`,
    {
      field: "platform",
      value: "native",
      hint: 'Name the platform(s) to build, e.g. platform: ["linux/amd64", "linux/arm64"].',
    },
  );
}
