/**
 * BuildKit progress: the Engine API's `moby.buildkit.trace` messages (base64 protobuf `StatusResponse`, decoded by
 * hand below) become step and log events, with cache hits and timings. The whole log is kept, so a failure can show the tail of the step that failed and where it came from.
 */

import type { BuildEvent } from "@imagespec/core/authoring";
import type { StepOrigin } from "./plan.js";
import { ProtoReader as Reader } from "./protobuf.js";

// ------------------------------------------------------------------------------------------------ protobuf

export interface BuildkitVertex {
  readonly digest: string;
  readonly name: string;
  readonly cached: boolean;
  /** Milliseconds since the epoch. */
  readonly started?: number;
  readonly completed?: number;
  readonly error?: string;
}

export interface BuildkitVertexStatus {
  readonly id: string;
  readonly vertex: string;
  readonly name: string;
  readonly current: number;
  readonly total: number;
  readonly completed?: number;
}

export interface BuildkitLog {
  readonly vertex: string;
  readonly stream: number;
  readonly data: Uint8Array;
}

export interface BuildkitWarning {
  readonly vertex: string;
  readonly short: string;
}

export interface BuildkitStatus {
  readonly vertexes: BuildkitVertex[];
  readonly statuses: BuildkitVertexStatus[];
  readonly logs: BuildkitLog[];
  readonly warnings: BuildkitWarning[];
}

const text = new TextDecoder();

function readTimestamp(r: Reader): number {
  let seconds = 0;
  let nanos = 0;
  r.fields((n, w) => {
    if (n === 1 && w === 0) seconds = r.varint();
    else if (n === 2 && w === 0) nanos = r.varint();
    else return false;
    return true;
  });
  return seconds * 1000 + Math.floor(nanos / 1e6);
}

function readVertex(r: Reader): BuildkitVertex {
  const v: { -readonly [K in keyof BuildkitVertex]: BuildkitVertex[K] } = { digest: "", name: "", cached: false };
  r.fields((n, w) => {
    if (w === 2 && n === 1) v.digest = text.decode(r.bytes());
    else if (w === 2 && n === 3) v.name = text.decode(r.bytes());
    else if (w === 0 && n === 4) v.cached = r.varint() !== 0;
    else if (w === 2 && n === 5) v.started = r.message(readTimestamp);
    else if (w === 2 && n === 6) v.completed = r.message(readTimestamp);
    else if (w === 2 && n === 7) v.error = text.decode(r.bytes());
    else return false;
    return true;
  });
  return v;
}

function readVertexStatus(r: Reader): BuildkitVertexStatus {
  const s: { -readonly [K in keyof BuildkitVertexStatus]: BuildkitVertexStatus[K] } = { id: "", vertex: "", name: "", current: 0, total: 0 };
  r.fields((n, w) => {
    if (w === 2 && n === 1) s.id = text.decode(r.bytes());
    else if (w === 2 && n === 2) s.vertex = text.decode(r.bytes());
    else if (w === 2 && n === 3) s.name = text.decode(r.bytes());
    else if (w === 0 && n === 4) s.current = r.varint();
    else if (w === 0 && n === 5) s.total = r.varint();
    else if (w === 2 && n === 8) s.completed = r.message(readTimestamp);
    else return false;
    return true;
  });
  return s;
}

function readLog(r: Reader): BuildkitLog {
  let vertex = "";
  let stream = 0;
  let data: Uint8Array = new Uint8Array();
  r.fields((n, w) => {
    if (w === 2 && n === 1) vertex = text.decode(r.bytes());
    else if (w === 0 && n === 3) stream = r.varint();
    else if (w === 2 && n === 4) data = r.bytes();
    else return false;
    return true;
  });
  return { vertex, stream, data };
}

function readWarning(r: Reader): BuildkitWarning {
  let vertex = "";
  let short = "";
  r.fields((n, w) => {
    if (w === 2 && n === 1) vertex = text.decode(r.bytes());
    else if (w === 2 && n === 3) short = text.decode(r.bytes());
    else return false;
    return true;
  });
  return { vertex, short };
}

/** Decodes one `moby.buildkit.v1.StatusResponse` (the `aux` of a `moby.buildkit.trace` message, base64-decoded). */
export function decodeStatusResponse(bytes: Uint8Array): BuildkitStatus {
  const status: BuildkitStatus = { vertexes: [], statuses: [], logs: [], warnings: [] };
  const r = new Reader(bytes);
  r.fields((n, w) => {
    if (w !== 2) return false;
    if (n === 1) status.vertexes.push(r.message(readVertex));
    else if (n === 2) status.statuses.push(r.message(readVertexStatus));
    else if (n === 3) status.logs.push(r.message(readLog));
    else if (n === 4) status.warnings.push(r.message(readWarning));
    else return false;
    return true;
  });
  return status;
}

// ------------------------------------------------------------------------------------------------ tracking

interface VertexState {
  readonly id: string;
  /** `#n` in the log, in order of appearance. */
  readonly number: number;
  name: string;
  started?: number;
  completed?: number;
  durationMs?: number;
  cached: boolean;
  error?: string;
  reported?: "started" | "done" | "cached" | "failed";
  readonly lines: string[];
  partial: string;
}

export interface StepFailure {
  readonly name: string;
  readonly error: string | undefined;
  readonly origin: StepOrigin | undefined;
  readonly logTail: readonly string[];
}

/** BuildKit's vertex for reading one `cacheFrom` image. */
const CACHE_IMPORT = /^importing cache manifest from (.+)$/;
/** `[stage n/m] ...` or `[n/m] ...`; BuildKit pads `n` to the width of `m` (`[build  9/13]`). */
const STEP_NAME = /^\[(?:(\S+) +)? *(\d+)\/(\d+)\] (.*)$/s;

/** Turns vertex updates into BuildEvents and keeps the whole log. */
export class BuildProgress {
  readonly #report: (event: BuildEvent) => void;
  readonly #steps: readonly StepOrigin[];
  readonly #helperStages: ReadonlySet<string>;
  readonly #vertexes = new Map<string, VertexState>();
  readonly #log: string[] = [];

  constructor(report: (event: BuildEvent) => void, steps: readonly StepOrigin[]) {
    this.#report = report;
    this.#steps = steps;
    this.#helperStages = new Set(steps.map((s) => s.stage).filter((s): s is string => s !== undefined));
  }

  #vertex(id: string): VertexState {
    let v = this.#vertexes.get(id);
    if (!v) {
      v = { id, number: this.#vertexes.size + 1, name: "", cached: false, lines: [], partial: "" };
      this.#vertexes.set(id, v);
    }
    return v;
  }

  /** A vertex appeared or changed (Engine API: times in ms since the epoch; CLI: a duration). */
  vertex(update: { id: string; name?: string; cached?: boolean; started?: number; completed?: number; durationMs?: number; error?: string }): void {
    const v = this.#vertex(update.id);
    const isNew = v.name === "" && update.name;
    if (update.name) v.name = update.name;
    if (isNew) this.#log.push(`#${v.number} ${v.name}`);
    if (update.started !== undefined) v.started = update.started;
    if (update.cached) v.cached = true;
    if (update.completed !== undefined) v.completed = update.completed;
    if (update.durationMs !== undefined) v.durationMs = update.durationMs;
    if (update.error) v.error = update.error;
    const duration = v.durationMs ?? (v.started !== undefined && v.completed !== undefined ? Math.max(0, v.completed - v.started) : undefined);

    let status: VertexState["reported"];
    if (v.error) status = "failed";
    else if (v.cached && (v.completed !== undefined || update.cached)) status = "cached";
    else if (v.completed !== undefined || update.durationMs !== undefined) status = "done";
    else if (v.started !== undefined || update.name) status = "started";
    if (status === undefined || status === v.reported || !v.name) return;
    if (status !== "started") this.#flushPartial(v);
    v.reported = status;
    if (status === "failed") {
      this.#log.push(`#${v.number} ERROR: ${v.error}`);
      const cacheImage = CACHE_IMPORT.exec(v.name)?.[1];
      if (cacheImage !== undefined) this.warning(`Cannot use the build cache of ${cacheImage} (cacheFrom): ${v.error}; the build goes on without it`);
    } else if (status === "cached") this.#log.push(`#${v.number} CACHED`);
    else if (status === "done") this.#log.push(`#${v.number} DONE${duration === undefined ? "" : ` ${(duration / 1000).toFixed(1)}s`}`);
    this.#report({ type: "step", id: v.id, name: v.name, status, ...(status !== "started" && duration !== undefined && { durationMs: duration }) });
  }

  /** Output of a vertex (a RUN step's stdout/stderr), possibly in pieces that split lines. */
  output(vertexId: string, data: string): void {
    const v = this.#vertex(vertexId);
    const textSoFar = v.partial + data.replace(/\r\n/g, "\n");
    const parts = textSoFar.split(/[\n\r]/);
    v.partial = parts.pop() ?? "";
    for (const line of parts) this.#logLine(v, line);
  }

  #flushPartial(v: VertexState): void {
    if (v.partial) this.#logLine(v, v.partial);
    v.partial = "";
  }

  #logLine(v: VertexState, line: string): void {
    v.lines.push(line);
    this.#log.push(`#${v.number} ${line}`);
    this.#report({ type: "log", line: v.name ? `${shortName(v.name)} | ${line}` : line });
  }

  /** A line that belongs to no step (the engine's own messages). */
  line(line: string): void {
    this.#log.push(line);
    this.#report({ type: "log", line });
  }

  warning(message: string): void {
    this.#log.push(`WARNING: ${message}`);
    this.#report({ type: "warning", message });
  }

  /** Applies a decoded StatusResponse. */
  status(status: BuildkitStatus): void {
    for (const v of status.vertexes) {
      this.vertex({
        id: v.digest,
        name: v.name,
        cached: v.cached,
        ...(v.started !== undefined && { started: v.started }),
        ...(v.completed !== undefined && { completed: v.completed }),
        ...(v.error && { error: v.error }),
      });
    }
    for (const log of status.logs) this.output(log.vertex, text.decode(log.data));
    for (const warning of status.warnings) if (warning.short) this.warning(warning.short);
  }

  get log(): string {
    for (const v of this.#vertexes.values()) this.#flushPartial(v);
    return this.#log.join("\n");
  }

  /**
   * True when every step of the Dockerfile came from the cache. `FROM` steps are left out: BuildKit resolves a base
   * (by platform, when the base is an index) on every build and does not always mark it cached, though nothing is built.
   */
  get allCached(): boolean {
    const steps = [...this.#vertexes.values()].filter((v) => STEP_NAME.test(v.name) && !/^FROM /.test(STEP_NAME.exec(v.name)?.[4] ?? ""));
    return steps.length > 0 && steps.every((v) => v.cached);
  }

  /** Where a step came from: its stage and number, checked against the instruction's keyword. */
  origin(name: string): StepOrigin | undefined {
    const match = STEP_NAME.exec(name);
    if (!match) return undefined;
    const [, stage, n, , rest = ""] = match;
    const helper = stage !== undefined && this.#helperStages.has(stage) ? stage : undefined;
    const byNumber = this.#steps.find((s) => s.stage === helper && s.number === Number(n));
    if (byNumber && rest.startsWith(byNumber.keyword)) return byNumber;
    return this.#steps.find((s) => s.stage === helper && s.instruction === rest);
  }

  /** The step that failed (the first with an error), with its origin and the tail of its output. */
  failure(tailLines = 30): StepFailure | undefined {
    for (const v of this.#vertexes.values()) this.#flushPartial(v);
    // A cacheFrom image that cannot be read fails its own vertex, and BuildKit builds on without it: not a failure.
    const failed = [...this.#vertexes.values()].find((v) => v.error && !CACHE_IMPORT.test(v.name));
    if (!failed) return undefined;
    return { name: failed.name, error: failed.error, origin: this.origin(failed.name), logTail: failed.lines.slice(-tailLines) };
  }
}

function shortName(name: string): string {
  const match = STEP_NAME.exec(name);
  return match ? `[${match[1] ? `${match[1]} ` : ""}${match[2]}/${match[3]}]` : name.length > 40 ? `${name.slice(0, 37)}...` : name;
}
