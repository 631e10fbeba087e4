/**
 * The pool's scheduler. A build takes a slot on the least busy engine (running builds over its limit; ties: fewer
 * running, then the order of the configuration), after a health check. An engine that fails the check is skipped and
 * the next one is tried; it is then tried last for a while, never forgotten: when every engine fails, the error lists
 * each with its reason. When every engine that answers is full, the build waits for a free slot.
 *
 * The slot is taken before the health check, so builds that start together spread over the engines instead of all
 * choosing the same idle one.
 */

import type { ResolvedEngine } from "./config.js";

/** How long an engine that failed stays at the back of the queue. */
export const COOLDOWN_MS = 30_000;

interface EngineState {
  readonly engine: ResolvedEngine;
  readonly index: number;
  running: number;
  /** The last failure, and until when the engine is tried last. */
  failure: { reason: string; kind: "config" | "down"; until: number } | undefined;
  /** Builds started here, for stats. */
  started: number;
}

export interface Lease<T> {
  readonly engine: ResolvedEngine;
  /** What the health check returned (the open connection). */
  readonly value: T;
  /** Gives the slot back; marks the engine failed when a reason is given. Idempotent. */
  release(failure?: { reason: string; kind: "config" | "down" }): void;
}

export interface Refusal {
  readonly engine: ResolvedEngine;
  readonly reason: string;
  /** `unsuitable`: the engine works but cannot take this build (a platform it cannot run); no cool-down. */
  readonly kind: "config" | "down" | "unsuitable";
}

/** Thrown when no engine could take the build: every one (not excluded) failed its check. */
export class NoEngineAvailable extends Error {
  constructor(readonly refusals: readonly Refusal[]) {
    super(refusals.map((r) => `${r.engine.name}: ${r.reason}`).join("; "));
    this.name = "NoEngineAvailable";
  }
}

export interface AcquireOptions<T> {
  /** Engines not to use (the one a build was just lost on). */
  readonly exclude?: ReadonlySet<string>;
  readonly signal: AbortSignal;
  /** The health check: resolves to the connection, rejects with a reason (and `kind`) when the engine cannot be used. */
  readonly check: (engine: ResolvedEngine) => Promise<T>;
  /** Told about each engine skipped on the way. */
  readonly onSkip?: (refusal: Refusal) => void;
}

export class EnginePool {
  readonly #states: EngineState[];
  #waiters: (() => void)[] = [];
  readonly #now: () => number;

  constructor(engines: readonly ResolvedEngine[], now: () => number = Date.now) {
    this.#states = engines.map((engine, index) => ({ engine, index, running: 0, failure: undefined, started: 0 }));
    this.#now = now;
  }

  /** Running builds and builds started, per engine name. */
  stats(): Record<string, { running: number; started: number; maxBuilds: number }> {
    return Object.fromEntries(this.#states.map((s) => [s.engine.name, { running: s.running, started: s.started, maxBuilds: s.engine.maxBuilds }]));
  }

  /** Engines in the order a build should try them: healthy before recently failed, then least busy. */
  #order(exclude: ReadonlySet<string>): EngineState[] {
    const now = this.#now();
    return this.#states
      .filter((s) => !exclude.has(s.engine.name))
      .sort(
        (a, b) =>
          Number(a.failure !== undefined && a.failure.until > now) - Number(b.failure !== undefined && b.failure.until > now) ||
          a.running / a.engine.maxBuilds - b.running / b.engine.maxBuilds ||
          a.running - b.running ||
          a.index - b.index,
      );
  }

  async acquire<T>(options: AcquireOptions<T>): Promise<Lease<T>> {
    const exclude = options.exclude ?? new Set<string>();
    for (;;) {
      if (options.signal.aborted) throw options.signal.reason ?? new Error("aborted");
      const refusals: Refusal[] = [];
      let full = 0;
      for (const state of this.#order(exclude)) {
        if (state.running >= state.engine.maxBuilds) {
          full++;
          continue;
        }
        state.running++;
        try {
          const value = await options.check(state.engine);
          state.failure = undefined;
          state.started++;
          return this.#lease(state, value);
        } catch (error) {
          // No wake-up for waiters: the slot is free again, but on an engine that just failed.
          state.running--;
          const given = (error as { kind?: unknown }).kind;
          const kind = given === "config" || given === "unsuitable" ? given : "down";
          const reason = (error as Error).message || String(error);
          if (kind === "unsuitable") this.#notify();
          else state.failure = { reason, kind, until: this.#now() + COOLDOWN_MS };
          const refusal = { engine: state.engine, reason, kind } as const;
          refusals.push(refusal);
          options.onSkip?.(refusal);
          if (options.signal.aborted) throw options.signal.reason ?? error;
        }
      }
      // Engines that were full may have answered had they had room: wait for one of them rather than fail.
      if (full === 0) throw new NoEngineAvailable(refusals);
      await this.#waitForSlot(options.signal);
    }
  }

  #lease<T>(state: EngineState, value: T): Lease<T> {
    let released = false;
    return {
      engine: state.engine,
      value,
      release: (failure) => {
        if (released) return;
        released = true;
        state.running--;
        if (failure) state.failure = { ...failure, until: this.#now() + COOLDOWN_MS };
        this.#notify();
      },
    };
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #waitForSlot(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(signal.reason ?? new Error("aborted"));
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#waiters.push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
