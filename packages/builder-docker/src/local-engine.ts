/**
 * The docker builder's engine: `host`, else DOCKER_HOST, else the local socket, reached through @imagespec/docker-build's
 * connection module (the same as the remote builder's: TLS from DOCKER_CERT_PATH, SSH host keys checked against
 * known_hosts). dockerode is imported only when the builder builds or checks an image.
 */

import { localEngineAddress } from "@imagespec/docker-build";
import { engineConnectionFailure, isEngineConnectionError, type OpenedEngine, openEngineConnection } from "@imagespec/docker-build/engine";
import type { DockerBuilderConfig } from "./config.js";

const START_HINT =
  "Start Docker (e.g. `sudo systemctl start docker`, or Docker Desktop), or point DOCKER_HOST (or the docker builder's `host` setting) at a running engine.";

/** Connects and checks the engine; no engine → an ENVIRONMENT error that says how to start one; an untrusted SSH host key → ENVIRONMENT naming the host. */
export async function connectEngine(config: DockerBuilderConfig, action: string, env: NodeJS.ProcessEnv = process.env): Promise<OpenedEngine> {
  const address = localEngineAddress(config.host, {
    env,
    ...(config.identityFile !== undefined && { identityFile: config.identityFile }),
    ...(config.knownHosts !== undefined && { knownHosts: config.knownHosts }),
  });
  try {
    return await openEngineConnection(address, { timeoutMs: 15_000, env });
  } catch (error) {
    if (isEngineConnectionError(error)) throw engineConnectionFailure(error, action, START_HINT);
    throw error;
  }
}
