/**
 * @imagespec/builder-docker: imagespec's default builder. Renders an image definition into a Dockerfile and builds
 * it with Docker BuildKit on the local engine; layer packages render their own kinds through `renderers.docker` (a
 * DockerLayerRenderer from @imagespec/core). The renderer and the Engine API build live in @imagespec/docker-build,
 * shared with the remote builder, and are re-exported here as before.
 */

export {
  CONDA_PREFIX,
  type ContextItem,
  cudaImage,
  type DockerBuildPlan,
  dockerRefusal,
  PIP_CACHE_DIR,
  type RenderDockerOptions,
  renderDockerBuild,
  type StepOrigin,
  VENV_PREFIX,
} from "@imagespec/docker-build";
export type { DockerBuildError } from "@imagespec/docker-build/engine";
export { createDockerBuilder, DOCKER_BUILDER_TYPE } from "./builder.js";
export { DEFAULT_CUDA_IMAGE, DEFAULT_MICROMAMBA_IMAGE, type DockerBuilderConfig, dockerBuilderSettings, parseDockerConfig } from "./config.js";
