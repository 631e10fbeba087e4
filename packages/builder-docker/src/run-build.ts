/**
 * Building, pushing and checking images: loaded only when the builder builds (the builder's `supports()` and
 * `render()` never load dockerode, gRPC or tar-stream). Every build goes through the Engine API with a BuildKit
 * session of our own (@imagespec/docker-build's buildOnEngine): the context, registry credentials, secrets and SSH
 * agents. Several platforms are one build per platform, then an image index (buildPlatformIndex).
 */

import type { Image } from "@imagespec/core";
import {
  type BuildContext,
  type BuildResult,
  type Existence,
  limiter,
  type NativePlatform,
  parseImageReference,
  samePlatform,
} from "@imagespec/core/authoring";
import { type DockerBuildPlan, renderDockerBuild } from "@imagespec/docker-build";
import {
  buildOnEngine,
  buildPlatformIndex,
  cancelledError,
  cannotRunReason,
  DockerBuildError,
  engineImageId,
  engineNativePlatform,
  enginePlatforms,
  unsupportedPlatformError,
  type OpenedEngine,
  unsupportedPlatforms,
} from "@imagespec/docker-build/engine";
import { DEFAULT_MAX_BUILDS, type DockerBuilderConfig } from "./config.js";
import { connectEngine } from "./local-engine.js";

export { DockerBuildError };

/** The engine's build slots, per endpoint: platform builds and images share them. */
const slots = new Map<string, <T>(task: () => Promise<T>) => Promise<T>>();

function engineSlots(endpoint: string, maxBuilds: number): <T>(task: () => Promise<T>) => Promise<T> {
  const key = `${endpoint} ${maxBuilds}`;
  let slot = slots.get(key);
  if (slot === undefined) {
    slot = limiter(maxBuilds);
    slots.set(key, slot);
  }
  return slot;
}

export async function runBuild(image: Image, context: BuildContext, config: DockerBuilderConfig, env: NodeJS.ProcessEnv = process.env): Promise<BuildResult> {
  const { uri, signal } = context;
  if (signal.aborted) throw cancelledError(image, uri);

  const plan: DockerBuildPlan = await renderDockerBuild(image, { baseUri: context.baseUri, config });
  const connection = await connectEngine(config, `build ${image.name}`, env);
  const engine = `docker ${connection.endpoint}`;
  await checkPlatforms(image, connection, engine, (message) => context.report({ type: "warning", message }));
  const slot = engineSlots(connection.endpoint, config.maxBuilds ?? DEFAULT_MAX_BUILDS);
  const buildOne = (platform: string | undefined, platformContext: BuildContext): Promise<BuildResult> =>
    slot(() => buildOnEngine(connection, image, platformContext, { settings: config, engine, plan, env, ...(platform !== undefined && { platform }) }));
  if (image.platforms.length > 1) {
    return buildPlatformIndex(image, context, { build: buildOne, concurrency: config.maxBuilds ?? DEFAULT_MAX_BUILDS });
  }
  return buildOne(image.platforms[0], context);
}

/**
 * Fails before anything is built when the engine cannot run one of the image's platforms (no emulator for it on its
 * host). When the engine cannot be asked which platforms it emulates, the build goes ahead with a warning.
 */
async function checkPlatforms(image: Image, connection: OpenedEngine, engine: string, warn: (message: string) => void): Promise<void> {
  // An engine always builds for its own platform (its `/version`, asked when it was connected): BuildKit need not be asked.
  if (image.platforms.every((platform) => samePlatform(platform, connection.platform))) return;
  const platforms = await enginePlatforms(connection);
  const missing = unsupportedPlatforms(image.platforms, platforms);
  if (missing.length === 0) return;
  if (platforms.workersError !== undefined) {
    warn(`Cannot ask ${engine} which platforms it emulates (${platforms.workersError}); building ${missing.join(", ")} anyway`);
    return;
  }
  throw unsupportedPlatformError(image, missing, cannotRunReason(engine, missing, platforms));
}

/** The local engine's platform, for images whose platform is `native`. */
export async function nativePlatform(config: DockerBuilderConfig, env: NodeJS.ProcessEnv = process.env): Promise<NativePlatform> {
  const connection = await connectEngine(config, "find the Docker engine's platform", env);
  return { platform: await engineNativePlatform(connection), source: `docker ${connection.endpoint}` };
}

export async function imageExists(uri: string, config: DockerBuilderConfig, env: NodeJS.ProcessEnv = process.env): Promise<Existence> {
  if (parseImageReference(uri) === undefined) return { status: "unknown", reason: `${uri} is not an image reference` };
  const connection = await connectEngine(config, "check whether an image exists in the Docker engine", env);
  const id = await engineImageId(connection, uri);
  return id === undefined ? { status: "absent" } : { status: "present", digest: id };
}
