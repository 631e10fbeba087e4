/**
 * The docker builder's engine connection (@imagespec/docker-build's, shared with the remote builder) against the real
 * test environment: `host: "ssh://..."` reaches the second engine through @imagespec/test-env's SSH server (the real
 * docker CLI's `docker system dial-stdio` behind it), and the engine's host key is checked against known_hosts: an
 * unknown or changed key is refused before any request, a listed one builds. `tcp://` with DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH reaches the same engine over mutual TLS, as DOCKER_HOST would for the docker CLI.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { type BuildOutcome, Image, ImageBuildEngine, isImageSpecError, RegistryClient } from "@imagespec/core";
import { docker, type RemoteTestEnv, remoteTestEnv, runImage, type SshKeys, type SshServer, sshTestEngine, type TestEnv, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBuilder, type DockerBuilderConfig } from "../src/index.js";
import { project } from "./support/project.js";

let env: TestEnv;
let remote: RemoteTestEnv;
let keys: SshKeys;
let server: SshServer;
let dir: string;
const RUN = `${Date.now().toString(36)}${process.pid}`;

function knownHosts(name: string, line: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, line ? `${line}\n` : "");
  return file;
}

/** Builds with the docker builder only, with these variables set in this process (what a user's shell would have). */
async function build(config: DockerBuilderConfig, image: Image, vars: Record<string, string | undefined> = {}): Promise<BuildOutcome> {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  set(vars);
  try {
    const engine = new ImageBuildEngine({ env: {} }).register(createDockerBuilder(config), { priority: 100 });
    const [outcome] = await engine.build(image, { force: true });
    return outcome!;
  } finally {
    set(saved);
  }
}

beforeAll(async () => {
  env = testEnv();
  remote = remoteTestEnv();
  dir = project({}, "imagespec-docker-connection-");
  ({ keys, server } = await sshTestEngine(dir));
});

afterAll(async () => {
  await server?.close();
});

describe("host: ssh://", () => {
  it("refuses an engine whose host key is not in known_hosts, naming the host and how to add it, before any request", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-docker-test/ssh-unknown" });
    const empty = knownHosts("empty_known_hosts", "");
    const host = `ssh://root@127.0.0.1:${server.port}`;
    const before = server.dials;
    const outcome = await build({ host, identityFile: keys.client.privateKeyFile, knownHosts: empty }, image);
    expect(outcome.status).toBe("failed");
    expect(isImageSpecError(outcome.error) && outcome.error.code).toBe("ENVIRONMENT");
    expect(outcome.reason).toContain(
      `the Docker engine at ${host} is not trusted: its SSH host key is not in ${empty} (no entry for [127.0.0.1]:${server.port})`,
    );
    expect(outcome.reason).toContain(`ssh-keyscan -p ${server.port} 127.0.0.1 >> ${empty}`);
    expect((outcome.error as { hint?: string }).hint).toContain("never accepts an unknown key");
    expect(server.dials).toBe(before); // refused at the handshake: no command ran on the host
  });

  it("refuses a changed host key, and a missing known_hosts file", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-docker-test/ssh-changed" });
    const changed = knownHosts("changed_known_hosts", `[127.0.0.1]:${server.port} ${keys.stranger.publicKey}`);
    const mismatch = await build({ host: `ssh://root@127.0.0.1:${server.port}`, identityFile: keys.client.privateKeyFile, knownHosts: changed }, image);
    expect(mismatch.status).toBe("failed");
    expect(mismatch.reason).toContain(`its SSH host key does not match the one ${changed} lists for [127.0.0.1]:${server.port}`);
    const missing = path.join(dir, "no_known_hosts");
    const absent = await build({ host: `ssh://root@127.0.0.1:${server.port}`, identityFile: keys.client.privateKeyFile, knownHosts: missing }, image);
    expect(absent.reason).toContain(`its SSH host key cannot be checked: ${missing} does not exist`);
  });

  it("builds and pushes over SSH when the host key is in known_hosts", async () => {
    const hosts = knownHosts("known_hosts", `[127.0.0.1]:${server.port} ${keys.host.publicKey}`);
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-docker-test/ssh" }).withCommands(`echo ${RUN} > /via-ssh`);
    const before = server.dials;
    // The local engine is out of reach: the build can only have happened on the engine behind the SSH server.
    const outcome = await build({ host: `ssh://root@127.0.0.1:${server.port}`, identityFile: keys.client.privateKeyFile, knownHosts: hosts }, image, {
      DOCKER_HOST: "unix:///nonexistent/docker.sock",
    });
    expect(outcome.status, outcome.reason).toBe("built");
    expect(outcome.result?.engine).toBe(`docker ssh://root@127.0.0.1:${server.port}`);
    expect(server.dials - before).toBeGreaterThanOrEqual(3); // the health check, the build, the push
    expect(await new RegistryClient().manifestExists(await image.uri())).toEqual({ status: "present", digest: outcome.digest });
    await docker(["pull", outcome.uri]);
    expect(await runImage(outcome.uri, ["cat", "/via-ssh"])).toBe(RUN);
    await docker(["image", "rm", outcome.uri]).catch(() => {});
  });

  it("DOCKER_HOST=ssh:// is checked the same way, against ~/.ssh/known_hosts by default", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-docker-test/ssh-env" });
    const home = project({}, "imagespec-docker-home-");
    const outcome = await build({ identityFile: keys.client.privateKeyFile }, image, {
      DOCKER_HOST: `ssh://root@127.0.0.1:${server.port}`,
      HOME: home,
      SSH_AUTH_SOCK: undefined,
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.reason).toContain(`its SSH host key cannot be checked: ${path.join(home, ".ssh/known_hosts")} does not exist`);
  });
});

describe("host: tcp:// with TLS", () => {
  it("reaches an engine over mutual TLS with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI does", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-docker-test/tls" }).withEnvVars({ RUN });
    const outcome = await build({ host: remote.remoteEngine }, image, { DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: remote.remoteCertPath });
    expect(outcome.status, outcome.reason).toBe("built");
    expect(outcome.result?.engine).toBe(`docker ${remote.remoteEngine}`);
  });

  it("names the TLS file at fault", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-docker-test/tls-missing" });
    const missing = path.join(dir, "no-certs");
    const outcome = await build({ host: remote.remoteEngine }, image, { DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: missing });
    expect(isImageSpecError(outcome.error) && outcome.error.code).toBe("CONFIG_ERROR");
    expect(outcome.reason).toContain(`the TLS folder ${missing} does not exist`);
  });
});
