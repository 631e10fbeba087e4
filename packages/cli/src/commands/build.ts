/** `imagespec build`: base images first, independent images concurrently, existing tags skipped. */

import type { BuildOutcome, Image, PlatformBuild } from "@imagespec/core";
import { EXIT, type ErrorJson, errorJson, exitCodeFor, isCoreError } from "../exit.js";
import { whileHashing } from "../hashing.js";
import { baseChain, builderOverride, concurrency, loadSettings, loadTargets, type Target } from "../load.js";
import type { Invocation } from "../main.js";
import { Progress } from "../progress.js";
import { mark } from "../timings.js";

/** One entry of `build --json`. */
export interface BuildReport {
  readonly name: string;
  /** The module or spec file the image came from (for a base built on the way: its child's file). */
  readonly file: string;
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

export async function run(inv: Invocation<"build">): Promise<number> {
  const { out, options } = inv;
  // Builders are created only for images that are built: a run where every tag exists loads none.
  const settings = await loadSettings(inv, { project: true, deferBuilders: true });
  mark("config and plugins");
  const targets = await loadTargets(inv, settings, "many");
  mark("modules");
  const names = await whileHashing(out, inv.cwd, () => nameImages(targets));
  mark("tags");
  const dryRun = options.dryRun === true;
  const parallel = concurrency(inv);

  const progress = new Progress(out, new Map([...names].map(([uri, list]) => [uri, list.map((n) => n.name).join(",")])));
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
        force: options.forcePush === true,
        ...(options.noPush === true && { push: false }),
        builder: builderOverride(inv, settings),
        fast: options.fast === true,
        dryRun,
        ...(options.noCache === true && { noCache: true }),
        ...(parallel !== undefined && { concurrency: parallel }),
        signal: controller.signal,
        onEvent: progress.onEvent,
      },
    );
  } finally {
    progress.finish();
    process.off("SIGINT", onSigint);
  }
  mark(dryRun ? "registry" : "registry and builds");

  const reports: BuildReport[] = outcomes.flatMap((outcome) =>
    (names.get(outcome.identity.uri) ?? [{ name: outcome.identity.uri, file: "" }]).map(({ name, file }) => ({
      name,
      file,
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
    const label = (o: BuildOutcome) => (names.get(o.identity.uri) ?? [{ name: o.identity.uri }]).map((n) => n.name).join(",");
    const cancelled = failed.filter((o) => isCancelled(o));
    const broken = failed.filter((o) => !isCancelled(o));
    if (broken.length > 0) out.err(`${out.style.red("error:")} ${broken.length} of ${outcomes.length} image(s) failed: ${broken.map(label).join(", ")}`);
    if (cancelled.length > 0)
      out.err(`${out.style.yellow("cancelled:")} ${cancelled.length} of ${outcomes.length} image(s) not built: ${cancelled.map(label).join(", ")}`);
    const hints = new Set<string>();
    for (const o of broken) {
      if (isCoreError(o.error) && o.error.hint) hints.add(o.error.hint);
      for (const hint of failureHints(o, progress.logTail(o.identity.uri))) hints.add(hint);
    }
    if (broken.some((o) => !(isCoreError(o.error) && o.error.code === "BUILD_FAILED" && /base image .* failed to build/.test(o.error.message)))) {
      if (!out.debug) hints.add("The full build log: run again with --debug (every log line as it comes), or --json (each failure's error, code and hint).");
    }
    for (const hint of hints) out.err(`${out.style.dim("hint:")} ${hint}`);
    if (out.debug) for (const o of failed) if (o.error instanceof Error && o.error.stack) out.err(o.error.stack);
  }
  return failureExitCode(failed);
}

function isCancelled(outcome: BuildOutcome): boolean {
  return outcome.reason === "cancelled" || (isCoreError(outcome.error) && outcome.error.code === "CANCELLED");
}

/**
 * What the failure's own words suggest, for mistakes the builder cannot know were mistakes: a package index on
 * this machine that a build container cannot reach, a Debian base that cannot be pulled from here.
 */
export function failureHints(outcome: Pick<BuildOutcome, "image" | "reason" | "error">, log: readonly string[]): string[] {
  const text = [outcome.reason ?? "", outcome.error instanceof Error ? outcome.error.message : "", ...log].join("\n");
  const hints: string[] = [];
  // pip names the index on one line ("Looking in indexes: http://127.0.0.1:...") and the refusal on another.
  const refused = /Connection refused|ECONNREFUSED|Failed to establish a new connection/i.test(text);
  if (refused && /\b(?:127\.0\.0\.1|localhost)\b/.test(text.replaceAll(outcome.image.registry ?? "\0", ""))) {
    hints.push(
      "A build step could not connect to 127.0.0.1/localhost: inside a build, that is the build container itself, not this machine. " +
        'For a package index or proxy running here, build on the host\'s network: builderConfig: { network: "host" } on the image, or builders: { docker: { network: "host" } } in imagespec.config.ts.',
    );
  }
  const debian = debianBase(outcome.image);
  if (
    debian !== undefined &&
    text.includes(debian.replace(/^docker\.io\/library\//, "")) &&
    /failed to (?:resolve|fetch|pull|do request|copy)|dial tcp|no such host|lookup |i\/o timeout|connection refused|TLS handshake|not found|unauthorized/i.test(
      text,
    )
  ) {
    hints.push(
      `The Debian Python base ${debian} could not be pulled from here. Point IMAGESPEC_DEBIAN_BASE_IMAGE (or debianBaseImage in imagespec.config.ts) ` +
        "at a mirror you can reach, e.g. registry.example.com/python:{python_version}-slim-bookworm, or start from another base with Image.fromBase.",
    );
  }
  return hints;
}

/** The Debian base reference an image (or the Image it is built on) starts from, if any. */
function debianBase(image: Image): string | undefined {
  let current = image;
  while (current.base.type === "image") current = current.base.image;
  return current.base.type === "debian" ? current.base.uri : undefined;
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
async function nameImages(targets: readonly Target[]): Promise<Map<string, { name: string; file: string }[]>> {
  const names = new Map<string, { name: string; file: string }[]>();
  const uris = await Promise.all(targets.map((t) => t.image.uri()));
  targets.forEach((t, i) => {
    const list = names.get(uris[i]!) ?? [];
    list.push({ name: t.name, file: t.file });
    names.set(uris[i]!, list);
  });
  for (const target of targets) {
    const chain = baseChain(target.image);
    for (const [depth, base] of chain.entries()) {
      const uri = await base.uri();
      if (!names.has(uri)) names.set(uri, [{ name: `${target.name}${".base".repeat(depth + 1)}`, file: target.file }]);
    }
  }
  return names;
}
