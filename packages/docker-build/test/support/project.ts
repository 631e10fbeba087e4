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

/** The instructions of a Dockerfile: every line that is not blank or a comment. */
export function instructions(dockerfile: string): string[] {
  return dockerfile.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

/** The argv of an exec-form RUN line (`RUN [flags] ["/bin/sh", "-c", script]`). */
export function runArgv(line: string): [string, string, string, ...string[]] {
  const start = line.indexOf('["/bin/sh"');
  if (!line.startsWith("RUN ") || start < 0) throw new Error(`not an exec-form RUN: ${line}`);
  return JSON.parse(line.slice(start)) as [string, string, string, ...string[]];
}

export const KEYWORDS = new Set(["FROM", "RUN", "COPY", "ENV", "ARG", "WORKDIR", "ENTRYPOINT"]);
