/** Public surface of the registry module: existence checks, authenticated requests, Docker credentials. */

export {
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
  findPlatformEntry,
  type IndexEntry,
  isIndexMediaType,
  OCI_INDEX_MEDIA_TYPE,
  parseIndexEntries,
  type PlatformManifest,
} from "./image-index.js";
export { type Existence, type PushAccess, RegistryClient, type RegistryClientOptions, type RegistryRepository, type RegistryRequestInit } from "./client.js";
export {
  type CredentialResolver,
  createDockerConfigResolver,
  type DockerConfigResolverOptions,
  type DockerEngineAuthConfig,
  defaultDockerConfigPath,
  type RegistryCredentials,
  toDockerEngineAuth,
} from "./credentials.js";
export { type ImageRunConfig, readImageRunConfig } from "./image-config.js";
