/**
 * The folder `envd build --path` reads: build.envd plus every file the layers copy or install from. What is
 * shipped is exactly what the tag was computed from: the selected entries core's identity recorded (ignore
 * files applied, with their modes), never a second walk, and every file's bytes read through core's
 * `readHashedFile`, so a file that changed since the tag was computed fails the build instead of shipping.
 */

import { createWriteStream } from "node:fs";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Image } from "@imagespec/core";
import { type FolderEntry, type ImageIdentity, ImageSpecError, readHashedFile } from "@imagespec/core/authoring";
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

async function copyHashed(source: string, target: string, entry: FolderEntry, follow: boolean): Promise<void> {
  await pipeline(readHashedFile(source, { digest: entry.digest!, size: entry.size! }, { follow }), createWriteStream(target, { mode: 0o600 }));
  await chmod(target, entry.mode);
}

export async function writeBuildContext(dir: string, image: Image, identity: ImageIdentity, rendering: EnvdRendering): Promise<void> {
  await writeFile(path.join(dir, ENVD_FILENAME), rendering.content);
  for (const item of rendering.inputs) {
    const entries = identity.inputs.find((i) => i.name === item.input)?.files;
    if (!entries) {
      throw new ImageSpecError(
        "BUILD_FAILED",
        `Cannot assemble the envd build context for ${image.name}: the image's identity has no files for ${item.input}`,
        {
          hint: "This is a bug in @imagespec/builder-envd or the layer package that declared the input; please report it.",
        },
      );
    }
    const from = path.resolve(image.root, item.source);
    const to = path.join(dir, ...item.target.split("/"));
    if (isSingleFile(entries)) {
      await mkdir(path.dirname(to), { recursive: true });
      await copyHashed(from, to, entries[0]!, true);
      continue;
    }
    await mkdir(to, { recursive: true });
    const dirs: FolderEntry[] = [];
    for (const entry of entries) {
      const source = path.join(from, ...entry.path.split("/"));
      const target = path.join(to, ...entry.path.split("/"));
      if (entry.type === "dir") {
        await mkdir(target, { recursive: true });
        dirs.push(entry);
      } else {
        await mkdir(path.dirname(target), { recursive: true });
        if (entry.type === "symlink") await symlink(entry.target!, target);
        else await copyHashed(source, target, entry, false);
      }
    }
    // Folder modes last, deepest first, so a read-only folder does not stop its own contents from being written.
    for (const entry of dirs.reverse()) await chmod(path.join(to, ...entry.path.split("/")), entry.mode);
  }
}
