/** Public surface of the registry module: existence checks, authenticated requests, Docker credentials. */

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
