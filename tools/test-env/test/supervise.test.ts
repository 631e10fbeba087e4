/**
 * tools/test-env/supervise, which keeps the test environment's dockerds running through a crash, tried on a
 * harmless child (sleep) so that no test here stops the engine other packages are building on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineCrashTimes, retryWhenEngineLost } from "../src/retry.js";

const SUPERVISE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../supervise");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "imagespec-supervise-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls (every 100 ms, at most `ms`) until `check` returns a value. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const value = await check();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function childPid(pidfile: string, not?: number): Promise<number> {
  return until("the child's pid file", async () => {
    const pid = Number((await readFile(pidfile, "utf8").catch(() => "")).trim());
    return pid > 0 && pid !== not && alive(pid) ? pid : undefined;
  });
}

/** `supervise ARGS...` with its stdout and stderr collected. */
function supervise(...args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn("bash", [SUPERVISE, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe("supervise", () => {
  it("starts the command again when it dies, and says so", async () => {
    const pidfile = path.join(dir, "restart.pid");
    const sv = supervise(pidfile, "sleep", "300");
    try {
      const first = await childPid(pidfile);
      process.kill(first, "SIGKILL");
      const second = await childPid(pidfile, first);
      expect(second).not.toBe(first);
      expect(sv.output()).toMatch(new RegExp(`^supervise: sleep \\(pid ${first}\\) exited with code 137 at \\S+; restarting it$`, "m"));
    } finally {
      sv.child.kill("SIGTERM");
      await sv.exited;
    }
  });

  it("--companion: stops what the command left running in a session of its own before it starts it again", async () => {
    const pidfile = path.join(dir, "daemon.pid");
    const companionFile = path.join(dir, "companion.pid");
    // Like dockerd and its containerd: the companion runs in its own session, so it outlives the daemon.
    const daemon = `setsid sleep 300 & echo $! >${JSON.stringify(companionFile)}; exec sleep 300`;
    const sv = supervise("--companion", companionFile, pidfile, "bash", "-c", daemon);
    try {
      const first = await childPid(pidfile);
      const companion = await childPid(companionFile);
      process.kill(first, "SIGKILL");
      await until("the companion to stop", () => (alive(companion) ? undefined : true));
      expect(sv.output()).toContain(`supervise: stopping bash's companion (pid ${companion}, from ${companionFile})`);
      await childPid(pidfile, first);
    } finally {
      sv.child.kill("SIGTERM");
      await sv.exited;
    }
  });

  it("on SIGTERM stops the command, waits for it, removes the pid file and exits 0", async () => {
    const pidfile = path.join(dir, "stop.pid");
    const sv = supervise(pidfile, "sleep", "300");
    const pid = await childPid(pidfile);
    sv.child.kill("SIGTERM");
    expect(await sv.exited).toBe(0);
    expect(alive(pid)).toBe(false);
    await expect(readFile(pidfile, "utf8")).rejects.toThrow(/ENOENT/);
    expect(sv.output()).not.toMatch(/restarting/);
  });

  it("gives up with exit 1 after three exits in a row within 10 s of starting", async () => {
    const sv = supervise(path.join(dir, "giveup.pid"), "false");
    expect(await sv.exited).toBe(1);
    expect(sv.output().match(/restarting it$/gm)).toHaveLength(2);
    expect(sv.output()).toMatch(/^supervise: false exited \(code 1\) 3 times within 10 s of starting; not restarting it again$/m);
  });
});

describe("retrying a test that a crashed engine failed", () => {
  const lost = [
    "Cannot build app: no Docker engine answers at unix:///var/run/docker.sock (connect ECONNREFUSED /var/run/docker.sock)",
    "Cannot build app: the engine unix:///var/run/docker.sock went away while building (socket hang up)",
    "Cannot run docker push x: exit code 1\nCannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
  ];
  const real = ["expected 'hello' to be 'world'", "Cannot build app: step 3/5 failed: RUN pip install nope (exit code 1)", "INVALID_SPEC: packages[0]"];
  const start = Date.parse("2026-11-22T14:00:00Z");

  it("retries once, 10 s later, a failure that says an engine went away, and no other while no engine crashed", () => {
    const retry = retryWhenEngineLost(start, () => []);
    expect(retry).toMatchObject({ count: 1, delay: 10_000 });
    expect(lost.map((message) => retry.condition({ message }))).toEqual([true, true, true]);
    expect(real.map((message) => retry.condition({ message }))).toEqual([false, false, false]);
  });

  it("retries any failure when an engine crashed while the test ran or just before it started", () => {
    const unclear = { message: "expected 'ENVIRONMENT' to be 'BUILD_FAILED'" };
    expect(retryWhenEngineLost(start, () => [start + 3_000]).condition(unclear)).toBe(true);
    expect(retryWhenEngineLost(start, () => [start - 5_000]).condition(unclear)).toBe(true);
    expect(retryWhenEngineLost(start, () => [start - 60_000]).condition(unclear)).toBe(false);
  });

  it("is given to each test by tools/test-env/runner.ts, this package's vitest runner", ({ task }) => {
    expect(task.retry).toMatchObject({ count: 1, delay: 10_000, condition: expect.any(Function) });
  });

  it("reads the crash times from both engines' logs, where supervise wrote them", async () => {
    const state = path.join(dir, "state");
    await mkdir(path.join(state, "remote-engine"), { recursive: true });
    await writeFile(
      path.join(state, "dockerd.log"),
      [
        'time="2026-11-22T14:01:15Z" level=info msg="Starting up"',
        "panic: failed to get edge",
        "supervise: dockerd (pid 16192) exited with code 2 at 2026-11-22T14:01:16Z; restarting it",
        "supervise: stopping dockerd's companion (pid 16208, from /var/run/docker/containerd/containerd.pid)",
      ].join("\n"),
    );
    await writeFile(
      path.join(state, "remote-engine", "dockerd.log"),
      "supervise: dockerd (pid 7) exited with code 137 at 2026-11-22T15:00:00Z; restarting it\n",
    );
    expect(engineCrashTimes(state)).toEqual([Date.parse("2026-11-22T14:01:16Z"), Date.parse("2026-11-22T15:00:00Z")]);
    expect(engineCrashTimes(path.join(dir, "missing"))).toEqual([]);
  });
});
