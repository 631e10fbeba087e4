/**
 * Deterministic source trees for the benchmarks: the same names, sizes and bytes on every machine and every run, so
 * every tool hashes the very same files. Sizes follow a source checkout's shape (mostly a few KB, a few large files):
 * 50,000 files come to about 207 MB.
 */

import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";

/** xorshift32: a few lines of deterministic randomness, no dependency. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Size of file `i`: 96% between 0.2 and 8 KB, 4% between 8 and 72 KB (mean about 4.1 KB). */
function sizeOf(next: () => number): number {
  const r = next();
  if (r < 0.96) return 200 + Math.floor(next() * 5_300);
  return 8_000 + Math.floor(next() * 64_000);
}

export interface TreeInfo {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
}

/**
 * Writes `files` files under `dir` (folders of about 40 files, three levels deep) unless a complete tree of that
 * shape is already there. Mtimes are set in the past, so no file is "racy" (just written) when it is hashed.
 */
export function makeTree(dir: string, files: number): TreeInfo {
  const stamp = path.join(dir, ".bench-tree.json");
  if (existsSync(stamp)) {
    const info = JSON.parse(readFileSync(stamp, "utf8")) as TreeInfo;
    if (info.files === files) return info;
  }
  const next = random(files);
  const chunk = Buffer.alloc(1 << 17);
  for (let i = 0; i < chunk.length; i++) chunk[i] = 32 + Math.floor(next() * 95);
  const old = new Date(Date.UTC(2024, 0, 1));
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const folder = path.join(dir, `pkg${Math.floor(i / 4000)}`, `mod${Math.floor(i / 400) % 10}`, `sub${Math.floor(i / 40) % 10}`);
    if (i % 40 === 0) mkdirSync(folder, { recursive: true });
    const size = sizeOf(next);
    const start = Math.floor(next() * (chunk.length - size - 16));
    const body = Buffer.concat([Buffer.from(`# file ${i}\n`), chunk.subarray(start, start + size)]);
    const file = path.join(folder, `f${i}.${["py", "ts", "json", "md"][i % 4]}`);
    writeFileSync(file, body);
    utimesSync(file, old, old);
    bytes += body.length;
  }
  const info = { dir, files, bytes };
  writeFileSync(stamp, JSON.stringify(info));
  return info;
}
