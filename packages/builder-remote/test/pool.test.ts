/** The scheduler alone, with a faked health check (the real engines are in remote.test.ts). */
import { describe, expect, it } from "vitest";
import type { ResolvedEngine } from "../src/config.js";
import { EnginePool, NoEngineAvailable } from "../src/pool.js";

function engine(name: string, maxBuilds = 1): ResolvedEngine {
  return { name, address: `tcp://${name}:2376`, maxBuilds, platforms: [], transport: { kind: "tcp", host: name, port: 2376, tls: false } };
}

const ok = async (e: ResolvedEngine) => e.name;
const never = new AbortController().signal;

describe("the engine pool", () => {
  it("takes the least busy engine (running over its limit), ties in configuration order", async () => {
    const pool = new EnginePool([engine("a", 2), engine("b", 1), engine("c", 4)]);
    const names: string[] = [];
    const leases = [];
    for (let i = 0; i < 7; i++) {
      const lease = await pool.acquire({ signal: never, check: ok });
      names.push(lease.value);
      leases.push(lease);
    }
    // Loads before each pick: all idle → a; b 0/1, c 0/4 → b; c; c (1/4 < a 1/2); a 1/2 = c 2/4, fewer running → a; c; c.
    expect(names).toEqual(["a", "b", "c", "c", "a", "c", "c"]);
    expect(pool.stats()).toEqual({
      a: { running: 2, started: 2, maxBuilds: 2 },
      b: { running: 1, started: 1, maxBuilds: 1 },
      c: { running: 4, started: 4, maxBuilds: 4 },
    });
    for (const lease of leases) lease.release();
    expect(Object.values(pool.stats()).map((s) => s.running)).toEqual([0, 0, 0]);
  });

  it("never runs more builds on an engine than its limit: the next build waits for a slot", async () => {
    const pool = new EnginePool([engine("a", 1), engine("b", 1)]);
    const first = await pool.acquire({ signal: never, check: ok });
    const second = await pool.acquire({ signal: never, check: ok });
    expect([first.value, second.value]).toEqual(["a", "b"]);
    let third: string | undefined;
    const waiting = pool.acquire({ signal: never, check: ok }).then((lease) => {
      third = lease.value;
      return lease;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(third).toBeUndefined();
    second.release();
    const lease = await waiting;
    expect(third).toBe("b");
    expect(pool.stats().b?.running).toBe(1);
    lease.release();
    first.release();
  });

  it("skips an engine that fails its check, tries it last for a while, and says why", async () => {
    const pool = new EnginePool([engine("down"), engine("up")]);
    const checked: string[] = [];
    const skipped: string[] = [];
    const check = async (e: ResolvedEngine) => {
      checked.push(e.name);
      if (e.name === "down") throw Object.assign(new Error("it refuses connections"), { kind: "down" });
      return e.name;
    };
    const lease = await pool.acquire({ signal: never, check, onSkip: (r) => skipped.push(`${r.engine.name}: ${r.reason}`) });
    expect(lease.value).toBe("up");
    expect(skipped).toEqual(["down: it refuses connections"]);
    lease.release();
    checked.length = 0;
    // Within the cool-down the failed engine goes last, even though both are idle.
    const again = await pool.acquire({ signal: never, check });
    expect(checked).toEqual(["up"]);
    again.release();
  });

  it("fails with every engine and its reason when none can take the build", async () => {
    const pool = new EnginePool([engine("a"), engine("b")]);
    const check = async (e: ResolvedEngine): Promise<string> => {
      throw Object.assign(new Error(`${e.name} is broken`), { kind: e.name === "a" ? "config" : "down" });
    };
    const error = await pool.acquire({ signal: never, check }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoEngineAvailable);
    expect((error as NoEngineAvailable).refusals.map((r) => [r.engine.name, r.reason, r.kind])).toEqual([
      ["a", "a is broken", "config"],
      ["b", "b is broken", "down"],
    ]);
  });

  it("leaves out an excluded engine (where a build was just lost)", async () => {
    const pool = new EnginePool([engine("a"), engine("b")]);
    const lease = await pool.acquire({ signal: never, check: ok, exclude: new Set(["a"]) });
    expect(lease.value).toBe("b");
    lease.release();
    const none = await pool.acquire({ signal: never, check: ok, exclude: new Set(["a", "b"]) }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(NoEngineAvailable);
    expect((none as NoEngineAvailable).refusals).toEqual([]);
  });

  it("marks an engine failed when a lease is given back with a reason", async () => {
    const pool = new EnginePool([engine("a"), engine("b")]);
    const lease = await pool.acquire({ signal: never, check: ok });
    expect(lease.value).toBe("a");
    lease.release({ reason: "it went away", kind: "down" });
    lease.release(); // idempotent
    expect(pool.stats().a?.running).toBe(0);
    const next = await pool.acquire({ signal: never, check: ok });
    expect(next.value).toBe("b");
    next.release();
  });

  it("stops waiting for a slot when the build is cancelled", async () => {
    const pool = new EnginePool([engine("a")]);
    const held = await pool.acquire({ signal: never, check: ok });
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal, check: ok });
    setTimeout(() => controller.abort(), 20);
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
    held.release();
    const after = await pool.acquire({ signal: never, check: ok });
    expect(after.value).toBe("a");
    after.release();
  });

  it("spreads builds that start together: the slot is taken before the health check", async () => {
    const pool = new EnginePool([engine("a"), engine("b")]);
    const slowCheck = async (e: ResolvedEngine) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return e.name;
    };
    const [x, y] = await Promise.all([pool.acquire({ signal: never, check: slowCheck }), pool.acquire({ signal: never, check: slowCheck })]);
    expect([x.value, y.value].sort()).toEqual(["a", "b"]);
  });
});
