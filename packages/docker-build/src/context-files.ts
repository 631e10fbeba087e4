/**
 * The build context as a list of entries: exactly what the layers reference, each folder through core's
 * FileHasher.listFolder with the same selection the tag uses, so what an ignore rule leaves out of the tag is never
 * sent. Both ways of sending it read this one listing: the context tar (every entry) and the session's file sync
 * (the entries the engine asks for). A file's bytes are read only when they are sent, through `readContextFile`,
 * which fails, naming the file, when they are not the bytes that were listed.
 */

import { createHash } from "node:crypto";
import { createReadStream, type BigIntStats } from "node:fs";
import { lstat, readlink, stat } from "node:fs/promises";
import path from "node:path";
import { PassThrough, type Readable, Transform } from "node:stream";
import { defaultFileHasher, type FileHasher, ImageSpecError } from "@imagespec/core";
import type { ContextItem } from "./plan.js";

export interface ContextEntry {
  /** POSIX path inside the context, without a leading `./`. */
  readonly path: string;
  readonly type: "file" | "dir" | "symlink";
  /** Permission bits, as the image gets them. */
  readonly mode: number;
  /** Modification time in nanoseconds since the epoch, as sent (clamped to SOURCE_DATE_EPOCH when it is set). */
  readonly mtimeNs: bigint;
  /** Bytes (files), length of the target (symlinks), 0 (folders). */
  readonly size: number;
  /** Symlinks: the target, as the link holds it. */
  readonly linkTarget?: string;
  /** Where a file's bytes come from. */
  readonly source?: { readonly kind: "file"; readonly path: string } | { readonly kind: "content"; readonly content: Uint8Array };
  /**
   * False when the time does not change with the bytes (generated content, times clamped to SOURCE_DATE_EPOCH): a
   * receiver that compares sizes and times cannot see an edit of such a file, so `digest` names its bytes instead.
   */
  readonly timeTracksContent: boolean;
  /** sha256 of the bytes, for the entries whose time does not track them. */
  readonly digest?: string;
}

export interface ContextListing {
  readonly entries: readonly ContextEntry[];
  readonly files: number;
  readonly bytes: number;
}

/** `SOURCE_DATE_EPOCH` (seconds) when set: file times are clamped to it so the context is reproducible. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): bigint | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return BigInt(value) * 1_000_000_000n;
}

const executableMode = (mode: number | bigint) => ((Number(mode) & 0o111) !== 0 ? 0o755 : 0o644);

/**
 * Lists the context of a build plan, in the order the items come, each folder's parents first. A path that two
 * items give is listed once: a folder by the first, a file by the last (as a tar extracted in order would have it).
 */
export async function listContext(items: readonly ContextItem[], options: { hasher?: FileHasher; env?: NodeJS.ProcessEnv } = {}): Promise<ContextListing> {
  const hasher = options.hasher ?? defaultFileHasher();
  const epoch = sourceDateEpoch(options.env ?? process.env);
  const fixedTime = epoch ?? 0n;
  const byPath = new Map<string, ContextEntry>();
  const add = (entry: ContextEntry) => {
    if (entry.type === "dir" && byPath.has(entry.path)) return;
    byPath.delete(entry.path); // a later file replaces an earlier one, and takes its place in the order
    byPath.set(entry.path, entry);
  };
  /** A folder entry (and its parents); `info` gives a copied folder its own time, generated ones get a fixed one. */
  const directory = (name: string, info?: BigIntStats) => {
    if (name === "." || name === "" || byPath.has(name)) return;
    directory(path.posix.dirname(name));
    add({ path: name, type: "dir", mode: 0o755, mtimeNs: info ? clampTime(info.mtimeNs, epoch) : fixedTime, size: 0, timeTracksContent: true });
  };
  /** `follow`: a file a layer names directly is read through symlinks, as the tag reads it; inside folders links stay links. */
  const file = async (name: string, source: string, follow: boolean, digestOf: () => Promise<string | undefined> = async () => undefined) => {
    const info = await (follow ? stat(source, { bigint: true }) : lstat(source, { bigint: true })).catch((error) => {
      throw new ImageSpecError("FILE_NOT_FOUND", `Cannot send ${JSON.stringify(source)} to the Docker build: it does not exist any more`, { value: source, cause: error });
    });
    directory(path.posix.dirname(name));
    const mtimeNs = clampTime(info.mtimeNs, epoch);
    if (info.isSymbolicLink()) {
      const target = await readlink(source);
      add({ path: name, type: "symlink", mode: 0o777, mtimeNs, size: Buffer.byteLength(target), linkTarget: target, timeTracksContent: true });
      return;
    }
    // A clamped time no longer moves when the file is edited: the digest says what the bytes are instead.
    const timeTracksContent = mtimeNs === info.mtimeNs;
    const digest = timeTracksContent ? undefined : ((await digestOf()) ?? (await hasher.hashFile(source)).entries[0]?.digest);
    add({
      path: name,
      type: "file",
      mode: executableMode(info.mode),
      mtimeNs,
      size: Number(info.size),
      source: { kind: "file", path: source },
      timeTracksContent,
      ...(digest !== undefined && { digest }),
    });
  };

  for (const item of items) {
    if (item.type === "content") {
      directory(path.posix.dirname(item.path));
      add({
        path: item.path,
        type: "file",
        mode: item.executable ? 0o755 : 0o644,
        mtimeNs: fixedTime,
        size: item.content.byteLength,
        source: { kind: "content", content: item.content },
        timeTracksContent: false,
        digest: createHash("sha256").update(item.content).digest("hex"),
      });
    } else if (item.type === "file") {
      await file(item.path, item.source, true);
    } else {
      const prefix = item.path === "." ? "" : `${item.path}/`;
      if (prefix) directory(item.path, await lstat(item.source, { bigint: true }).catch(() => undefined));
      const selection = { select: item.select, ignorePatterns: item.ignorePatterns };
      const listed = await hasher.listFolder(item.source, selection);
      let digests: Map<string, string> | undefined;
      // Digests only when a time is clamped (they come from the hasher's cache, filled when the tag was computed).
      const digestOf = (rel: string) => async () => {
        digests ??= new Map((await hasher.listFolder(item.source, selection, true)).flatMap((e) => (e.digest ? [[e.path, e.digest] as const] : [])));
        return digests.get(rel);
      };
      for (const entry of listed) {
        const name = `${prefix}${entry.path}`;
        const source = path.join(item.source, ...entry.path.split("/"));
        if (entry.type === "dir") directory(name, await lstat(source, { bigint: true }).catch(() => undefined));
        else await file(name, source, false, digestOf(entry.path));
      }
    }
  }
  const entries = [...byPath.values()];
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (entry.type !== "file") continue;
    files++;
    bytes += entry.size;
  }
  return { entries, files, bytes };
}

function clampTime(time: bigint, epoch: bigint | undefined): bigint {
  return epoch !== undefined && time > epoch ? epoch : time;
}

/**
 * The bytes of a file entry, as listed: a stream that fails, naming the file, when the file is gone or its length
 * is not the listed one (it changed after the tag was computed).
 */
export function readContextFile(entry: ContextEntry): Readable {
  const source = entry.source;
  if (source === undefined) throw new Error(`${entry.path} is not a file of the context`);
  if (source.kind === "content") {
    const out = new PassThrough();
    out.end(Buffer.from(source.content));
    return out;
  }
  let seen = 0;
  const changed = (why: string, cause?: unknown) =>
    new ImageSpecError("FILE_NOT_FOUND", `Cannot send ${JSON.stringify(source.path)} to the Docker build: ${why} (did it change while the build started?)`, {
      value: source.path,
      hint: "Build again once the files are no longer being written.",
      ...(cause !== undefined && { cause }),
    });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > entry.size) callback(changed(`it has more than the ${entry.size} bytes it had when it was listed`));
      else callback(null, chunk);
    },
    flush(callback) {
      callback(seen === entry.size ? null : changed(`it has ${seen} bytes, not the ${entry.size} it had when it was listed`));
    },
  });
  const input = createReadStream(source.path);
  input.on("error", (error) => counter.destroy(changed((error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist any more" : (error as Error).message, error)));
  return input.pipe(counter);
}
