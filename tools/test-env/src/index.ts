export { docker, runImage, type DockerOptions, type RunImageOptions } from "./docker.js";
export { TEST_ENV_VARIABLES, testEnv, type TestEnv } from "./env.js";
export { servePackageIndex, type PackageIndex, type PackageIndexOptions } from "./package-index.js";
export { buildWheel, normalizeProjectName, type WheelSpec } from "./wheel.js";
