/** Temporary project folders for tests (see @imagespec/test-env/project), named for this package. */
import { tempProject, writeFiles } from "@imagespec/test-env/project";

/** A fresh folder holding `files` (relative path → content; a path ending in `*` is written executable). */
export function project(files: Record<string, string> = {}, prefix = "imagespec-docker-test-"): string {
  return tempProject(files, { prefix });
}

export const write = writeFiles;

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
