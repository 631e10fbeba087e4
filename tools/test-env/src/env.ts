/** The test environment's settings, as `scripts/test-env up` writes them and the global setup exports them. */
export interface TestEnv {
  /** Docker engine endpoint, e.g. unix:///var/run/docker.sock (DOCKER_HOST). */
  dockerHost: string;
  /** The Docker CLI to use, /usr/bin/docker (IMAGESPEC_DOCKER_CLI). */
  dockerCli: string;
  /** Open registry, host:port, e.g. 127.0.0.1:5000 (IMAGESPEC_TEST_REGISTRY). */
  registry: string;
  /** Basic-auth registry, host:port, e.g. 127.0.0.1:5001 (IMAGESPEC_TEST_AUTH_REGISTRY). */
  authRegistry: string;
  /** User of the auth registry (IMAGESPEC_TEST_AUTH_USER). */
  authUser: string;
  /** Password of the auth registry (IMAGESPEC_TEST_AUTH_PASSWORD). */
  authPassword: string;
  /** Seeded Python base image: a manifest list (linux/amd64, linux/arm64) in the open registry, the amd64 image in the local engine (IMAGESPEC_TEST_BASE_IMAGE). */
  baseImage: string;
  /** Digest of baseImage's tag in the open registry: its manifest list of linux/amd64 and linux/arm64 (IMAGESPEC_TEST_BASE_IMAGE_DIGEST). */
  baseImageDigest: string;
  /** State dir of scripts/test-env (IMAGESPEC_TEST_ENV_DIR). */
  envDir: string;
}

const VARIABLES = {
  dockerHost: "DOCKER_HOST",
  dockerCli: "IMAGESPEC_DOCKER_CLI",
  registry: "IMAGESPEC_TEST_REGISTRY",
  authRegistry: "IMAGESPEC_TEST_AUTH_REGISTRY",
  authUser: "IMAGESPEC_TEST_AUTH_USER",
  authPassword: "IMAGESPEC_TEST_AUTH_PASSWORD",
  baseImage: "IMAGESPEC_TEST_BASE_IMAGE",
  baseImageDigest: "IMAGESPEC_TEST_BASE_IMAGE_DIGEST",
  envDir: "IMAGESPEC_TEST_ENV_DIR",
} as const satisfies Record<keyof TestEnv, string>;

/** Names of the environment variables, by TestEnv field. */
export const TEST_ENV_VARIABLES: Readonly<Record<keyof TestEnv, string>> = VARIABLES;

/**
 * The test environment's settings from process.env. Throws when a variable is missing, which means the
 * vitest globalSetup (@imagespec/test-env/global-setup) did not run.
 */
export function testEnv(): TestEnv {
  const env = {} as TestEnv;
  for (const [field, variable] of Object.entries(VARIABLES) as [keyof TestEnv, string][]) {
    const value = process.env[variable];
    if (!value) {
      throw new Error(
        `Cannot read the test environment: ${variable} is not set. Add the global setup to vitest.config.ts ` +
          `(test.globalSetup: ["../../tools/test-env/global-setup.ts"]), or run \`eval "$(scripts/test-env env)"\` first.`,
      );
    }
    env[field] = value;
  }
  return env;
}

/** The second ("remote") Docker engine of the test environment: TCP with mutual TLS on 127.0.0.1. */
export interface RemoteTestEnv {
  /** Its first listener, e.g. tcp://127.0.0.1:2376 (IMAGESPEC_TEST_REMOTE_ENGINE). */
  remoteEngine: string;
  /** The same engine's second listener, e.g. tcp://127.0.0.1:2377, to list it twice in a pool (IMAGESPEC_TEST_REMOTE_ENGINE_2). */
  remoteEngine2: string;
  /** A DOCKER_CERT_PATH-style folder with the client's ca.pem, cert.pem and key.pem (IMAGESPEC_TEST_REMOTE_CERT_PATH). */
  remoteCertPath: string;
}

const REMOTE_VARIABLES = {
  remoteEngine: "IMAGESPEC_TEST_REMOTE_ENGINE",
  remoteEngine2: "IMAGESPEC_TEST_REMOTE_ENGINE_2",
  remoteCertPath: "IMAGESPEC_TEST_REMOTE_CERT_PATH",
} as const satisfies Record<keyof RemoteTestEnv, string>;

/** Names of the remote engine's environment variables, by RemoteTestEnv field. */
export const REMOTE_TEST_ENV_VARIABLES: Readonly<Record<keyof RemoteTestEnv, string>> = REMOTE_VARIABLES;

/**
 * The remote engine's settings from process.env. Throws when they are missing: the global setup did not run, or
 * `scripts/test-env up` could not start the engine (it says why, and the other components work without it).
 */
export function remoteTestEnv(): RemoteTestEnv {
  const env = {} as RemoteTestEnv;
  for (const [field, variable] of Object.entries(REMOTE_VARIABLES) as [keyof RemoteTestEnv, string][]) {
    const value = process.env[variable];
    if (!value) {
      const dir = process.env.IMAGESPEC_TEST_ENV_DIR || "/tmp/imagespec-test-env";
      throw new Error(
        `Cannot read the remote engine of the test environment: ${variable} is not set. Either the vitest globalSetup did not run, ` +
          `or \`scripts/test-env up\` could not start the second dockerd (its summary says "remote engine: NOT STARTED: <why>"; log: ${dir}/remote-engine/dockerd.log).`,
      );
    }
    env[field] = value;
  }
  return env;
}

/** The registry with distribution's token auth and the token server it trusts (tools/test-env/token-server.mjs). */
export interface TokenRegistryTestEnv {
  /** The registry, host:port, e.g. 127.0.0.1:5002 (IMAGESPEC_TEST_TOKEN_REGISTRY). */
  tokenRegistry: string;
  /** The token endpoint its Bearer challenge names, e.g. http://127.0.0.1:5003/token (IMAGESPEC_TEST_TOKEN_REALM). */
  tokenRealm: string;
  /** A user the token server grants every action on every repository (IMAGESPEC_TEST_TOKEN_USER). */
  tokenUser: string;
  /** A user it grants pull only, with the same password (IMAGESPEC_TEST_TOKEN_READER). */
  tokenReader: string;
  /** The password of both (IMAGESPEC_TEST_TOKEN_PASSWORD). */
  tokenPassword: string;
}

const TOKEN_REGISTRY_VARIABLES = {
  tokenRegistry: "IMAGESPEC_TEST_TOKEN_REGISTRY",
  tokenRealm: "IMAGESPEC_TEST_TOKEN_REALM",
  tokenUser: "IMAGESPEC_TEST_TOKEN_USER",
  tokenReader: "IMAGESPEC_TEST_TOKEN_READER",
  tokenPassword: "IMAGESPEC_TEST_TOKEN_PASSWORD",
} as const satisfies Record<keyof TokenRegistryTestEnv, string>;

/** Names of the token registry's environment variables, by TokenRegistryTestEnv field. */
export const TOKEN_REGISTRY_TEST_ENV_VARIABLES: Readonly<Record<keyof TokenRegistryTestEnv, string>> = TOKEN_REGISTRY_VARIABLES;

/** The token registry's settings from process.env. Throws when they are missing: the global setup did not run. */
export function tokenRegistryTestEnv(): TokenRegistryTestEnv {
  const env = {} as TokenRegistryTestEnv;
  for (const [field, variable] of Object.entries(TOKEN_REGISTRY_VARIABLES) as [keyof TokenRegistryTestEnv, string][]) {
    const value = process.env[variable];
    if (!value) {
      throw new Error(
        `Cannot read the token registry of the test environment: ${variable} is not set. Add the global setup to vitest.config.ts ` +
          `(test.globalSetup: ["../../tools/test-env/global-setup.ts"]), or run \`eval "$(scripts/test-env env)"\` first.`,
      );
    }
    env[field] = value;
  }
  return env;
}

/** The Node.js base image and the npm registry of the test environment (tools/test-env/node.sh). */
export interface NodeTestEnv {
  /** The offline Node.js base image, e.g. 127.0.0.1:5000/imagespec/node:18-bookworm-slim (IMAGESPEC_TEST_NODE_BASE_IMAGE). */
  nodeBaseImage: string;
  /** Its manifest digest in the open registry (IMAGESPEC_TEST_NODE_BASE_IMAGE_DIGEST). */
  nodeBaseImageDigest: string;
  /** The major Node.js version it has, e.g. 18 (IMAGESPEC_TEST_NODE_VERSION). */
  nodeVersion: string;
  /** The npm registry (verdaccio, no uplink), e.g. http://127.0.0.1:4873/ (IMAGESPEC_TEST_NPM_REGISTRY). */
  npmRegistry: string;
  /** A user it knows (IMAGESPEC_TEST_NPM_USER). */
  npmUser: string;
  /** That user's token; @imagespec-test/* packages need it (IMAGESPEC_TEST_NPM_TOKEN). */
  npmToken: string;
}

const NODE_VARIABLES = {
  nodeBaseImage: "IMAGESPEC_TEST_NODE_BASE_IMAGE",
  nodeBaseImageDigest: "IMAGESPEC_TEST_NODE_BASE_IMAGE_DIGEST",
  nodeVersion: "IMAGESPEC_TEST_NODE_VERSION",
  npmRegistry: "IMAGESPEC_TEST_NPM_REGISTRY",
  npmUser: "IMAGESPEC_TEST_NPM_USER",
  npmToken: "IMAGESPEC_TEST_NPM_TOKEN",
} as const satisfies Record<keyof NodeTestEnv, string>;

/** Names of the Node.js variables, by NodeTestEnv field. */
export const NODE_TEST_ENV_VARIABLES: Readonly<Record<keyof NodeTestEnv, string>> = NODE_VARIABLES;

/**
 * The Node.js base image and npm registry settings from process.env. Throws when they are missing: the global setup
 * did not run, or `scripts/test-env up` could not make them (its summary says `... NOT STARTED: <why>`).
 */
export function nodeTestEnv(): NodeTestEnv {
  const env = {} as NodeTestEnv;
  for (const [field, variable] of Object.entries(NODE_VARIABLES) as [keyof NodeTestEnv, string][]) {
    const value = process.env[variable];
    if (!value) {
      const dir = process.env.IMAGESPEC_TEST_ENV_DIR || "/tmp/imagespec-test-env";
      throw new Error(
        `Cannot read the Node.js part of the test environment: ${variable} is not set. Either the vitest globalSetup did not run, ` +
          `or \`scripts/test-env up\` could not make the Node.js base image or start the npm registry (its summary says "NOT STARTED: <why>"; logs in ${dir}/node and ${dir}/npm-registry).`,
      );
    }
    env[field] = value;
  }
  return env;
}

/** The text of an .npmrc that points npm, pnpm and yarn 1 at the test npm registry, logged in. */
export function testNpmrc(env: NodeTestEnv = nodeTestEnv()): string {
  const host = new URL(env.npmRegistry).host;
  return `registry=${env.npmRegistry}\n//${host}/:_authToken=${env.npmToken}\n`;
}
