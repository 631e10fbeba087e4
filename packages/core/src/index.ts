/**
 * @imagespec/core: container images defined in TypeScript.
 * The model (Image, ImageSpec, YAML specs), validation, content-hash identity, the build engine, the registry
 * client, plugins and configuration: what users call. Builder and layer-package authors write against
 * `@imagespec/core/authoring`.
 */

export type { BuildContext, BuildEvent, BuildResult, ImageBuilder, PlatformBuild, RenderContext, RenderedBuildFile } from "./builder.js";
export type { BuilderSettings } from "./builder-settings.js";
export type { PipOptions, SecretMountInput, SshMountInput } from "./builtin-layers.js";
export { type BuildersConfig, CONFIG_FILE_NAMES, defineConfig, findConfigFile, type ImageSpecConfig, importModule, loadConfigFile } from "./config.js";
export {
  type BuildOptions,
  type BuildOutcome,
  type BuilderCreator,
  type BuildTarget,
  type EngineEvent,
  type EngineOptions,
  ImageBuildEngine,
  type ImageStatus,
  type RegisteredBuilder,
  type RegisterOptions,
} from "./engine.js";
export { type ErrorCode, errorMessage, ImageSpecError, isImageSpecError, printable, showValue, type ValidationIssue } from "./errors.js";
export { FileHasher, type FileHasherOptions, type FolderEntry, type HashingListener, type HashingProgress, onHashingProgress } from "./files.js";
export * as grammar from "./grammar.js";
export { HASH_CONTRACT_VERSION, type ImageIdentity, type TagInput } from "./identity.js";
export {
  type BaseImage,
  DEFAULT_DEBIAN_BASE_TEMPLATE,
  DEFAULT_IMAGE_NAME,
  DEFAULT_PLATFORM,
  DEFAULT_PYTHON_VERSION,
  DEFAULT_TAG_FORMAT,
  debianBaseImage,
  IMAGE_ID_ENV,
  Image,
  type ImageOptions,
  isContainer,
  isImage,
  type NativePlatform,
} from "./image.js";
export { type BuilderFactory, definePlugin, type ImageSpecPlugin, type RequirementsFileHandler } from "./plugin.js";
export type { PluginFailure } from "./discovery.js";
export { type LoadedPlugin, type LoadProjectOptions, loadProject, type Project, type RegisteredBuilderInfo } from "./project.js";
export { applySettings, type ResolvedSettings, type ResolveSettingsOptions, resolveSettings } from "./settings.js";
export {
  type CredentialResolver,
  createDockerConfigResolver,
  type Existence,
  type PushAccess,
  type RegistryCredentials,
  RegistryClient,
  type RegistryClientOptions,
} from "./registry/index.js";
export { type FlyteSourceCopyMode, isImageSpec, ImageSpec, type ImageSpecData, type ImageSpecFields, type SourceCopyMode, SPEC_FIELDS } from "./spec.js";
export { loadImageSpecFile, parseImageSpecYaml } from "./spec-file.js";
export { closestMatch } from "./suggest.js";
