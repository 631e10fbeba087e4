/**
 * The walk with a large excluded folder: a 20k-file node_modules excluded by .dockerignore, with and without an
 * unrelated `!` exception. Docker never enters an excluded folder that no exception starts with, and neither does
 * imagespec: both should be close to the time of a walk without node_modules at all. Run with `pnpm bench`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, bench, describe } from "vitest";
import { FileHasher } from "../src/index.js";

const FILES = 20_000;
const root = mkdtempSync(path.join(tmpdir(), "imagespec-walk-bench-"));

function project(name: string, dockerignore: string | undefined, withModules: boolean): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, "src"), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(path.join(dir, "src", `m${i}.ts`), `export const x${i} = ${i};\n`);
  writeFileSync(path.join(dir, "README.md"), "# bench\n");
  if (dockerignore !== undefined) writeFileSync(path.join(dir, ".dockerignore"), dockerignore);
  if (withModules) {
    for (let i = 0; i < FILES; i++) {
      const pkg = path.join(dir, "node_modules", `pkg${i % 400}`, `lib${i % 5}`);
      mkdirSync(pkg, { recursive: true });
      writeFileSync(path.join(pkg, `f${i}.js`), "module.exports = 1;\n");
    }
  }
  return dir;
}

const without = project("without-node-modules", undefined, false);
const excluded = project("excluded", "node_modules\n", true);
const excludedWithException = project("excluded-with-exception", "node_modules\n*.md\n!README.md\n", true);
const excludedWithWildcardException = project("excluded-with-wildcard-exception", "node_modules\n*.log\n!**/keep.log\n", true);

afterAll(() => rmSync(root, { recursive: true, force: true }), 300_000);

const list = (dir: string) => new FileHasher({ cacheFile: false }).listFolder(dir);

describe(`walk a project whose node_modules (${FILES} files) .dockerignore excludes`, () => {
  bench("no node_modules at all (the floor)", async () => {
    await list(without);
  }, { iterations: 20, warmupIterations: 2 });

  bench("node_modules excluded", async () => {
    await list(excluded);
  }, { iterations: 20, warmupIterations: 2 });

  bench("node_modules excluded, with an unrelated exception (!README.md)", async () => {
    await list(excludedWithException);
  }, { iterations: 20, warmupIterations: 2 });

  bench("node_modules excluded, with a wildcard exception (!**/keep.log), which cannot re-enter it either", async () => {
    await list(excludedWithWildcardException);
  }, { iterations: 20, warmupIterations: 2 });
});
