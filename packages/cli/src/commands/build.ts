/** `imagespec build`: base images first, independent images concurrently, existing tags skipped. */

import type { BuildOutcome, PlatformBuild } from "@imagespec/core";
import { EXIT, type ErrorJson, errorJson, exitCodeFor, isCoreError } from "../exit.js";
import { baseChain, builderOverride, concurrency, loadSettings, loadTargets, type Target } from "../load.js";
import type { Invocation } from "../main.js";
import { Progress } from "../progress.js";

/** One entry of `build --json`. */
export interface BuildReport {
  readonly name: string;
  readonly uri: string;
  readonly builder: string;
  /** `planned` only with --dry-run. */
  readonly status: "built" | "skipped" | "failed" | "planned";
  readonly pushed: boolean;
  readonly digest: string | null;
  /** Several platforms: each platform's manifest digest (and the engine that built it); null for one platform. */
  readonly platforms: readonly PlatformBuild[] | null;
  readonly reason: string | null;
  /** For a failure: its code (BUILD_FAILED, ENVIRONMENT, CANCELLED, …), message and, when known, hint and value. */
  readonly error: ErrorJson | null;
}

export async function run(inv: Invocation): Promise<number> {
  const { out, options } = inv;
  const settings = await loadSettings(inv, { project: true });
  const targets = await loadTargets(inv, settings, "many");
  const names = await nameImages(targets);
  const dryRun = options["dry-run"] === true;
  const parallel = concurrency(inv);

  const progress = new Progress(out, new Map([...names].map(([uri, list]) => [uri, list.join(",")])));
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.cancelled);
    out.err("Cancelling; press Ctrl-C again to quit at once.");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  let outcomes: BuildOutcome[];
  try {
    outcomes = await settings.project!.engine.build(
      targets.map((t) => t.image),
      {
        force: options["force-push"] === true,
        ...(options["no-push"] === true && { push: false }),
        builder: builderOverride(inv, settings),
        fast: options.fast === true,
        dryRun,
        ...(parallel !== undefined && { concurrency: parallel }),
        signal: controller.signal,
        onEvent: progress.onEvent,
      },
    );
  } finally {
    progress.finish();
    process.off("SIGINT", onSigint);
  }

  const reports: BuildReport[] = outcomes.flatMap((outcome) =>
    (names.get(outcome.identity.uri) ?? [outcome.identity.uri]).map((name) => ({
      name,
      uri: outcome.uri,
      builder: outcome.builder,
      status: outcome.status,
      pushed: outcome.pushed,
      digest: outcome.digest ?? null,
      platforms: outcome.platforms ?? null,
      reason: outcome.reason ?? null,
      error: outcome.status === "failed" ? failureJson(outcome) : null,
    })),
  );
  const failed = outcomes.filter((o) => o.status === "failed");

  if (out.json) {
    out.outJson(reports);
  } else if (dryRun) {
    for (const r of reports) out.out(`${r.status === "planned" ? "build" : "skip "}  ${r.name}  ${r.uri}  ${r.builder}  ${r.reason ?? ""}`.trimEnd());
  } else {
    // stdout carries the URIs of the requested images, so `$(imagespec build images.ts app)` is the URI.
    for (const outcome of outcomes) if (outcome.requested && outcome.status !== "failed") out.out(outcome.uri);
  }
  if (failed.length === 0) return EXIT.ok;
  if (!out.json) {
    const list = failed.map((o) => (names.get(o.identity.uri) ?? [o.identity.uri]).join(","));
    out.err(`${out.style.red("error:")} ${failed.length} of ${outcomes.length} image(s) failed: ${list.join(", ")}`);
    for (const o of failed) if (isCoreError(o.error) && o.error.hint) out.err(`${out.style.dim("hint:")} ${o.error.hint}`);
    if (out.debug) for (const o of failed) if (o.error instanceof Error && o.error.stack) out.err(o.error.stack);
  }
  return failureExitCode(failed);
}

/** A failure's error for --json; a builder's own error (not an imagespec one) is a BUILD_FAILED, as its exit code 1 says. */
function failureJson(outcome: BuildOutcome): ErrorJson {
  const json = errorJson(outcome.error ?? new Error(outcome.reason ?? "failed"));
  return json.code === "INTERNAL" ? { ...json, code: "BUILD_FAILED" } : json;
}

/** 3 when a failure was the environment's (no engine, registry down), 130 when cancelled, else 1. */
function failureExitCode(failed: readonly BuildOutcome[]): number {
  const codes = failed.map((o) => (o.error === undefined ? EXIT.failed : exitCodeFor(o.error)));
  if (codes.includes(EXIT.environment)) return EXIT.environment;
  if (codes.includes(EXIT.cancelled) || failed.some((o) => o.reason === "cancelled")) return EXIT.cancelled;
  return EXIT.failed;
}

/** URI → the names it is reported under: its export names, or `<name>.base` for a base Image that is not exported. */
async function nameImages(targets: readonly Target[]): Promise<Map<string, string[]>> {
  const names = new Map<string, string[]>();
  const uris = await Promise.all(targets.map((t) => t.image.uri()));
  targets.forEach((t, i) => {
    const list = names.get(uris[i]!) ?? [];
    list.push(t.name);
    names.set(uris[i]!, list);
  });
  for (const target of targets) {
    const chain = baseChain(target.image);
    for (const [depth, base] of chain.entries()) {
      const uri = await base.uri();
      if (!names.has(uri)) names.set(uri, [`${target.name}${".base".repeat(depth + 1)}`]);
    }
  }
  return names;
}
