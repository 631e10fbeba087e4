/**
 * Temporary project folders for tests, removed when the test file that made them finishes. Every package's tests
 * use these, so there is one convention: `files` maps a relative path to its content, and a path ending in `*` is
 * written executable (without the `*`).
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

const created: string[] = [];
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export interface TempProjectOptions {
  /** Prefix of the folder's name under the system temp folder. */
  readonly prefix?: string;
  /** A folder whose contents are copied in first (a fixture). */
  readonly copyFrom?: string;
}

/** A fresh folder holding `files`, optionally starting from a copy of `copyFrom`. */
export function tempProject(files: Readonly<Record<string, string>> = {}, options: TempProjectOptions = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), options.prefix ?? "imagespec-test-"));
  created.push(dir);
  if (options.copyFrom) cpSync(options.copyFrom, dir, { recursive: true });
  writeFiles(dir, files);
  return dir;
}

/** Writes `files` into `dir`, creating folders as needed. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    const executable = name.endsWith("*");
    const file = path.join(dir, executable ? name.slice(0, -1) : name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    if (executable) chmodSync(file, 0o755);
  }
}
