/**
 * @imagespec/builder-docker: imagespec's default builder. Renders an image definition into a Dockerfile and builds
 * it with Docker BuildKit; layer packages render their own kinds through `renderers.docker` (a DockerLayerRenderer
 * from @imagespec/core).
 */

export { createDockerBuilder, DOCKER_BUILDER_TYPE } from "./builder.js";
export { DEFAULT_CUDA_IMAGE, DEFAULT_MICROMAMBA_IMAGE, type DockerBuilderConfig, parseDockerConfig } from "./config.js";
export type { ContextItem, DockerBuildPlan, StepOrigin } from "./plan.js";
export { CONDA_PREFIX, PIP_CACHE_DIR, VENV_PREFIX } from "./render-context.js";
export { cudaImage, dockerRefusal, type RenderDockerOptions, renderDockerBuild } from "./render.js";
export type { DockerBuildError } from "./run-build.js";
