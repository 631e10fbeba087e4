/**
 * Build progress on stderr: one line per image with its state. On a terminal the lines are redrawn in place
 * with the current BuildKit steps of each image underneath; in CI (or without a terminal) every change is a
 * plain line of its own, so logs read top to bottom.
 */

import type { BuildEvent, EngineEvent } from "@imagespec/core";
import { type Output, terminalSafe } from "./output.js";

interface Step {
  readonly id: string;
  name: string;
  status: "started" | "done" | "cached" | "failed";
  durationMs: number | undefined;
}

interface ImageState {
  readonly uri: string;
  readonly name: string;
  status: string;
  /** With `built`: whether the builder pushed it. */
  pushed: boolean | undefined;
  builder: string | undefined;
  reason: string | undefined;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  readonly steps: Map<string, Step>;
  readonly log: string[];
}

const LOG_TAIL = 25;
const LIVE_STEPS = 6;
/** The spinner of live progress lines (build progress and hashing progress). */
export const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FINAL = new Set(["built", "skipped", "failed", "planned"]);

export class Progress {
  readonly #out: Output;
  readonly #names: ReadonlyMap<string, string>;
  readonly #images = new Map<string, ImageState>();
  #drawn = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: Output, names: ReadonlyMap<string, string>) {
    this.#out = out;
    this.#names = names;
    if (out.live) {
      this.#timer = setInterval(() => {
        this.#frame++;
        this.#draw();
      }, 100);
      this.#timer.unref();
    }
  }

  /** The engine's onEvent. */
  readonly onEvent = (event: EngineEvent): void => {
    if (event.type === "warning") {
      this.#print(`${this.#out.style.yellow("warning:")} ${event.message}`);
      return;
    }
    const state = this.#state(event.uri);
    if (event.type === "image") this.#onImage(state, event);
    else this.#onBuild(state, event.event);
  };

  /** The last lines a builder logged for an image, for failure reports. */
  logTail(uri: string): readonly string[] {
    return this.#images.get(uri)?.log ?? [];
  }

  /** Stops redrawing and leaves the final state on screen. */
  finish(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.#out.live) return;
    this.#draw();
    this.#drawn = 0;
    if (this.#out.debug) return;
    for (const state of this.#images.values()) if (state.status === "failed") this.#printTail(state);
  }

  #state(uri: string): ImageState {
    let state = this.#images.get(uri);
    if (!state) {
      state = {
        uri,
        name: this.#names.get(uri) ?? uri,
        status: "queued",
        pushed: undefined,
        builder: undefined,
        reason: undefined,
        startedAt: undefined,
        finishedAt: undefined,
        steps: new Map(),
        log: [],
      };
      this.#images.set(uri, state);
    }
    return state;
  }

  #onImage(state: ImageState, event: Extract<EngineEvent, { type: "image" }>): void {
    state.status = event.status;
    state.pushed = event.pushed ?? state.pushed;
    state.builder = event.builder ?? state.builder;
    state.reason = event.reason;
    if (event.status === "building") state.startedAt = Date.now();
    if (FINAL.has(event.status)) state.finishedAt = Date.now();
    if (this.#out.live) {
      this.#draw();
      return;
    }
    if (event.status === "queued" || event.status === "checking") return;
    this.#out.err(this.#imageLine(state, false));
    if (event.status === "failed" && !this.#out.debug) this.#printTail(state);
  }

  #onBuild(state: ImageState, event: BuildEvent): void {
    const { style } = this.#out;
    if (event.type === "log") {
      state.log.push(event.line);
      if (state.log.length > LOG_TAIL) state.log.shift();
      if (this.#out.debug) this.#print(`${state.name}: ${style.dim("|")} ${event.line}`);
      return;
    }
    if (event.type === "warning") {
      this.#print(`${style.yellow("warning:")} ${state.name}: ${event.message}`);
      return;
    }
    let step = state.steps.get(event.id);
    if (!step) {
      step = { id: event.id, name: event.name, status: event.status, durationMs: event.durationMs };
      state.steps.set(event.id, step);
    }
    step.name = event.name || step.name;
    step.status = event.status;
    step.durationMs = event.durationMs ?? step.durationMs;
    if (this.#out.live) {
      this.#draw();
      return;
    }
    if (event.status !== "started") this.#out.err(`${state.name}:   ${this.#stepLine(step, false)}`);
  }

  /** A line that is not part of the live region: printed above it. */
  #print(line: string): void {
    if (!this.#out.live) {
      this.#out.err(line);
      return;
    }
    this.#clear();
    this.#out.err(line);
    this.#draw();
  }

  #printTail(state: ImageState): void {
    // A reason of several lines is a builder explaining the failure itself (usually with its own log tail).
    if (state.log.length === 0 || state.reason?.includes("\n")) return;
    this.#out.err(this.#out.style.dim(`  last ${state.log.length} log line(s) of ${state.name}:`));
    for (const line of state.log) this.#out.err(`    ${line}`);
  }

  #clear(): void {
    if (this.#drawn > 0) this.#out.stderr.write(`\x1b[${this.#drawn}F\x1b[0J`);
    this.#drawn = 0;
  }

  #draw(): void {
    const width = Math.max(40, (this.#out.stderr.columns || 100) - 1);
    // Cursor movement cannot reach above the top of the screen: the region must fit in it.
    const height = Math.max(3, (this.#out.stderr.rows || 24) - 2);
    const images = [...this.#images.values()].map((state) => this.#imageLine(state, true, width));
    let lines: string[] = [];
    for (const [i, state] of [...this.#images.values()].entries()) {
      lines.push(images[i]!);
      if (state.status === "building") {
        const steps = [...state.steps.values()].slice(-LIVE_STEPS);
        for (const step of steps) lines.push(`    ${this.#stepLine(step, true, width - 4)}`);
      }
    }
    if (lines.length > height) lines = images;
    if (lines.length > height) lines = [...lines.slice(0, height - 1), this.#out.style.dim(`… and ${lines.length - height + 1} more`)];
    this.#clear();
    if (lines.length > 0) this.#out.stderr.write(`${terminalSafe(lines.join("\n"))}\n`);
    this.#drawn = lines.length;
  }

  #imageLine(state: ImageState, live: boolean, width = Number.POSITIVE_INFINITY): string {
    const { style } = this.#out;
    const symbol =
      state.status === "built"
        ? style.green("✓")
        : state.status === "skipped"
          ? style.cyan("=")
          : state.status === "failed"
            ? style.red("✗")
            : state.status === "planned"
              ? style.yellow("+")
              : live && state.status === "building"
                ? style.cyan(FRAMES[this.#frame % FRAMES.length]!)
                : style.dim("·");
    const seconds =
      state.startedAt !== undefined && (live || state.finishedAt !== undefined)
        ? ` ${(((state.finishedAt ?? Date.now()) - state.startedAt) / 1000).toFixed(1)}s`
        : "";
    // Also for built and building images: a tag that was there but incomplete (an index missing a platform) is rebuilt.
    const reason = state.status !== "queued" && state.status !== "checking" && state.reason ? `: ${state.reason}` : "";
    const status = state.status === "built" && state.pushed ? "built and pushed" : state.status;
    const text = `${state.name} ${status} ${state.uri}${state.builder ? ` (${state.builder})` : ""}${seconds}${reason}`;
    const shown = live ? firstLine(text, width - 2) : text;
    const colour = state.status === "failed" ? style.red : state.status === "built" ? style.green : (s: string) => s;
    return live ? `${symbol} ${colour(shown)}` : `${state.name}: ${colour(text.slice(state.name.length + 1))}`;
  }

  #stepLine(step: Step, live: boolean, width = Number.POSITIVE_INFINITY): string {
    const { style } = this.#out;
    const time = step.durationMs !== undefined ? ` ${(step.durationMs / 1000).toFixed(1)}s` : "";
    const label = step.status === "started" ? "" : ` ${step.status}`;
    const name = this.#out.debug ? step.name : shortStepName(step.name);
    const text = live ? firstLine(`${name}${label}${time}`, width - 2) : `${name}${label}${time}`;
    const mark = step.status === "failed" ? style.red("✗") : step.status === "started" ? style.cyan(FRAMES[this.#frame % FRAMES.length]!) : style.green("✓");
    return live ? `${mark} ${step.status === "failed" ? style.red(text) : style.dim(text)}` : text;
  }
}

const STEP_NAME_MAX = 100;

/**
 * A BuildKit step as a log line worth reading: `RUN` without its `--mount=...` options, an exec-form
 * `["/bin/sh","-c","..."]` as the command itself, imagespec's own environment set-up named rather than shown, and
 * at most about 100 characters. --debug shows steps as BuildKit names them.
 */
export function shortStepName(name: string): string {
  const match = /^(\[[^\]]*\]\s+)?RUN\s+((?:--[a-z-]+=\S+\s+)*)(.*)$/s.exec(name);
  let text = name;
  if (match) {
    let command = match[3]!.trim();
    if (command.startsWith("[")) {
      try {
        const argv = JSON.parse(command) as unknown;
        if (Array.isArray(argv) && argv.every((a): a is string => typeof a === "string")) {
          const [shell, flag, script] = argv as string[];
          command = argv.length === 3 && /^\/bin\/(?:ba)?sh$/.test(shell!) && flag === "-c" ? script! : argv.join(" ");
        }
      } catch {}
    }
    const venv = /^if \[ ! -x (\S+)\/bin\/python \]/.exec(command);
    const python = /^command -v python3 .*pythonVersion (\S+?),/s.exec(command);
    if (venv) command = `(create the Python environment ${venv[1]})`;
    else if (python) command = `(check that the base has Python ${python[1]})`;
    text = `${match[1] ?? ""}RUN ${command}`;
  }
  text = text.replace(/\s*\n\s*/g, " ");
  return text.length > STEP_NAME_MAX ? `${text.slice(0, STEP_NAME_MAX - 1)}…` : text;
}

/** One line that fits the terminal, so the live region's line count stays exact. */
export function firstLine(text: string, width: number): string {
  const line = text.split("\n")[0]!;
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}
