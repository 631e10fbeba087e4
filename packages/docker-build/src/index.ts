/**
 * @imagespec/docker-build: an imagespec Image as a BuildKit build. This entry renders: the image into a Dockerfile
 * and a build plan (what the build context holds, the secrets and build arguments it needs, where each step came
 * from), and says what cannot be rendered; and reads engine addresses (`parseEngineHost`, no file read, no client). `@imagespec/docker-build/engine` runs a plan on a Docker Engine API
 * connection; it is a separate entry so that rendering loads neither dockerode nor tar-stream nor execa.
 *
 * The docker and remote builders share this package; it is not a builder and registers nothing.
 */

export {
  type EngineAddress,
  type EngineHostOptions,
  type EngineTransport,
  expandHome,
  localEngineAddress,
  parseEngineHost,
  type TlsMaterial,
} from "./connection/address.js";
export type { ContextItem, DockerBuildPlan, StepOrigin } from "./plan.js";
export { CONDA_PREFIX, PIP_CACHE_DIR, VENV_PREFIX } from "./render-context.js";
export {
  cudaImage,
  DEFAULT_CUDA_IMAGE,
  DEFAULT_MICROMAMBA_IMAGE,
  DOCKER_BUILD_OPTION_KEYS,
  type DockerBuildOptions,
  readDockerBuildOptions,
} from "./options.js";
export { dockerRefusal, type RenderDockerOptions, renderDockerBuild } from "./render.js";
export { DOCKER_BUILD_SETTING_KEYS, type DockerBuildSettings, dockerBuildSettingsShape, readDockerBuildSettings } from "./settings.js";
