/**
 * The build context as a tar stream: the entries `contextEntries` lists (what the tag was computed from, with their
 * modes), file bytes read through core's `readHashedFile`, so a file that changed after the tag was computed fails
 * the build, naming the file, instead of shipping under the old tag. Files are streamed, never loaded whole.
 */

import type { Readable } from "node:stream";
import type { Image } from "@imagespec/core";
import type { ImageIdentity } from "@imagespec/core/authoring";
import tar from "tar-stream";
import { type ContextEntryOptions, contextEntries, openContextFile, readSmallContextFile } from "./context-entries.js";
import type { ContextItem } from "./plan.js";

export interface ContextStats {
  files: number;
  bytes: number;
}

export interface ContextTar {
  readonly stream: Readable;
  /** Resolves when every entry is written; rejects (and destroys the stream) when a file changed or cannot be read. */
  readonly done: Promise<ContextStats>;
}

export interface ContextTarOptions extends ContextEntryOptions {
  /** The image whose identity the items come from. */
  readonly image: Image;
  /** That image's identity: the entries its tag was computed from. */
  readonly identity: ImageIdentity;
}

export function contextTar(items: readonly ContextItem[], options: ContextTarOptions): ContextTar {
  const pack = tar.pack();
  const stats: ContextStats = { files: 0, bytes: 0 };
  const done = (async () => {
    const entries = contextEntries(items, options.image, options.identity, options);
    for (const entry of entries) {
      const header = { name: entry.type === "dir" ? `${entry.name}/` : entry.name, mtime: entry.mtime, uid: 0, gid: 0 };
      if (entry.type === "dir") {
        await new Promise<void>((resolve, reject) =>
          pack.entry({ ...header, type: "directory", mode: entry.mode }, (error) => (error ? reject(error) : resolve())),
        );
      } else if (entry.type === "symlink") {
        await new Promise<void>((resolve, reject) =>
          pack.entry({ ...header, type: "symlink", linkname: entry.target, mode: 0o777 }, (error) => (error ? reject(error) : resolve())),
        );
      } else {
        const whole = readSmallContextFile(entry);
        await new Promise<void>((resolve, reject) => {
          const fileHeader = { ...header, type: "file" as const, size: entry.size, mode: entry.mode };
          if (whole) {
            pack.entry(fileHeader, whole, (error) => (error ? reject(error) : resolve()));
            return;
          }
          const body = openContextFile(entry);
          const sink = pack.entry(fileHeader, (error) => (error ? reject(error) : resolve()));
          body.on("error", (error) => {
            sink.on("error", () => {}); // its "entry destroyed" is not the reason: `done` carries that
            sink.destroy();
            reject(error);
          });
          body.pipe(sink);
        });
        stats.files++;
        stats.bytes += entry.size;
      }
    }
    pack.finalize();
    return stats;
  })();
  // Ends the stream without an 'error' event (nobody may be listening for one): the reason is in `done`.
  pack.on("error", () => {});
  done.catch(() => pack.destroy());
  return { stream: pack as unknown as Readable, done };
}
