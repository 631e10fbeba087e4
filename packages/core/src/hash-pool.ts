/**
 * SHA-256 of many files at once, on every core: the calling thread and `threads - 1` worker threads take batches of
 * files from one queue, each reading with synchronous calls into one reused buffer (no promise, stream or file handle
 * per file: for a source tree, the cost is the system calls, not SHA-256). Workers start only for a job large enough
 * to repay their start-up; a small job is hashed on the calling thread, in slices that let the event loop turn.
 */

import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { availableParallelism } from "node:os";

/** A job this large (files, or bytes) is shared with worker threads. */
const WORKER_MIN_FILES = 1_000;
const WORKER_MIN_BYTES = 32 << 20;
/** Files per batch handed out, and the most bytes a batch aims at, so the threads finish together. */
const BATCH_FILES = 64;
const BATCH_BYTES = 4 << 20;
/** How long the calling thread hashes before it lets the event loop (and worker replies) in. */
const SLICE_MS = 10;

/** The worker: CommonJS source evaluated in the thread, so it works wherever core is bundled or copied. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const { createHash } = require("node:crypto");
const buffer = Buffer.allocUnsafe(1 << 20);
function digest(file) {
  const fd = openSync(file, "r");
  try {
    const hash = createHash("sha256");
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
    return hash.digest("hex");
  } finally {
    closeSync(fd);
  }
}
parentPort.on("message", (batch) => {
  const out = [];
  for (const file of batch) {
    try {
      out.push(digest(typeof file === "string" ? file : Buffer.from(file)));
    } catch (error) {
      out.push({ code: error.code, message: error.message });
    }
  }
  parentPort.postMessage(out);
});
`;

type Failure = { code?: string; message: string };

let buffer: Buffer | undefined;

/** SHA-256 (hex) of one file's bytes, read with synchronous calls (the path is opened as given: symlinks followed). */
export function hashFileSync(file: string | Buffer): string {
  buffer ??= Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, "r");
  try {
    const hash = createHash("sha256");
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
    return hash.digest("hex");
  } finally {
    closeSync(fd);
  }
}

export interface HashPoolOptions {
  /** Threads that hash, the calling one included. Default: the machine's cores. */
  readonly threads?: number;
  /** Tests: the calling thread hashes nothing, so worker threads take every batch of a large job. */
  readonly workersOnly?: boolean;
}

/**
 * Hashes `files` (with their sizes, to balance batches) and calls `done(index, digest)` for each. Rejects with the
 * first file that cannot be read (an fs error with its `code`).
 */
export async function hashFiles(
  files: readonly (string | Buffer)[],
  sizes: readonly number[],
  done: (index: number, digest: string) => void,
  options: HashPoolOptions = {},
): Promise<void> {
  if (files.length === 0) return;
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  let total = 0;
  for (let i = 0; i < files.length; i++) {
    current.push(i);
    bytes += sizes[i] ?? 0;
    total += sizes[i] ?? 0;
    if (current.length >= BATCH_FILES || bytes >= BATCH_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
  }
  if (current.length > 0) batches.push(current);

  const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
  const large = files.length >= WORKER_MIN_FILES || total >= WORKER_MIN_BYTES;
  const workerCount = large ? Math.min(threads - 1, batches.length - 1) : 0;
  let next = 0;
  let failure: Error | undefined;

  const fail = (file: string | Buffer, problem: Failure) => {
    failure ??= Object.assign(new Error(problem.message || `cannot read ${String(file)}`), { code: problem.code });
  };

  const workers = workerCount > 0 ? await startWorkers(workerCount) : [];
  try {
    // Each worker's batch in flight (undefined: idle or still starting), and how to stop waiting for an idle one.
    const idle: (() => void)[] = [];
    const finished = workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          let batch: number[] | undefined;
          const send = () => {
            batch = failure === undefined ? batches[next++] : undefined;
            if (!batch) {
              resolve();
              return;
            }
            worker.postMessage(batch.map((i) => files[i]!));
          };
          worker.on("message", (results: (string | Failure)[]) => {
            results.forEach((result, k) => {
              const index = batch![k]!;
              if (typeof result === "string") done(index, result);
              else fail(files[index]!, result);
            });
            send();
          });
          worker.on("error", reject);
          // The first batch goes once the thread is up: until then the calling thread takes every batch, and a job it
          // finishes alone never waits for a thread that is still starting (about 40 ms).
          worker.once("online", send);
          idle.push(() => {
            if (batch === undefined) resolve();
          });
        }),
    );
    // The calling thread takes batches too, a slice at a time.
    let sliceStart = performance.now();
    while (failure === undefined && next < batches.length && !(options.workersOnly && workers.length > 0)) {
      const batch = batches[next++]!;
      for (const index of batch) {
        try {
          done(index, hashFileSync(files[index]!));
        } catch (error) {
          const { code, message } = error as NodeJS.ErrnoException;
          fail(files[index]!, { ...(code !== undefined && { code }), message });
          break;
        }
      }
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    if (!options.workersOnly) for (const stop of idle) stop();
    await Promise.all(finished);
  } finally {
    // Not waited for: a thread still starting takes tens of ms to stop, and nothing depends on it any more.
    for (const worker of workers) {
      // After a failure a worker may still be busy: what it answers now is nobody's business.
      worker.removeAllListeners("message").removeAllListeners("online");
      worker.on("error", () => {});
      worker.unref();
      void worker.terminate();
    }
  }
  if (failure) throw failure;
}

async function startWorkers(count: number): Promise<import("node:worker_threads").Worker[]> {
  const { Worker } = await import("node:worker_threads");
  return Array.from({ length: count }, () => new Worker(WORKER_SOURCE, { eval: true }));
}
