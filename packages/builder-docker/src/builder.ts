/**
 * The docker builder: renders an image into a Dockerfile and builds it with BuildKit, through the Docker Engine API
 * (dockerode), with a BuildKit session of @imagespec/docker-build's for the context, credentials, secrets and SSH
 * agents; several platforms are one build each and an image index. Creating it and calling `supports()` or
 * `render()` loads none of the build machinery.
 */

import type { Image } from "@imagespec/core";
import type { BuildContext, BuildResult, Existence, ImageBuilder, NativePlatform, RenderContext, RenderedBuildFile } from "@imagespec/core/authoring";
import { dockerRefusal, renderDockerBuild } from "@imagespec/docker-build";
import { type DockerBuilderConfig, parseDockerConfig } from "./config.js";

import { DOCKER_BUILDER_TYPE } from "./type.js";

export { DOCKER_BUILDER_TYPE };

export function createDockerBuilder(options: DockerBuilderConfig = {}): ImageBuilder {
  const base = parseDockerConfig(options as Record<string, unknown>);
  const configFor = (config: Readonly<Record<string, unknown>> | undefined) => ({ ...base, ...parseDockerConfig(config) });
  return {
    type: DOCKER_BUILDER_TYPE,

    supports(image: Image): true | string {
      return dockerRefusal(image) ?? true;
    },

    async render(image: Image, context: RenderContext): Promise<RenderedBuildFile> {
      const plan = await renderDockerBuild(image, { baseUri: context.baseUri, config: configFor(context.config) });
      return { filename: "Dockerfile", content: plan.dockerfile };
    },

    async build(image: Image, context: BuildContext): Promise<BuildResult> {
      const { runBuild } = await import("./run-build.js");
      return runBuild(image, context, configFor(context.config));
    },

    async nativePlatform(context: { readonly signal: AbortSignal; readonly config: Readonly<Record<string, unknown>> }): Promise<NativePlatform> {
      const { nativePlatform } = await import("./run-build.js");
      return nativePlatform(configFor(context.config));
    },

    async exists(uri: string, context: { readonly signal: AbortSignal; readonly config: Readonly<Record<string, unknown>> }): Promise<Existence> {
      const { imageExists } = await import("./run-build.js");
      return imageExists(uri, configFor(context.config));
    },
  };
}
