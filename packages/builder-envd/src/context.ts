/**
 * The folder `envd build --path` reads: build.envd plus every file the layers copy or install from. What is
 * shipped is exactly what the tag was computed from: the selected entries core's identity recorded (ignore
 * files applied), never a second walk that could disagree with it.
 */

import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { type FolderEntry, type Image, type ImageIdentity, ImageSpecError } from "@imagespec/core";
import { type EnvdRendering, ENVD_FILENAME } from "./render.js";

/** File or folder, as the identity saw it: a file input is recorded as the single entry `.`. */
export function inputType(identity: ImageIdentity, input: string): "file" | "folder" | undefined {
  const entries = identity.inputs.find((i) => i.name === input)?.files;
  if (!entries) return undefined;
  return isSingleFile(entries) ? "file" : "folder";
}

function isSingleFile(entries: readonly FolderEntry[]): boolean {
  return entries.length === 1 && entries[0]!.path === "." && entries[0]!.type === "file";
}

export async function writeBuildContext(dir: string, image: Image, identity: ImageIdentity, rendering: EnvdRendering): Promise<void> {
  await writeFile(path.join(dir, ENVD_FILENAME), rendering.content);
  for (const item of rendering.inputs) {
    const entries = identity.inputs.find((i) => i.name === item.input)?.files;
    if (!entries) {
      throw new ImageSpecError("BUILD_FAILED", `Cannot assemble the envd build context for ${image.name}: the image's identity has no files for ${item.input}`, {
        hint: "This is a bug in @imagespec/builder-envd or the layer package that declared the input; please report it.",
      });
    }
    const from = path.resolve(image.root, item.source);
    const to = path.join(dir, ...item.target.split("/"));
    if (isSingleFile(entries)) {
      await mkdir(path.dirname(to), { recursive: true });
      await copyFile(from, to);
      continue;
    }
    await mkdir(to, { recursive: true });
    for (const entry of entries) {
      const source = path.join(from, ...entry.path.split("/"));
      const target = path.join(to, ...entry.path.split("/"));
      if (entry.type === "dir") await mkdir(target, { recursive: true });
      else {
        await mkdir(path.dirname(target), { recursive: true });
        if (entry.type === "symlink") await symlink(entry.target!, target);
        else await copyFile(source, target); // copyFile keeps the mode, so the execute bit travels with the file
      }
    }
  }
}
