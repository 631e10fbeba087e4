/**
 * @imagespec/docker-build/engine: runs a build on a Docker Engine API connection the builder opened. Streams the
 * context tar, builds with BuildKit, decodes its progress into build events, maps a failed step back to its layer,
 * pushes from the engine, and tells an engine that went away (EngineLostError) from a build that failed.
 */

export { abortOnFailure, buildFailure, buildOnEngine, cancelledError, DockerBuildError, type EngineBuildRun, EngineLostError, isConnectionFailure, isEngineLost } from "./build.js";
export { type ContextEntry, type ContextEntryOptions, contextEntries, openContextFile } from "./context-entries.js";
export { type ContextStats, type ContextTar, type ContextTarOptions, contextTar } from "./context-tar.js";
export { type EngineBuildOptions, type EngineConnection, engineBuild, engineImageId, enginePush, registryAuths, withTimeout } from "./engine-api.js";
export { ociLabels, publicSourceUrl } from "./labels.js";
export { BuildProgress, type BuildkitStatus, decodeStatusResponse, PlainProgressParser, type StepFailure } from "./progress.js";
export { buildPlatformIndex, type PlatformIndexRun, platformImageUri } from "./platform-index.js";
export {
  cannotRunReason,
  decodeWorkerPlatforms,
  engineBuildPlatforms,
  engineNativePlatform,
  type EnginePlatforms,
  enginePlatforms,
  unsupportedPlatformError,
  unsupportedPlatforms,
} from "./platforms.js";
