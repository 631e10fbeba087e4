/**
 * The build context as a list of entries: exactly the files the layers reference, taken from the image's identity
 * (the entries its tag was computed from, with their modes), never from a second walk. Every transport sends this
 * list as it is — the context tar today, BuildKit's file sync as well — and reads file bytes only through
 * `openContextFile`, which checks them against the digest the tag was computed from.
 */

import path from "node:path";
import type { Readable } from "node:stream";
import { Readable as ReadableStream } from "node:stream";
import type { Image } from "@imagespec/core";
import { hashedInput, type ImageIdentity, ImageSpecError, readHashedFile, readHashedFileSync, WHOLE_FILE_MAX } from "@imagespec/core/authoring";
import type { ContextItem } from "./plan.js";

/** Folders imagespec makes up (`layers/`, `layers/2/`) and generated files get this mode; copied ones keep theirs. */
const GENERATED_DIR_MODE = 0o755;

export type ContextEntry =
  | { readonly type: "dir"; readonly name: string; readonly mode: number; readonly mtime: Date }
  | { readonly type: "symlink"; readonly name: string; readonly target: string; readonly mtime: Date }
  | {
      readonly type: "file";
      readonly name: string;
      readonly mode: number;
      readonly size: number;
      readonly mtime: Date;
      /** A local file, read through `readHashedFile`: its hashed digest, and whether a symlink may be followed to it. */
      readonly source?: { readonly path: string; readonly digest: string; readonly follow: boolean };
      /** Generated content. */
      readonly content?: Uint8Array;
    };

export interface ContextEntryOptions {
  /** Where SOURCE_DATE_EPOCH comes from; file times are clamped to it. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** `SOURCE_DATE_EPOCH` (seconds) when set: file times are clamped to it so the context is reproducible. */
function sourceDateEpoch(env: NodeJS.ProcessEnv): Date | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return new Date(Number(value) * 1000);
}

/**
 * The entries of the context, in the order they are sent: each folder before what is in it. `identity` must be the
 * identity of `image` (the one the tag came from); an item that is not among its inputs is refused.
 */
export function contextEntries(items: readonly ContextItem[], image: Image, identity: ImageIdentity, options: ContextEntryOptions = {}): ContextEntry[] {
  const epoch = sourceDateEpoch(options.env ?? process.env);
  const fixedTime = epoch ?? new Date(0);
  const time = (ms: number | undefined) => (ms === undefined ? fixedTime : epoch !== undefined && ms > epoch.getTime() ? epoch : new Date(ms));
  const out: ContextEntry[] = [];
  const written = new Set<string>();

  const directory = (name: string, mode = GENERATED_DIR_MODE, mtime = fixedTime) => {
    if (name === "." || name === "" || written.has(name)) return;
    directory(path.posix.dirname(name));
    written.add(name);
    out.push({ type: "dir", name, mode, mtime });
  };
  const parent = (name: string) => directory(path.posix.dirname(name));

  for (const item of items) {
    if (item.type === "content") {
      if (item.derivedFrom) checkDerived(image, identity, item.path, item.derivedFrom);
      parent(item.path);
      written.add(item.path);
      out.push({
        type: "file",
        name: item.path,
        mode: item.executable ? 0o755 : 0o644,
        size: item.content.byteLength,
        mtime: fixedTime,
        content: item.content,
      });
    } else if (item.type === "file") {
      const input = hashedInput(image, identity, item.source, { type: "file" });
      const entry = input.entries[0]!;
      parent(item.path);
      written.add(item.path);
      out.push({
        type: "file",
        name: item.path,
        mode: entry.mode,
        size: entry.size!,
        mtime: time(entry.mtimeMs),
        source: { path: input.absolutePath, digest: entry.digest!, follow: true },
      });
    } else {
      const input = hashedInput(image, identity, item.source, { type: "folder", select: item.select });
      const prefix = item.path === "." ? "" : `${item.path}/`;
      const folderSep = path.sep === "/";
      const folder = input.absolutePath.endsWith("/") ? input.absolutePath : `${input.absolutePath}/`;
      if (prefix) directory(item.path);
      for (const entry of input.entries) {
        const name = `${prefix}${entry.path}`;
        parent(name);
        if (entry.type === "dir") {
          if (!written.has(name)) {
            written.add(name);
            out.push({ type: "dir", name, mode: entry.mode, mtime: time(entry.mtimeMs) });
          }
          continue;
        }
        written.add(name);
        if (entry.type === "symlink") out.push({ type: "symlink", name, target: entry.target!, mtime: time(entry.mtimeMs) });
        else {
          // A walk's paths are clean (no `.`, `..` or doubled `/`): joined without path.join's normalising, once per file.
          const source = folderSep ? `${folder}${entry.path}` : path.join(input.absolutePath, ...entry.path.split("/"));
          out.push({
            type: "file",
            name,
            mode: entry.mode,
            size: entry.size!,
            mtime: time(entry.mtimeMs),
            source: { path: source, digest: entry.digest!, follow: false },
          });
        }
      }
    }
  }
  return out;
}

/** Generated content made from a file (a user's Dockerfile): it must have been made from the bytes that were hashed. */
function checkDerived(image: Image, identity: ImageIdentity, name: string, from: { readonly source: string; readonly digest: string }): void {
  const input = hashedInput(image, identity, from.source, { type: "file" });
  if (input.entries[0]?.digest !== from.digest) {
    throw new ImageSpecError(
      "FILE_CHANGED",
      `Cannot send ${JSON.stringify(from.source)} (as ${name}) to the build: its content changed since the tag was computed`,
      {
        value: from.source,
        hint: "A file changed while the build started. Run the command again: the tag is computed anew from what is there then.",
      },
    );
  }
}

/** The bytes of a file entry: generated content as it is, a local file through core's `readHashedFile` (verified). */
/**
 * A small file's bytes, whole (read with synchronous calls and checked against its digest), or undefined for a large
 * one, which is streamed through `openContextFile`.
 */
export function readSmallContextFile(entry: Extract<ContextEntry, { type: "file" }>): Buffer | undefined {
  if (entry.content !== undefined) return Buffer.from(entry.content);
  if (entry.size > WHOLE_FILE_MAX) return undefined;
  const source = entry.source!;
  return readHashedFileSync(source.path, { digest: source.digest, size: entry.size }, { follow: source.follow });
}

export function openContextFile(entry: Extract<ContextEntry, { type: "file" }>): Readable {
  if (entry.content !== undefined) return ReadableStream.from([Buffer.from(entry.content)]);
  const source = entry.source!;
  return readHashedFile(source.path, { digest: source.digest, size: entry.size }, { follow: source.follow });
}
