/**
 * A build on the pool: loaded only when the builder builds. Takes a slot on the least busy engine that answers,
 * builds there through @imagespec/docker-build (its BuildKit session over the same TLS or SSH connection serves the
 * context, registry credentials, secrets and SSH agents; push from the engine), and,
 * when the engine goes away mid-build, retries once on another engine.
 */

import { type BuildContext, type BuildResult, type Image, ImageSpecError } from "@imagespec/core";
import { renderDockerBuild } from "@imagespec/docker-build";
import { buildOnEngine, cancelledError, EngineLostError, isEngineLost } from "@imagespec/docker-build/engine";
import type { ResolvedRemoteConfig } from "./config.js";
import { type OpenEngine, openEngine } from "./connect.js";
import { type EnginePool, NoEngineAvailable, type Refusal } from "./pool.js";

function listRefusals(refusals: readonly Refusal[]): string {
  return refusals.map((r) => `\n  - ${r.engine.name}${r.engine.name === r.engine.address ? "" : ` (${r.engine.address})`}: ${r.reason}`).join("");
}

/** Every engine failed its check: CONFIG_ERROR when all of them are misconfigured, else ENVIRONMENT. */
function noEngineError(image: Image, refusals: readonly Refusal[], hints: readonly string[]): ImageSpecError {
  const allConfig = refusals.length > 0 && refusals.every((r) => r.kind === "config");
  return new ImageSpecError(allConfig ? "CONFIG_ERROR" : "ENVIRONMENT", `Cannot build ${image.name}: no remote engine can take the build:${listRefusals(refusals)}`, {
    value: refusals.map((r) => r.engine.address),
    hint: [...new Set(hints)].join(" ") || "Start the engines or fix their addresses (IMAGESPEC_REMOTE_ENGINES or builders.remote.engines).",
  });
}

export async function runRemoteBuild(image: Image, context: BuildContext, config: ResolvedRemoteConfig, pool: EnginePool, env: NodeJS.ProcessEnv = process.env): Promise<BuildResult> {
  const { uri, signal } = context;
  if (signal.aborted) throw cancelledError(image, uri);
  const plan = await renderDockerBuild(image, { baseUri: context.baseUri, config: config.settings });

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
  const check = async (engine: (typeof config.engines)[number]): Promise<OpenEngine> => {
    try {
      return await openEngine(engine, { timeoutMs: config.healthCheckTimeoutMs, env });
    } catch (error) {
      const hint = (error as { hint?: unknown }).hint;
      if (typeof hint === "string") hints.push(hint);
      throw error;
    }
  };

  const attempt = async (exclude: ReadonlySet<string>): Promise<BuildResult> => {
    const lease = await pool.acquire({
      exclude,
      signal,
      check,
      onSkip: (r) => warn(`Skipped remote engine ${r.engine.name}${r.engine.name === r.engine.address ? "" : ` (${r.engine.address})`}: ${r.reason}`),
    });
    note(`Building on remote engine ${lease.engine.name}${lease.engine.name === lease.engine.address ? "" : ` (${lease.engine.address})`}: ${lease.value.description}`);
    try {
      const result = await buildOnEngine(lease.value, image, context, { settings: config.settings, engine: lease.engine.name, plan, env });
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
        const others = second.refusals.length === 0 ? " and the pool has no other engine" : `, and no other engine could take the build:${listRefusals(second.refusals)}`;
        throw cancelledOr(new EngineLostError(`${error.message}${others}`, { engine: error.engine, log: error.log, cause: error }));
      }
      throw cancelledOr(second);
    }
  }
  if (!context.push) warn(`${uri} was built on ${result.engine} and not pushed (push is off): it stays on that engine`);
  return { ...result, log: [...lines, result.log ?? ""].join("\n") };
}
