/**
 * @imagespec/core/authoring: what builder and layer-package authors write against. The typed contracts (builders,
 * plugins, layer kinds and their renderers, with a `specificationVersion`), and the helpers a kind needs so that its
 * fields are checked, hashed and quoted exactly as core's own: field grammars, secret and SSH mounts, paths, zod-issue
 * reporting and the quoting functions. Users' things (Image, ImageSpec, loadProject, ...) are on the main entry.
 */

// zod for settings and field schemas: core's bundled copy (see zod.ts).
export * as z from "./zod.js";

// The contracts.
export type { BuildContext, BuildEvent, BuildResult, ImageBuilder, PlatformBuild, RenderContext, RenderedBuildFile } from "./builder.js";
export { isImageBuilder } from "./builder.js";
export { type BuilderSettings, type BuilderSettingsSchema, checkBuilderSettings, NO_SETTINGS } from "./builder-settings.js";
export { type BuilderFactory, definePlugin, type ImageSpecPlugin, isPlugin, type RequirementsFileHandler } from "./plugin.js";
export {
  defineLayer,
  type FileInput,
  isLayerDefinition,
  type Layer,
  type LayerDefinition,
  type LayerRenderers,
  layerDefinition,
  layerFields,
  SPECIFICATION_VERSION,
  type SpecificationVersion,
} from "./layer.js";
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
export type { EnvdLayerContext, EnvdLayerRenderer, EnvdLayerRendering, EnvdStage } from "./envd-render.js";

// Core's own layer kinds, as builders meet them.
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

// Field helpers: schemas on the real grammars, secret and SSH mounts with what of them enters the hash, paths.
export * as grammar from "./grammar.js";
export {
  envName,
  imagePath,
  imageReference,
  indexUrl,
  localPath,
  pep508,
  pipRequirement,
  secretIdentity,
  secretMountSchema,
  shellArgument,
  sshIdentity,
  sshMountSchema,
} from "./builtin-layers.js";
export { grammarString, formatFieldPath, valueAt, zodIssuesToValidation } from "./validation.js";
export { relativePathHint, relativeTo } from "./image.js";
export { isInstallerVariable } from "./installer-env.js";

// Errors.
export { type ErrorCode, errorMessage, ImageSpecError, isImageSpecError, printable, showValue, type ValidationIssue } from "./errors.js";
export { closestMatch } from "./suggest.js";

// Quoting: every value that reaches a rendered file goes through these.
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

// What a builder reads and ships: the identity's recorded inputs, read once.
export { type FolderEntry, type HashedFile, readHashedFile, readHashedFileSync, WHOLE_FILE_MAX } from "./files.js";
export { type HashedSource, hashedInput, type ImageIdentity, type TagInput } from "./identity.js";
export { IMAGE_ID_ENV, type NativePlatform } from "./image.js";

// Engines, registries, platforms and references, as builders talk to them.
export { limiter } from "./limiter.js";
export { formatPlatform, NATIVE_PLATFORM, type OciPlatform, parsePlatform, platformTagSuffix, samePlatform } from "./platform.js";
export { type ImageReference, normalizeImageReference, parseImageReference } from "./reference.js";
export {
  type CredentialResolver,
  createDockerConfigResolver,
  type DockerEngineAuthConfig,
  type Existence,
  type ImageRunConfig,
  readImageRunConfig,
  type RegistryCredentials,
  RegistryClient,
  toDockerEngineAuth,
} from "./registry/index.js";
