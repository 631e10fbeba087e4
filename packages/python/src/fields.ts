/** The Python layer kinds' own field schemas. Every generic field helper (grammars, mounts, paths) is core's, from @imagespec/core/authoring. */

import path from "node:path";
import { z } from "@imagespec/core/authoring";

export const installModeSchema = z.enum(["dependencies", "project"]);
export const installerSchema = z.enum(["uv", "pip"]);

/** The folder a relative file is in (`.` for the root). */
export function folderOf(rel: string): string {
  return path.posix.dirname(rel);
}
