/** Temporary project folders for tests, removed when the test file finishes. */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tempProject, writeFiles } from "@imagespec/test-env/project";

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

/** A fresh folder holding `files` (relative path → content), optionally starting from a copy of a fixture folder. */
export function project(files: Record<string, string> = {}, fixture?: string): string {
  return tempProject(files, { prefix: "imagespec-python-test-", ...(fixture && { copyFrom: path.join(FIXTURES, fixture) }) });
}

export const write = writeFiles;

/** The instructions of a Dockerfile: every line that is not blank or a comment. */
export function instructions(dockerfile: string): string[] {
  return dockerfile.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

/** The script of an exec-form RUN line (`RUN [flags] ["/bin/sh", "-c", script]`). */
export function runScript(line: string): string {
  const start = line.indexOf('["/bin/sh"');
  if (!line.startsWith("RUN ") || start < 0) throw new Error(`not an exec-form RUN: ${line}`);
  return (JSON.parse(line.slice(start)) as string[])[2]!;
}

/** Catches the error a function throws (sync or async) so a test can look at it. */
export async function thrown(fn: () => unknown): Promise<Error & { code?: string; field?: string; value?: unknown; hint?: string }> {
  try {
    await fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected an error, but nothing was thrown");
}
