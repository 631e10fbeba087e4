/**
 * ssh:// engines: the builder's real SSH client (key authentication, host key checked against a known_hosts file,
 * `docker system dial-stdio`) reaching the test environment's remote engine through @imagespec/test-env's SSH server
 * (sshTestEngine), which runs the real docker CLI's dial-stdio.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type BuildOutcome, type EngineEvent, Image, ImageBuildEngine } from "@imagespec/core";
import { isImageSpecError, RegistryClient } from "@imagespec/core/authoring";
import { docker, runImage, type SshKeys, type SshServer, sshTestEngine, type TestEnv, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteBuilder, type RemoteEngineConfig } from "../src/index.js";
import { project } from "./support/project.js";

let env: TestEnv;
let keys: SshKeys;
let server: SshServer;
let dir: string;
const RUN = `${Date.now().toString(36)}${process.pid}`;

function knownHosts(name: string, line: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, line ? `${line}\n` : "");
  return file;
}

async function build(engine: Partial<RemoteEngineConfig>, image: Image, events: EngineEvent[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<BuildOutcome> {
  const builder = createRemoteBuilder(
    { engines: [{ host: `ssh://root@127.0.0.1:${server.port}`, name: "ssh-engine", ...engine }] },
    { env: { HOME: dir, ...extraEnv } },
  );
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock";
  try {
    const [outcome] = await new ImageBuildEngine({ env: {} })
      .register(builder, { priority: 110 })
      .build(image, { force: true, onEvent: (e) => events.push(e) });
    return outcome!;
  } finally {
    process.env.DOCKER_HOST = saved;
  }
}

beforeAll(async () => {
  env = testEnv();
  dir = project({}, "imagespec-remote-ssh-");
  ({ keys, server } = await sshTestEngine(dir));
});

afterAll(async () => {
  await server?.close();
});

describe("an ssh:// engine", () => {
  it("builds and pushes over SSH with a key, the host key checked against known_hosts", async () => {
    const hosts = knownHosts("known_hosts", `[127.0.0.1]:${server.port} ${keys.host.publicKey}`);
    // A secret too: the session rides the same SSH channel as the build.
    const secret = `ssh-secret-${RUN}`;
    const sha = execFileSync("sha256sum", { input: secret, encoding: "utf8" }).slice(0, 64);
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-remote-test/ssh" }).withCommands(
      `test "$(sha256sum < /run/secrets/token | cut -c1-64)" = ${sha} && echo ${RUN} > /via-ssh`,
      { secretMounts: [{ id: "token", env: "IMAGESPEC_TEST_SSH_SECRET" }] },
    );
    const events: EngineEvent[] = [];
    const outcome = await build({ identityFile: keys.client.privateKeyFile, knownHosts: hosts }, image, events, { IMAGESPEC_TEST_SSH_SECRET: secret });
    expect(outcome.status, outcome.reason).toBe("built");
    expect(outcome.result?.engine).toBe("ssh-engine");
    expect(server.dials).toBeGreaterThanOrEqual(3); // the health check, the build, the push
    expect(await new RegistryClient().manifestExists(await image.uri())).toEqual({ status: "present", digest: outcome.digest });
    expect(
      events.some(
        (e) =>
          e.type === "build" &&
          e.event.type === "log" &&
          e.event.line.startsWith(`Building on remote engine ssh-engine (ssh://root@127.0.0.1:${server.port}): Docker`),
      ),
    ).toBe(true);
    await docker(["pull", outcome.uri]);
    expect(await runImage(outcome.uri, ["cat", "/via-ssh"])).toBe(RUN);
    await docker(["image", "rm", outcome.uri]).catch(() => {});
  });

  it("accepts a hashed known_hosts entry and the default ~/.ssh/known_hosts", async () => {
    mkdirSync(path.join(dir, ".ssh"), { recursive: true });
    const hosts = knownHosts(".ssh/known_hosts", `[127.0.0.1]:${server.port} ${keys.host.publicKey}`);
    execFileSync("ssh-keygen", ["-H", "-f", hosts], { stdio: "ignore" });
    expect(readFileSync(hosts, "utf8")).toMatch(/^\|1\|/);
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-remote-test/ssh-hashed" }).withEnvVars({ RUN });
    const outcome = await build({ identityFile: keys.client.privateKeyFile }, image);
    expect(outcome.status, outcome.reason).toBe("built");
  });

  it("authenticates through the SSH agent when no key file is given", async () => {
    const socket = path.join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    try {
      // ssh-agent makes its socket soon after it starts; a loaded CI machine may take seconds to start it.
      for (const deadline = Date.now() + 30_000; !existsSync(socket) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
      execFileSync("ssh-add", [keys.client.privateKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
      const hosts = knownHosts("known_hosts", `[127.0.0.1]:${server.port} ${keys.host.publicKey}`);
      // The same agent is forwarded into a step (sshMounts), through the session on the SSH channel.
      const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-remote-test/ssh-agent" })
        .withEnvVars({ RUN })
        .withCommands('test -S "$SSH_AUTH_SOCK"', { sshMounts: ["default"] });
      const outcome = await build({ knownHosts: hosts }, image, [], { SSH_AUTH_SOCK: socket });
      expect(outcome.status, outcome.reason).toBe("built");
    } finally {
      agent.kill();
    }
  });

  it("refuses an unknown or changed host key, and says what to do", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-remote-test/ssh-refused" });
    const empty = knownHosts("empty_known_hosts", "");
    const unknown = await build({ identityFile: keys.client.privateKeyFile, knownHosts: empty }, image);
    expect(unknown.status).toBe("failed");
    expect(unknown.reason).toContain(
      `its SSH host key is not in ${empty} (no entry for [127.0.0.1]:${server.port}); add it with \`ssh-keyscan -p ${server.port} 127.0.0.1 >> ${empty}\``,
    );
    const changed = knownHosts("changed_known_hosts", `[127.0.0.1]:${server.port} ${keys.stranger.publicKey}`);
    const mismatch = await build({ identityFile: keys.client.privateKeyFile, knownHosts: changed }, image);
    expect(mismatch.reason).toContain(`its SSH host key does not match the one ${changed} lists for [127.0.0.1]:${server.port}`);
    expect(isImageSpecError(mismatch.error) && mismatch.error.code).toBe("ENVIRONMENT");
  });

  it("says when the engine refuses the key, or the key file is missing", async () => {
    const hosts = knownHosts("known_hosts", `[127.0.0.1]:${server.port} ${keys.host.publicKey}`);
    const image = Image.fromBase(env.baseImage, { root: dir, registry: env.registry, name: "builder-remote-test/ssh-key" });
    const refused = await build({ identityFile: keys.stranger.privateKeyFile, knownHosts: hosts }, image);
    expect(refused.status).toBe("failed");
    expect(refused.reason).toContain("it refused our SSH key");
    const missing = await build({ identityFile: path.join(dir, "no_such_key"), knownHosts: hosts }, image);
    expect(isImageSpecError(missing.error) && missing.error.code).toBe("CONFIG_ERROR");
    expect(missing.reason).toContain(`cannot read the SSH key ${path.join(dir, "no_such_key")}: it does not exist`);
  });
});
