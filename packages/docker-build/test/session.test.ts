/**
 * The build's own BuildKit session against the real engine (Debian's dockerd 20.10 and the BuildKit it vendors):
 * registry credentials per host (a private base on the basic-auth registry, the push to the token registry), SSH
 * agent forwarding (OpenSSH's ssh-agent, and an agent of our own holding key files), the incremental context, and
 * cancellation closing the session and stopping the build.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Image } from "@imagespec/core";
import { type BuildContext, type BuildEvent, type CredentialResolver, isImageSpecError, RegistryClient } from "@imagespec/core/authoring";
import { docker, occurrencesInImage, runImage, type TestEnv, testEnv, tokenRegistryTestEnv } from "@imagespec/test-env";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOnEngine, type EngineConnection } from "../src/engine.js";
import { type EngineProxy, engineProxy } from "./support/engine-proxy.js";
import { project } from "./support/project.js";

let env: TestEnv;
const RUN = `${Date.now().toString(36)}${process.pid}`;
const local: EngineConnection = { docker: new Docker(), endpoint: "local" };
const proxies: EngineProxy[] = [];

async function context(
  image: Image,
  options: { push?: boolean; signal?: AbortSignal; events?: BuildEvent[]; credentials?: CredentialResolver } = {},
): Promise<BuildContext> {
  const identity = await image.identity();
  return {
    uri: identity.uri,
    identity,
    push: options.push ?? false,
    baseUri: image.base.type === "image" ? await image.base.image.uri() : undefined,
    credentials: options.credentials ?? (async () => undefined),
    config: {},
    signal: options.signal ?? new AbortController().signal,
    report: (event) => options.events?.push(event),
  };
}

/** The line the build log gives for the context: files offered, asked for, bytes. */
function contextLine(log: string | undefined): { offered: number; asked: number; bytes: number } {
  const match = /Context: (\d+) files \(\d+ bytes\) offered; the engine asked for (\d+) of them \((\d+) bytes\)/.exec(log ?? "");
  if (!match) throw new Error(`no context line in the log:\n${log}`);
  return { offered: Number(match[1]), asked: Number(match[2]), bytes: Number(match[3]) };
}

beforeAll(() => {
  env = testEnv();
});

afterAll(() => {
  for (const proxy of proxies) proxy.close();
});

describe("registry credentials, per host", () => {
  it("pulls a private base from the basic-auth registry and pushes to the token registry, each with its own credentials; wrong ones name the registry", async () => {
    const token = tokenRegistryTestEnv();
    const root = project({});
    const good: CredentialResolver = async (host) =>
      host === env.authRegistry
        ? { username: env.authUser, password: env.authPassword }
        : host === token.tokenRegistry
          ? { username: token.tokenUser, password: token.tokenPassword }
          : undefined;
    const base = Image.fromBase(env.baseImage, { root, registry: env.authRegistry, name: "i12-session/private-base" }).withEnvVars({ PRIVATE: RUN });
    await buildOnEngine(local, base, await context(base, { push: true, credentials: good }), { settings: {}, engine: "local" });
    // The engine must pull the base itself: it is not in its image store.
    await docker(["image", "rm", await base.uri()]);
    const child = Image.fromBase(base, { root, registry: token.tokenRegistry, name: "i12-session/child" }).withCommands(
      `test "$PRIVATE" = ${RUN} && echo child > /child`,
    );
    const result = await buildOnEngine(local, child, await context(child, { push: true, credentials: good }), { settings: {}, engine: "local" });
    expect(result.pushed).toBe(true);
    expect(result.log).toContain(`session: registry credentials for ${env.authRegistry}: found`);
    expect(await new RegistryClient({ credentials: good }).manifestExists(result.uri)).toEqual({ status: "present", digest: result.digest });

    // Wrong credentials for the base's registry: the pull fails, naming it.
    await docker(["image", "rm", await base.uri()]).catch(() => {});
    const badBase: CredentialResolver = async (host) => (host === env.authRegistry ? { username: env.authUser, password: "wrong" } : good(host));
    const other = child.withEnvVars({ AGAIN: RUN });
    const pull = await buildOnEngine(local, other, await context(other, { push: true, credentials: badBase }), { settings: {}, engine: "local" }).catch(
      (e: unknown) => e,
    );
    expect(isImageSpecError(pull) && pull.code).toBe("BUILD_FAILED");
    expect((pull as Error).message).toContain(`load metadata for ${env.authRegistry}/i12-session/private-base`);
    expect((pull as Error).message).toMatch(/401 Unauthorized|unauthorized|authentication required/i);

    // Wrong credentials for the target's registry: the build succeeds, the push fails, naming it.
    const badPush: CredentialResolver = async (host) => (host === token.tokenRegistry ? { username: token.tokenUser, password: "wrong" } : good(host));
    const push = await buildOnEngine(local, other, await context(other, { push: true, credentials: badPush }), { settings: {}, engine: "local" }).catch(
      (e: unknown) => e,
    );
    expect(isImageSpecError(push) && push.code).toBe("AUTH_ERROR");
    expect((push as Error).message).toContain(`Cannot push i12-session/child: ${token.tokenRegistry} refused`);
  });
});

/** A script run in a step: asks the agent at $SSH_AUTH_SOCK for its keys (as `ssh-add -l` does) and signs with the first. */
const AGENT_CLIENT = `
import base64, json, os, socket, struct, sys
def read(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk: raise SystemExit("agent closed")
        data += chunk
    return data
def call(s, kind, body=b""):
    s.sendall(struct.pack(">IB", len(body) + 1, kind) + body)
    n = struct.unpack(">I", read(s, 4))[0]
    reply = read(s, n)
    return reply[0], reply[1:]
def string(b, off):
    n = struct.unpack(">I", b[off:off + 4])[0]
    return b[off + 4:off + 4 + n], off + 4 + n
sock = os.environ.get("SSH_AUTH_SOCK")
if not sock or not os.path.exists(sock):
    print(json.dumps({"agent": None})); sys.exit(0)
s = socket.socket(socket.AF_UNIX); s.connect(sock)
kind, body = call(s, 11)
count = struct.unpack(">I", body[:4])[0]; off = 4; keys = []
for _ in range(count):
    blob, off = string(body, off); comment, off = string(body, off); keys.append((blob, comment.decode()))
out = {"agent": sock, "comments": [c for _, c in keys]}
if keys:
    data = b"imagespec ssh proof"
    kind, body = call(s, 13, struct.pack(">I", len(keys[0][0])) + keys[0][0] + struct.pack(">I", len(data)) + data + struct.pack(">I", 0))
    out["signed"] = kind == 14
    if kind == 14:
        sig, _ = string(body, 0); algo, rest = string(sig, 0); raw, _ = string(sig, rest)
        out["algo"] = algo.decode(); out["signature"] = base64.b64encode(raw).decode()
print(json.dumps(out))
`;

describe("SSH agent forwarding", () => {
  let dir: string;
  beforeAll(() => {
    dir = project({ "agent_client.py": AGENT_CLIENT }, "imagespec-session-ssh-");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `agent-key-${RUN}`, "-f", path.join(dir, "agent_key")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `file-key-${RUN}`, "-f", path.join(dir, "file_key")]);
  });

  /** The private key's base64 body, a string that must never appear in an image. */
  const privateBody = (file: string) =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("-----"))
      .join("")
      .slice(20, 80);

  it("forwards OpenSSH's ssh-agent to the step that mounts it, and to no other step", async () => {
    const socket = path.join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    try {
      // ssh-agent makes its socket soon after it starts; a loaded CI machine may take seconds to start it.
      for (const deadline = Date.now() + 30_000; !existsSync(socket) && Date.now() < deadline; ) await sleep(100);
      execFileSync("ssh-add", [path.join(dir, "agent_key")], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
      const image = Image.fromBase(env.baseImage, { root: dir, name: "i12-session/ssh-agent" })
        .withSourceFile("agent_client.py", "/opt/agent_client.py")
        .withCommands(`python3 /opt/agent_client.py > /ssh-in-step.json # ${RUN}`, { sshMounts: ["default"] })
        .withCommands("python3 /opt/agent_client.py > /ssh-after.json");
      const result = await buildOnEngine(local, image, await context(image), {
        settings: { noCache: true },
        engine: "local",
        env: { ...process.env, SSH_AUTH_SOCK: socket },
      });
      const inStep = JSON.parse(await runImage(result.uri, ["cat", "/ssh-in-step.json"]));
      expect(inStep).toMatchObject({ comments: [`agent-key-${RUN}`], signed: true, algo: "ssh-ed25519" });
      expect(JSON.parse(await runImage(result.uri, ["cat", "/ssh-after.json"]))).toEqual({ agent: null });
      const found = await occurrencesInImage(result.uri, privateBody(path.join(dir, "agent_key")));
      expect({ save: found.save, history: found.history, config: found.config }).toEqual({ save: 0, history: 0, config: 0 });
    } finally {
      agent.kill();
    }
  });

  it("serves key files through an agent of its own, whose signatures verify with the public key", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, name: "i12-session/ssh-keys" })
      .withSourceFile("agent_client.py", "/opt/agent_client.py")
      .withCommands(`python3 /opt/agent_client.py > /ssh-in-step.json # ${RUN}`, {
        sshMounts: [{ id: "deploy", keys: ["file_key"], target: "/run/deploy.sock" }],
      });
    const { SSH_AUTH_SOCK: _, ...noAgent } = process.env;
    const result = await buildOnEngine(local, image, await context(image), { settings: { noCache: true }, engine: "local", env: noAgent });
    const inStep = JSON.parse(await runImage(result.uri, ["cat", "/ssh-in-step.json"])) as { agent: string; comments: string[]; signature: string };
    expect(inStep).toMatchObject({ agent: "/run/deploy.sock", comments: [`file-key-${RUN}`], signed: true, algo: "ssh-ed25519" });
    // The signature is the key's: it verifies with the public key (an ed25519 key blob ends with the 32-byte key).
    const publicLine = readFileSync(path.join(dir, "file_key.pub"), "utf8").split(" ")[1]!;
    const blob = Buffer.from(publicLine, "base64");
    const raw = blob.subarray(blob.length - 32);
    const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
    expect(
      verify(null, Buffer.from("imagespec ssh proof"), createPublicKey({ key: spki, format: "der", type: "spki" }), Buffer.from(inStep.signature, "base64")),
    ).toBe(true);
    const found = await occurrencesInImage(result.uri, privateBody(path.join(dir, "file_key")));
    expect({ save: found.save, history: found.history, config: found.config }).toEqual({ save: 0, history: 0, config: 0 });
  });

  it("refuses to build when there is no agent to forward, before building", async () => {
    const image = Image.fromBase(env.baseImage, { root: dir, name: "i12-session/ssh-none" }).withCommands("true", { sshMounts: ["default"] });
    const { SSH_AUTH_SOCK: _, ...noAgent } = process.env;
    const error = await buildOnEngine(local, image, await context(image), { settings: {}, engine: "local", env: noAgent }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ENVIRONMENT", message: expect.stringContaining("SSH mount default: SSH_AUTH_SOCK is not set") });
  });
});

describe("the context, synced incrementally", () => {
  it("sends only the file that changed on a rebuild, and the new bytes reach the image", async () => {
    const root = project({ "app/a.txt": "a\n".repeat(1000), "app/b.txt": "b\n".repeat(1000), "app/sub/c.txt": "c\n" });
    const build = async () => {
      const image = Image.fromBase(env.baseImage, { root, name: "i12-session/incremental" })
        .withSourceFolder("app", "/app")
        .withCommands(`cat /app/sub/c.txt # ${RUN}`);
      return { image, result: await buildOnEngine(local, image, await context(image), { settings: {}, engine: "local" }) };
    };
    await build();
    const unchanged = await build();
    expect(contextLine(unchanged.result.log)).toMatchObject({ offered: 3, asked: 0, bytes: 0 });
    writeFileSync(path.join(root, "app/sub/c.txt"), "changed\n");
    const changed = await build();
    expect(contextLine(changed.result.log)).toEqual({ offered: 3, asked: 1, bytes: 8 });
    expect(await runImage(changed.result.uri, ["cat", "/app/sub/c.txt"])).toBe("changed");
  });

  it("with SOURCE_DATE_EPOCH (times clamped, so they cannot show an edit), an edit of the same size still reaches the image", async () => {
    const root = project({ "app/v.txt": "version=1\n" });
    const epoch = { ...process.env, SOURCE_DATE_EPOCH: "1000000000" };
    const build = async () => {
      const image = Image.fromBase(env.baseImage, { root, name: "i12-session/clamped" }).withSourceFolder("app", "/app");
      return buildOnEngine(local, image, await context(image), { settings: {}, engine: "local", env: epoch });
    };
    expect(await runImage((await build()).uri, ["cat", "/app/v.txt"])).toBe("version=1");
    writeFileSync(path.join(root, "app/v.txt"), "version=2\n");
    utimesSync(path.join(root, "app/v.txt"), new Date("2020-01-01"), new Date("2020-01-01"));
    expect(await runImage((await build()).uri, ["cat", "/app/v.txt"])).toBe("version=2");
  });

  it("a context larger than what the session keeps on its way at once (4,000 files, a 12 MiB file) arrives whole and in order", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 4000; i++) files[`app/d${i % 50}/f${i}.txt`] = `${i}\n`;
    const root = project(files);
    // Random bytes, so a piece sent twice, dropped or out of order shows in the digest.
    const big = randomBytes(12 * 1024 * 1024);
    writeFileSync(path.join(root, "app/big.bin"), big);
    const image = Image.fromBase(env.baseImage, { root, name: "i14-session/large" }).withSourceFolder("app", "/app");
    const result = await buildOnEngine(local, image, await context(image), { settings: {}, engine: "local" });
    expect(contextLine(result.log)).toMatchObject({ offered: 4001, asked: 4001 });
    const listing = await runImage(result.uri, [
      "sh",
      "-c",
      "sha256sum /app/big.bin | cut -d' ' -f1; find /app -type f | wc -l; find /app -type d | wc -l; cat /app/d7/f2457.txt",
    ]);
    expect(listing.split("\n")).toEqual([createHash("sha256").update(big).digest("hex"), "4001", "51", "2457"]);
  });
});

describe("the context, as the docker CLI's own session offers it", () => {
  it("gives the image the same files, folders, links, sizes and modes as `docker build` (Debian's CLI, BuildKit) of the same folder", async () => {
    const root = project({
      Dockerfile: `FROM ${env.baseImage}\nCOPY . /ctx\n`,
      ".dockerignore": "*.log\nskipped/\n",
      "app/main.py": "print(1)\n",
      "app/run.sh*": "#!/bin/sh\n",
      "app/with space/ünï cødé.txt": "names\n",
      "app/empty/.keep": "",
      "debug.log": "ignored\n",
      "skipped/x.txt": "ignored\n",
      "data.bin": "x".repeat(100_000),
    });
    execFileSync("ln", ["-s", "main.py", path.join(root, "app/link.py")]);
    execFileSync("ln", ["-s", "/etc/hostname", path.join(root, "abs-link")]);
    execFileSync("mkdir", [path.join(root, "app/empty-dir")]);
    const list = "find /ctx -printf '%P|%y|%m|%s|%l\\n' | sort";
    const tag = `i12-session/oracle:${RUN}`;
    await docker(["build", "--quiet", "--tag", tag, root], { env: { DOCKER_BUILDKIT: "1" } });
    const theirs = await runImage(tag, ["sh", "-c", list]);
    const image = Image.fromDockerfile("Dockerfile", { root, name: "i12-session/oracle-ours" });
    const ours = await buildOnEngine(local, image, await context(image), { settings: {}, engine: "local" });
    expect(await runImage(ours.uri, ["sh", "-c", list])).toBe(theirs);
    expect(theirs).toContain("app/link.py|l|777|7|main.py");
    expect(theirs).toContain("app/run.sh|f|755|10|");
    expect(theirs).toContain("app/empty-dir|d|755|");
    expect(theirs).toContain("app/with space/ünï cødé.txt|f|644|6|");
    expect(theirs).not.toContain("debug.log");
    expect(theirs).not.toContain("skipped");
    await docker(["image", "rm", tag]).catch(() => {});
  });
});

describe("cancellation", () => {
  it("closes the session and the build's connection, and the engine stops the step", async () => {
    // Every connection to the engine goes through a proxy that counts them.
    const proxy = await engineProxy(env.dockerHost);
    proxies.push(proxy);
    const { connection, open } = proxy;
    const marker = `i12-cancel-${RUN}`;
    const image = Image.fromBase(env.baseImage, { root: project({}), name: "i12-session/cancel" }).withCommands(
      `echo ${marker}; sleep 300; echo ${marker}-done`,
    );
    const controller = new AbortController();
    const events: BuildEvent[] = [];
    const running = buildOnEngine(connection, image, await context(image, { signal: controller.signal, events }), {
      settings: { noCache: true },
      engine: "proxy",
    }).catch((e: unknown) => e);
    const stepRunning = () =>
      execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
        .split("\n")
        .some((line) => line.includes(`${marker}-done`));
    for (let i = 0; i < 600 && !stepRunning(); i++) await sleep(100);
    expect(stepRunning()).toBe(true);
    expect(open.size).toBeGreaterThanOrEqual(2); // the session and the build
    controller.abort();
    const error = await running;
    expect(error).toMatchObject({ code: "CANCELLED" });
    for (let i = 0; i < 100 && (open.size > 0 || stepRunning()); i++) await sleep(100);
    expect(open.size).toBe(0);
    expect(stepRunning()).toBe(false);
  });
});
