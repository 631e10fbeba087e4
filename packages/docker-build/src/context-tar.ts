/**
 * The build context as a tar stream, for engines reached without a session (the docker CLI path): every entry of
 * the context listing (context-files.ts), in order, files streamed through `readContextFile`, never loaded whole.
 */

import type { Readable } from "node:stream";
import type { FileHasher } from "@imagespec/core";
import tar from "tar-stream";
import { listContext, readContextFile } from "./context-files.js";
import type { ContextItem } from "./plan.js";

export interface ContextStats {
  files: number;
  bytes: number;
}

export interface ContextTar {
  readonly stream: Readable;
  /** Resolves when every entry is written; rejects (and destroys the stream) when a file cannot be read. */
  readonly done: Promise<ContextStats>;
}

const toDate = (ns: bigint) => new Date(Number(ns / 1_000_000n));

export function contextTar(items: readonly ContextItem[], options: { hasher?: FileHasher; env?: NodeJS.ProcessEnv } = {}): ContextTar {
  const pack = tar.pack();
  const done = (async () => {
    const listing = await listContext(items, options);
    for (const entry of listing.entries) {
      const header = { name: entry.type === "dir" ? `${entry.path}/` : entry.path, mode: entry.mode, mtime: toDate(entry.mtimeNs), uid: 0, gid: 0 };
      if (entry.type === "dir") await write(pack, { ...header, type: "directory" });
      else if (entry.type === "symlink") await write(pack, { ...header, type: "symlink", linkname: entry.linkTarget ?? "" });
      else
        await new Promise<void>((resolve, reject) => {
          const body = readContextFile(entry);
          const sink = pack.entry({ ...header, type: "file", size: entry.size }, (error) => (error ? reject(error) : resolve()));
          body.on("error", (error) => {
            reject(error);
            sink.destroy(error);
          });
          body.pipe(sink);
        });
    }
    pack.finalize();
    return { files: listing.files, bytes: listing.bytes };
  })();
  // Ends the stream without an 'error' event (nobody may be listening for one): the reason is in `done`.
  done.catch(() => pack.destroy());
  return { stream: pack as unknown as Readable, done };
}

function write(pack: tar.Pack, header: Partial<tar.Header> & { name: string }): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())));
}
