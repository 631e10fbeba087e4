/**
 * @imagespec/builder-remote: builds images on remote Docker engines (TCP with mutual TLS, or SSH), no local Docker
 * needed; several engines make a pool that builds concurrently. The Dockerfile and the build are
 * @imagespec/docker-build's, the same as the docker builder's.
 */

export { createRemoteBuilder, REMOTE_BUILDER_TYPE, type RemoteBuilderOptions } from "./builder.js";
export {
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  DEFAULT_MAX_BUILDS,
  type RemoteBuilderConfig,
  remoteBuilderSettings,
  type RemoteEngineConfig,
  type ResolvedEngine,
  type ResolvedRemoteConfig,
  resolveRemoteConfig,
} from "./config.js";
