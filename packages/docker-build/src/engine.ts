/**
 * @imagespec/docker-build/engine: connects to a Docker engine (`openEngineConnection`: a socket, TCP with TLS, or SSH
 * with the host key checked against known_hosts) and runs a build on that connection. Opens a BuildKit
 * session of its own on it (the context and Dockerfile, registry credentials, secrets, SSH agents), builds with
 * BuildKit, decodes its progress into build events, maps a failed step back to its layer, pushes from the engine,
 * and tells an engine that went away (EngineLostError) from a build that failed.
 */

export {
  buildFailure,
  buildOnEngine,
  cancelledError,
  DockerBuildError,
  type EngineBuildRun,
  EngineLostError,
  isConnectionFailure,
  isEngineLost,
} from "./build.js";
export { EngineConnectionError, engineConnectionFailure, isEngineConnectionError, type OpenedEngine, openEngineConnection } from "./connection/open.js";
export { type ContextEntry, type ContextEntryOptions, contextEntries, openContextFile } from "./context-entries.js";
export { type ContextStats, type ContextTar, type ContextTarOptions, contextTar } from "./context-tar.js";
export { type EngineBuildOptions, type EngineConnection, engineBuild, engineImageId, enginePush, withTimeout } from "./engine-api.js";
export { ociLabels, publicSourceUrl } from "./labels.js";
export { BuildProgress, type BuildkitStatus, decodeStatusResponse, type StepFailure } from "./progress.js";
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
export type { SessionCredentials } from "./session/auth.js";
export type { SecretSource } from "./session/secrets.js";
export { type BuildSession, openSession, type SessionOptions } from "./session/session.js";
export type { SshAgentSource } from "./session/ssh.js";
