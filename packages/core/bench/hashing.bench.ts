/**
 * Hashing a large tree: cold (every file read) and warm (digests from the persistent stat cache).
 * Run with `pnpm bench` in packages/core. Target: warm re-hashing of 20k files well under a second,
 * i.e. bounded by `stat`, not by reading bytes.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, bench, describe } from "vitest";
import { FileHasher } from "../src/index.js";

const FILES = 20_000;
const root = mkdtempSync(path.join(tmpdir(), "imagespec-bench-"));
const tree = path.join(root, "tree");
const cacheFile = path.join(root, "cache.json");
const old = new Date(2020, 0, 1);
for (let i = 0; i < FILES; i++) {
  const dir = path.join(tree, `pkg${i % 100}`, `mod${i % 7}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `f${i}.py`);
  writeFileSync(file, `# file ${i}\n${"x = 1\n".repeat(50 + (i % 200))}`);
  utimesSync(file, old, old);
}
// Prime the persistent cache once.
await new FileHasher({ cacheFile }).hashFolder(tree);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe(`hash a tree of ${FILES} files`, () => {
  bench("cold: no cache, every file read", async () => {
    await new FileHasher({ cacheFile: false }).hashFolder(tree);
  }, { iterations: 3, warmupIterations: 0 });

  bench("warm: a new process with the persistent cache", async () => {
    await new FileHasher({ cacheFile }).hashFolder(tree);
  }, { iterations: 5, warmupIterations: 1 });

  bench("listing only (walk + ignore rules, no digests)", async () => {
    await new FileHasher({ cacheFile: false }).listFolder(tree);
  }, { iterations: 5, warmupIterations: 1 });
});
