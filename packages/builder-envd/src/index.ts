/**
 * @imagespec/builder-envd: builds imagespec images with envd (https://envd.tensorchord.ai) from a rendered
 * build.envd. Registered through its plugin entry (`@imagespec/builder-envd/plugin`), never on import.
 */

export { checkEnvd, createEnvdBuilder, ENVD_BUILDER_TYPE, type EnvdBuilderOptions, envdBuildArgs } from "./builder.js";
export {
  type CompileOptions,
  type ContextInput,
  compileEnvd,
  ENVD_FILENAME,
  type EnvdRendering,
} from "./render.js";
export { envdBuilderSettings } from "./settings.js";
export { compareEnvdVersions, type EnvdVersion, isSupportedEnvdVersion, MIN_ENVD_VERSION, parseEnvdVersion } from "./version.js";
