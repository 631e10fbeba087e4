/**
 * An image of several platforms without buildx: one Engine API build per platform, each pushed on its own, then one
 * OCI image index that lists them by digest, pushed under the image's tag by core's registry client. The Engine API
 * pushes only tagged images, so each platform's image goes to the same repository under `<tag>-<os>-<arch>` (the
 * convention of `docker manifest`); the image's own tag only ever holds the finished index.
 */

import type { Image } from "@imagespec/core";
import {
  type BuildContext,
  type BuildEvent,
  type BuildResult,
  ImageSpecError,
  isImageSpecError,
  limiter,
  type PlatformBuild,
  parseImageReference,
  platformTagSuffix,
  RegistryClient,
} from "@imagespec/core/authoring";

/** Where one platform's image is pushed before the index: the image's tag with the platform appended. */
export function platformImageUri(uri: string, platform: string): string {
  const ref = parseImageReference(uri);
  const tag = ref?.tag;
  if (ref === undefined || tag === undefined || ref.digest !== undefined) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot build ${JSON.stringify(uri)} for several platforms: it is not a reference with a tag`, { value: uri });
  }
  const platformTag = `${tag}-${platformTagSuffix(platform)}`;
  if (platformTag.length > 128) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot build ${uri} for ${platform}: the tag ${platformTag} for that platform's image is longer than 128 characters`,
      {
        field: "tagFormat",
        value: tag,
        hint: "Use a shorter tagFormat.",
      },
    );
  }
  return `${uri.slice(0, uri.length - tag.length)}${platformTag}`;
}

/** A platform build's events, marked with the platform so that concurrent builds can be told apart. */
function platformEvent(platform: string, event: BuildEvent): BuildEvent {
  if (event.type === "log") return { type: "log", line: `[${platform}] ${event.line}` };
  if (event.type === "warning") return { type: "warning", message: `${platform}: ${event.message}` };
  return { ...event, id: `${platform} ${event.id}`, name: `[${platform}] ${event.name}` };
}

export interface PlatformIndexRun {
  /** Builds and pushes one platform; `context.uri` is where that platform's image goes. */
  readonly build: (platform: string, context: BuildContext) => Promise<BuildResult>;
  /** How many platforms build at once (the engine's limit). */
  readonly concurrency: number;
  /** Pushes the index. Default: a client with the build's credentials. */
  readonly registry?: RegistryClient;
}

/**
 * Builds every platform of the image (at most `concurrency` at once), then pushes the index. The first platform
 * that fails cancels the others and is the error. Resolves to the index's result: its digest, each platform's
 * digest and engine, and every platform's log.
 */
export async function buildPlatformIndex(image: Image, context: BuildContext, run: PlatformIndexRun): Promise<BuildResult> {
  const { uri } = context;
  if (!context.push) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot build ${image.name} for ${image.platforms.join(", ")}: an image of several platforms is an index in a registry, which a local engine cannot hold`,
      {
        field: "platform",
        value: image.platforms,
        hint: "Give the image a registry (and leave IMAGESPEC_PUSH unset), or build one platform.",
      },
    );
  }
  const targets = image.platforms.map((platform) => ({ platform, uri: platformImageUri(uri, platform) }));
  const controller = new AbortController();
  const onAbort = () => controller.abort(context.signal.reason);
  context.signal.addEventListener("abort", onAbort, { once: true });
  const slot = limiter(Math.max(1, run.concurrency));
  const failures: unknown[] = [];
  let results: BuildResult[];
  try {
    const settled = await Promise.allSettled(
      targets.map((target) =>
        slot(async () => {
          if (controller.signal.aborted)
            throw new ImageSpecError("CANCELLED", `Cannot build ${image.name} for ${target.platform}: cancelled`, { value: target.uri });
          try {
            return await run.build(target.platform, {
              ...context,
              uri: target.uri,
              signal: controller.signal,
              report: (event) => context.report(platformEvent(target.platform, event)),
            });
          } catch (error) {
            failures.push(error);
            // One platform failed: the image cannot be complete, so the others stop.
            controller.abort(error);
            throw error;
          }
        }),
      ),
    );
    if (failures.length > 0 || settled.some((s) => s.status === "rejected")) {
      if (context.signal.aborted) throw new ImageSpecError("CANCELLED", `Cannot build ${image.name}: cancelled`, { value: uri });
      // The first real failure, not the cancellations it caused.
      const first =
        failures.find((e) => !(isImageSpecError(e) && e.code === "CANCELLED")) ??
        failures[0] ??
        (settled.find((s) => s.status === "rejected") as PromiseRejectedResult).reason;
      throw first;
    }
    results = settled.map((s) => (s as PromiseFulfilledResult<BuildResult>).value);
  } finally {
    context.signal.removeEventListener("abort", onAbort);
  }

  const platforms: PlatformBuild[] = targets.map((target, i) => {
    const result = results[i]!;
    if (!result.pushed || result.digest === undefined || !result.digest.startsWith("sha256:")) {
      throw new ImageSpecError(
        "BUILD_FAILED",
        `Cannot build ${image.name} for ${target.platform}: the build pushed ${target.uri} but did not say its manifest digest`,
        { value: target.uri },
      );
    }
    return { platform: target.platform, digest: result.digest, ...(result.engine !== undefined && { engine: result.engine }) };
  });
  context.report({ type: "log", line: `Pushing the image index ${uri} (${platforms.map((p) => `${p.platform} ${p.digest.slice(0, 19)}`).join(", ")})` });
  const registry = run.registry ?? new RegistryClient({ credentials: context.credentials });
  const digest = await registry.pushImageIndex(uri, platforms, { signal: context.signal });
  const engines = [...new Set(results.map((r) => r.engine).filter((e): e is string => e !== undefined))];
  return {
    uri,
    digest,
    pushed: true,
    cached: results.every((r) => r.cached === true),
    ...(engines.length > 0 && { engine: engines.join(", ") }),
    log: results.map((r, i) => `--- ${targets[i]!.platform} (${targets[i]!.uri}) ---\n${r.log ?? ""}`).join("\n"),
    platforms,
  };
}
