/** Temporary project folders for tests (see @imagespec/test-env/project), named for this package. */
import { tempProject, writeFiles } from "@imagespec/test-env/project";

/** A fresh folder holding `files` (relative path → content; a path ending in `*` is written executable). */
export function project(files: Record<string, string> = {}, prefix = "imagespec-docker-test-"): string {
  return tempProject(files, { prefix });
}

export const write = writeFiles;
