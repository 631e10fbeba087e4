export {
  docker,
  type DockerOptions,
  type HttpAnswerOptions,
  imageHttpAnswer,
  type ImageOccurrences,
  inspectRaw,
  occurrencesInImage,
  type RawManifest,
  remoteDocker,
  runImage,
  type RunImageOptions,
  skopeo,
} from "./docker.js";
export { imageFiles, imageFilesContaining } from "./image-contents.js";
export {
  NODE_TEST_ENV_VARIABLES,
  type NodeTestEnv,
  nodeTestEnv,
  REMOTE_TEST_ENV_VARIABLES,
  type RemoteTestEnv,
  remoteTestEnv,
  TEST_ENV_VARIABLES,
  TOKEN_REGISTRY_TEST_ENV_VARIABLES,
  testEnv,
  type TestEnv,
  testNpmrc,
  type TokenRegistryTestEnv,
  tokenRegistryTestEnv,
} from "./env.js";
export { CAPTIVE_PORTAL_PAGE, type Fault, type FaultProxy, type FaultRequest, startFaultProxy } from "./fault-proxy.js";
export { HOSTILE_PAYLOADS, hostileStrings, ILL_FORMED, seededRandom } from "./hostile.js";
export { publishNpmPackage, type PublishedPackage } from "./npm-registry.js";
export { servePackageIndex, type PackageIndex, type PackageIndexOptions } from "./package-index.js";
export { generateKeys, type SshKeys, type SshServer, sshServer, sshTestEngine } from "./ssh.js";
export { buildWheel, normalizeProjectName, type WheelSpec } from "./wheel.js";
export { buildkitDockerClient, type DockerClient, dockerSelection, type ImageEntry, imageFolder, inParallel, modernDockerClient } from "./oracle.js";
export { type Stopwatch, stopwatch } from "./stopwatch.js";
