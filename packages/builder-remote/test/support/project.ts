/** Temporary project folders for tests, removed when the test file finishes. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

const created: string[] = [];
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder holding `files` (relative path → content; a path ending in `*` is written executable, without the `*`). */
export function project(files: Record<string, string> = {}, prefix = "imagespec-docker-test-"): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  created.push(dir);
  write(dir, files);
  return dir;
}

export function write(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const executable = name.endsWith("*");
    const rel = executable ? name.slice(0, -1) : name;
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
    if (executable) chmodSync(path.join(dir, rel), 0o755);
  }
}
