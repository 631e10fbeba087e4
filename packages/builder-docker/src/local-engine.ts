/**
 * The local engine (or the one `host` / DOCKER_HOST names), reached through dockerode, which is imported only when
 * the builder builds or checks an image.
 */

import { ImageSpecError } from "@imagespec/core/authoring";
import { type EngineConnection, withTimeout } from "@imagespec/docker-build/engine";
import type Dockerode from "dockerode";
import type { DockerBuilderConfig } from "./config.js";

function endpointOf(config: DockerBuilderConfig, env: NodeJS.ProcessEnv): string {
  return config.host ?? (env.DOCKER_HOST || "unix:///var/run/docker.sock");
}

function connectionOptions(endpoint: string): Dockerode.DockerOptions {
  if (endpoint.startsWith("unix://")) return { socketPath: endpoint.slice("unix://".length) };
  if (endpoint.startsWith("npipe://")) return { socketPath: endpoint.slice("npipe://".length) };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ImageSpecError("CONFIG_ERROR", `Cannot connect to the Docker engine: ${JSON.stringify(endpoint)} is not an engine address`, {
      field: "host",
      value: endpoint,
      hint: "Write it as unix:///var/run/docker.sock, tcp://host:2375 or ssh://user@host.",
    });
  }
  const port = url.port ? Number(url.port) : undefined;
  if (url.protocol === "ssh:") return { protocol: "ssh", host: url.hostname, ...(port && { port }), ...(url.username && { username: url.username }) };
  const https = url.protocol === "https:" || process.env.DOCKER_TLS_VERIFY === "1";
  return { protocol: https ? "https" : "http", host: url.hostname, port: port ?? (https ? 2376 : 2375) };
}

/** Connects and pings the engine; no engine → an ENVIRONMENT error that says how to start one. */
export async function connectEngine(config: DockerBuilderConfig, action: string, env: NodeJS.ProcessEnv = process.env): Promise<EngineConnection> {
  const endpoint = endpointOf(config, env);
  const { default: Docker } = await import("dockerode");
  const docker = new Docker(config.host !== undefined ? connectionOptions(endpoint) : undefined);
  try {
    await withTimeout(docker.ping(), 15_000, "did not answer within 15 s");
  } catch (error) {
    throw new ImageSpecError("ENVIRONMENT", `Cannot ${action}: no Docker engine answers at ${endpoint} (${(error as Error).message})`, {
      value: endpoint,
      hint: "Start Docker (e.g. `sudo systemctl start docker`, or Docker Desktop), or point DOCKER_HOST (or the docker builder's `host` setting) at a running engine.",
      cause: error,
    });
  }
  return { docker, endpoint };
}

