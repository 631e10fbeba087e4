/**
 * Progress while the tag's files are hashed, on stderr. A cold hash of a large folder (a monorepo, a model
 * directory) takes seconds before anything else can happen; without this the command is silent meanwhile. On a
 * terminal one line is redrawn in place while a hashing runs (it appears only after core's first 200 ms, so a warm
 * run shows nothing); a hashing that took a second or more leaves a summary line, on a terminal and in CI logs
 * alike. `--debug` prints the summary of every folder.
 */

import path from "node:path";
import { type HashingProgress, onHashingProgress } from "@imagespec/core";
import { type Output, terminalSafe } from "./output.js";
import { FRAMES, firstLine } from "./progress.js";

/** A hashing at least this long leaves a summary line. */
const SUMMARY_AFTER_MS = 1_000;

export class HashingDisplay {
  readonly #out: Output;
  readonly #cwd: string;
  /** Hashings under way that have reported, by path. */
  readonly #running = new Map<string, HashingProgress>();
  #lineShown = false;
  #frame = 0;
  readonly #stop: () => void;

  constructor(out: Output, cwd: string) {
    this.#out = out;
    this.#cwd = cwd;
    this.#stop = onHashingProgress((progress) => this.onProgress(progress));
  }

  /** Core's listener; public for tests. */
  onProgress(progress: HashingProgress): void {
    const ended = progress.phase === "done" || progress.phase === "failed";
    // Deleted and set again, so the latest to report is last: the one the live line shows.
    this.#running.delete(progress.path);
    if (!ended) this.#running.set(progress.path, progress);
    const summary =
      progress.phase === "done" && (progress.elapsedMs >= SUMMARY_AFTER_MS || (this.#out.debug && progress.type === "folder"))
        ? this.#summary(progress)
        : undefined;
    if (!this.#out.live) {
      if (summary) this.#out.err(summary);
      return;
    }
    this.#clearLine();
    if (summary) this.#out.err(summary);
    this.#drawLine();
  }

  /** Stops listening and clears the live line. Call it before anything else draws on stderr. */
  stop(): void {
    this.#stop();
    this.#running.clear();
    this.#clearLine();
  }

  /** `hashed src: 51,389 entries, 51,389 files read (215.3 MB) in 2.1s`. */
  #summary(progress: HashingProgress): string {
    const read = progress.filesToRead === 0 ? "every digest from the cache" : `${count(progress.filesRead, "file")} read (${size(progress.bytesRead)})`;
    const what = progress.type === "folder" ? `${count(progress.entries, "entry", "entries")}, ${read}` : read;
    return `${this.#out.style.dim("hashed")} ${this.#label(progress.path)}: ${what} in ${(progress.elapsedMs / 1000).toFixed(1)}s`;
  }

  /** The live line's text (after its spinner): the latest hashing that reported, and how many others run beside it. */
  #line(progress: HashingProgress, others: number): string {
    const doing =
      progress.phase === "reading"
        ? `reading ${progress.filesRead.toLocaleString("en-US")} of ${count(progress.filesToRead, "file")} (${size(progress.bytesRead)} of ${size(progress.bytesToRead)})`
        : `${count(progress.entries, "entry", "entries")} so far`;
    const more = others > 0 ? ` (and ${others} more)` : "";
    return `hashing ${this.#label(progress.path)}: ${doing}${more}`;
  }

  #drawLine(): void {
    const latest = [...this.#running.values()].at(-1);
    if (!latest) return;
    const width = Math.max(20, (this.#out.stderr.columns || 100) - 1);
    // One row only, so clearing it is exact: the text cut to the terminal's width, as build progress cuts its lines.
    const text = terminalSafe(firstLine(this.#line(latest, this.#running.size - 1), width - 2));
    this.#out.stderr.write(`\r${this.#out.style.cyan(FRAMES[this.#frame++ % FRAMES.length]!)} ${text}`);
    this.#lineShown = true;
  }

  #clearLine(): void {
    if (this.#lineShown) this.#out.stderr.write("\r\x1b[2K");
    this.#lineShown = false;
  }

  #label(file: string): string {
    const relative = path.relative(this.#cwd, file);
    return relative === "" ? "." : relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
  }
}

/** Runs `work` with hashing progress shown, and stops showing it when `work` settles. */
export async function whileHashing<T>(out: Output, cwd: string, work: () => Promise<T>): Promise<T> {
  const display = new HashingDisplay(out, cwd);
  try {
    return await work();
  } finally {
    display.stop();
  }
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1000 ** 2) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1000 ** 3) return `${(bytes / 1000 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1000 ** 3).toFixed(2)} GB`;
}
