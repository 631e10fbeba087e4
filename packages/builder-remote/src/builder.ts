/**
 * The remote builder: renders an image into a Dockerfile (the same renderer as the docker builder) and builds it on
 * a pool of remote Docker engines, pushing from the engine that built it. Creating it and calling `supports()` or
 * `render()` loads none of the build machinery and opens no connection.
 */

import type { Image } from "@imagespec/core";
import {
  type BuildContext,
  type BuildResult,
  type ImageBuilder,
  ImageSpecError,
  type NativePlatform,
  type RenderContext,
  type RenderedBuildFile,
} from "@imagespec/core/authoring";
import { dockerRefusal, renderDockerBuild } from "@imagespec/docker-build";
import { NO_ENGINE_REASON, type RemoteBuilderConfig, type ResolvedRemoteConfig, resolveRemoteConfig } from "./config.js";
import type { EnginePool } from "./pool.js";

import { REMOTE_BUILDER_TYPE } from "./type.js";

export { REMOTE_BUILDER_TYPE };

export interface RemoteBuilderOptions {
  /**
   * Where IMAGESPEC_REMOTE_ENGINES, DOCKER_CERT_PATH, SSH_AUTH_SOCK, HOME, SOURCE_DATE_EPOCH and the variables of
   * environment-variable secrets come from. Default `process.env`, read when used.
   */
  readonly env?: NodeJS.ProcessEnv;
}

/** Why the remote builder cannot build the image (beyond what the renderer refuses), or undefined. */
function remoteRefusal(image: Image): string | undefined {
  const reasons: string[] = [];
  if (image.registry === undefined) {
    reasons.push(
      "the image has no registry: a remote engine pushes what it builds to the registry and keeps nothing on this machine, so an image without one would be left on the engine, out of reach (give it a registry, or build it with the docker builder)",
    );
  }
  if (image.base.type === "image" && image.base.image.registry === undefined) {
    reasons.push(`its base image ${image.base.image.name} has no registry, so the remote engine could not pull it`);
  }
  const render = dockerRefusal(image);
  if (render !== undefined) reasons.push(render);
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

export function createRemoteBuilder(config: RemoteBuilderConfig = {}, options: RemoteBuilderOptions = {}): ImageBuilder {
  const env = () => options.env ?? process.env;
  // Fails now on a bad configuration (the plugin loader reports it); engines may still come from the environment.
  resolveRemoteConfig(config as Record<string, unknown>, env());
  const resolve = (extra: Readonly<Record<string, unknown>> | undefined): ResolvedRemoteConfig => resolveRemoteConfig({ ...config, ...extra }, env());
  // One pool per set of engines, so builds of every image share the engines' limits.
  const pools = new Map<string, EnginePool>();
  const poolFor = async (resolved: ResolvedRemoteConfig): Promise<EnginePool> => {
    const key = JSON.stringify(resolved.engines);
    let pool = pools.get(key);
    if (pool === undefined) {
      const { EnginePool } = await import("./pool.js");
      pool = pools.get(key) ?? new EnginePool(resolved.engines);
      pools.set(key, pool);
    }
    return pool;
  };

  return {
    type: REMOTE_BUILDER_TYPE,

    supports(image: Image): true | string {
      let resolved: ResolvedRemoteConfig;
      try {
        resolved = resolve(image.builderConfig);
      } catch (error) {
        return (error as Error).message.replace(/^Cannot use the remote builder's configuration: /, "its configuration is invalid: ");
      }
      if (resolved.engines.length === 0) return NO_ENGINE_REASON;
      return remoteRefusal(image) ?? true;
    },

    async render(image: Image, context: RenderContext): Promise<RenderedBuildFile> {
      const refusal = remoteRefusal(image);
      if (refusal !== undefined)
        throw new ImageSpecError("NO_BUILDER", `Cannot render ${image.name} for the remote builder: ${refusal}`, {
          hint: "Choose a builder that supports it, or change the image.",
        });
      const plan = await renderDockerBuild(image, { baseUri: context.baseUri, config: resolve(context.config).settings });
      return { filename: "Dockerfile", content: plan.dockerfile };
    },

    async nativePlatform(context: { readonly signal: AbortSignal; readonly config: Readonly<Record<string, unknown>> }): Promise<NativePlatform> {
      const resolved = resolve(context.config);
      if (resolved.engines.length === 0)
        throw new ImageSpecError("NO_BUILDER", `Cannot resolve the platform "native" with the remote builder: ${NO_ENGINE_REASON}`);
      const { poolNativePlatform } = await import("./run-build.js");
      return poolNativePlatform(resolved, await poolFor(resolved), env());
    },

    async build(image: Image, context: BuildContext): Promise<BuildResult> {
      const resolved = resolve(context.config);
      if (resolved.engines.length === 0) throw new ImageSpecError("NO_BUILDER", `Cannot build ${image.name} with the remote builder: ${NO_ENGINE_REASON}`);
      const refusal = remoteRefusal(image);
      if (refusal !== undefined)
        throw new ImageSpecError("NO_BUILDER", `Cannot build ${image.name} with the remote builder: ${refusal}`, {
          hint: "Choose a builder that supports it, or change the image.",
        });
      const { runRemoteBuild } = await import("./run-build.js");
      return runRemoteBuild(image, context, resolved, await poolFor(resolved), env());
    },
  };
}
