/**
 * @imagespec/core: container images defined in TypeScript.
 * The model (Image, ImageSpec, YAML specs), validation, content-hash identity, the build engine, the registry
 * client, plugins and configuration.
 */

export type { BuildContext, BuildEvent, BuildResult, ImageBuilder, PlatformBuild, RenderContext, RenderedBuildFile } from "./builder.js";
export { isImageBuilder } from "./builder.js";
export { type BuilderSettings, type BuilderSettingsSchema, checkBuilderSettings, NO_SETTINGS, settingNamesAt } from "./builder-settings.js";
export {
  aptPackagesLayer,
  builtinKindOf,
  builtinLayers,
  type BuiltinLayerKind,
  codeBundleLayer,
  commandsLayer,
  condaPackagesLayer,
  copyLayer,
  cudaLayer,
  DEFAULT_SSH_ID,
  dockerignoreLayer,
  entrypointLayer,
  envLayer,
  isFolderDestination,
  type PipOptions,
  pipPackagesLayer,
  requirementsLayer,
  runtimePackagesLayer,
  type SecretMount,
  type SecretMountInput,
  type SshMount,
  type SshMountInput,
  workdirLayer,
} from "./builtin-layers.js";
export { canonicalJson, sha256Hex, shortHash } from "./canonical.js";
export { type BuildersConfig, CONFIG_FILE_NAMES, defineConfig, findConfigFile, type ImageSpecConfig, importModule, loadConfigFile } from "./config.js";
export type {
  DockerBuildStage,
  DockerBuildStageOptions,
  DockerCacheMountOptions,
  DockerCopyOptions,
  DockerInstructions,
  DockerLayerRenderer,
  DockerPythonEnvironment,
  DockerQuoting,
  DockerRenderContext,
  DockerRunOptions,
} from "./docker-render.js";
export { type DiscoveredPlugin, type DiscoveryResult, discoverPlugins, findPackageJson, type PluginFailure } from "./discovery.js";
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
export { DEFAULT_EXISTENCE_TTL_S } from "./existence-cache.js";
export {
  defaultFileHasher,
  FileHasher,
  type FileHasherOptions,
  type FolderEntry,
  type FolderSelection,
  type HashedFile,
  type IgnoreFile,
  type InputDigest,
  readHashedFile,
} from "./files.js";
export * as grammar from "./grammar.js";
export { HASH_CONTRACT_VERSION, type HashedSource, hashedInput, type ImageIdentity, imageIgnoreFiles, imageIgnorePatterns, type TagInput } from "./identity.js";
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
  relativePathHint,
  type NativePlatform,
} from "./image.js";
export { isInstallerVariable, splitInstallerVariables } from "./installer-env.js";
export { defineLayer, type FileInput, isLayerDefinition, type Layer, type LayerDefinition, layerDefinition, layerFields } from "./layer.js";
export { limiter } from "./limiter.js";
export { formatPlatform, NATIVE_PLATFORM, type OciPlatform, parsePlatform, platformTagSuffix, samePlatform } from "./platform.js";
export { type BuilderFactory, definePlugin, type ImageSpecPlugin, isPlugin, type RequirementsFileHandler } from "./plugin.js";
export { isLockFile, REQUIREMENTS_FILE_PACKAGES, requirementsFileHandler } from "./requirements-files.js";
export { type LoadedPlugin, type LoadProjectOptions, loadProject, type Project, type RegisteredBuilderInfo } from "./project.js";
export { applySettings, type ResolvedSettings, type ResolveSettingsOptions, resolveSettings } from "./settings.js";
export { formatImageReference, type ImageReference, isLoopbackRegistry, normalizeImageReference, parseImageReference } from "./reference.js";
export {
  type CredentialResolver,
  createDockerConfigResolver,
  type DockerEngineAuthConfig,
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
  type Existence,
  type ImageRunConfig,
  findPlatformEntry,
  type IndexEntry,
  isIndexMediaType,
  OCI_INDEX_MEDIA_TYPE,
  parseIndexEntries,
  type PlatformManifest,
  type PushAccess,
  readImageRunConfig,
  type RegistryCredentials,
  RegistryClient,
  type RegistryClientOptions,
  toDockerEngineAuth,
} from "./registry/index.js";
export {
  BUILDER_ALIASES,
  type FlyteSourceCopyMode,
  isImageSpec,
  ImageSpec,
  type ImageSpecData,
  type ImageSpecFields,
  type SourceCopyMode,
  SPEC_FIELDS,
  splitArgs,
} from "./spec.js";
export { loadImageSpecFile, parseImageSpecYaml } from "./spec-file.js";
export {
  DOCKERFILE_LINE_LIMIT,
  dockerfileFlag,
  dockerfileImageReference,
  dockerfileJsonArray,
  dockerfileWord,
  fitsDockerfileWord,
  fitsMountOption,
  mountOption,
  shellJoin,
  shellQuote,
  starlarkList,
  starlarkString,
} from "./quote.js";
export { closestMatch, levenshtein } from "./suggest.js";
