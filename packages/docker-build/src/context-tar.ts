/**
 * The build context as a tar stream, holding exactly what the layers reference: each folder through core's
 * FileHasher.listFolder with the same selection the tag uses (ignore files, `withDockerignore` patterns, `tracked`),
 * so what an ignore rule leaves out of the tag is never sent either. Files are streamed, never loaded whole.
 */

import { createReadStream } from "node:fs";
import { lstat, readlink, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { defaultFileHasher, type FileHasher, ImageSpecError } from "@imagespec/core";
import tar from "tar-stream";
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

/** `SOURCE_DATE_EPOCH` (seconds) when set: file times are clamped to it so the context is reproducible. */
function sourceDateEpoch(env: NodeJS.ProcessEnv): Date | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return new Date(Number(value) * 1000);
}

export function contextTar(items: readonly ContextItem[], options: { hasher?: FileHasher; env?: NodeJS.ProcessEnv } = {}): ContextTar {
  const pack = tar.pack();
  const hasher = options.hasher ?? defaultFileHasher();
  const epoch = sourceDateEpoch(options.env ?? process.env);
  const fixedTime = epoch ?? new Date(0);
  const clamp = (time: Date) => (epoch !== undefined && time > epoch ? epoch : time);
  const written = new Set<string>();
  const stats: ContextStats = { files: 0, bytes: 0 };

  const entry = (header: Partial<tar.Header> & { name: string }, body: Buffer = Buffer.alloc(0)) =>
    new Promise<void>((resolve, reject) => {
      pack.entry({ ...header, uid: 0, gid: 0 }, body, (error) => (error ? reject(error) : resolve()));
    });

  /** A folder entry (and its parents); `source` gives a copied folder its own time, generated ones get a fixed one. */
  const directory = async (name: string, source?: string) => {
    if (name === "." || name === "" || written.has(name)) return;
    await directory(path.posix.dirname(name));
    written.add(name);
    const info = source === undefined ? undefined : await lstat(source).catch(() => undefined);
    await entry({ name: `${name}/`, type: "directory", mode: 0o755, mtime: info ? clamp(info.mtime) : fixedTime });
  };

  /** `follow`: a file a layer names directly is read through symlinks, as the tag reads it; inside folders links stay links. */
  const file = async (name: string, source: string, follow: boolean) => {
    const info = await (follow ? stat(source) : lstat(source)).catch((error) => {
      throw new ImageSpecError("FILE_NOT_FOUND", `Cannot send ${JSON.stringify(source)} to the Docker build: it does not exist any more`, { value: source, cause: error });
    });
    await directory(path.posix.dirname(name));
    written.add(name);
    if (info.isSymbolicLink()) {
      await entry({ name, type: "symlink", linkname: await readlink(source), mode: 0o777, mtime: clamp(info.mtime) });
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ name, type: "file", size: info.size, mode: (info.mode & 0o111) !== 0 ? 0o755 : 0o644, mtime: clamp(info.mtime), uid: 0, gid: 0 }, (error) =>
        error
          ? reject(
              new ImageSpecError("FILE_NOT_FOUND", `Cannot send ${JSON.stringify(source)} to the Docker build: ${error.message} (did it change while the build started?)`, {
                value: source,
                cause: error,
              }),
            )
          : resolve(),
      );
      createReadStream(source).on("error", reject).pipe(sink);
    });
    stats.files++;
    stats.bytes += info.size;
  };

  const done = (async () => {
    for (const item of items) {
      if (item.type === "content") {
        await directory(path.posix.dirname(item.path));
        written.add(item.path);
        await entry({ name: item.path, type: "file", size: item.content.byteLength, mode: item.executable ? 0o755 : 0o644, mtime: fixedTime }, Buffer.from(item.content));
        stats.files++;
        stats.bytes += item.content.byteLength;
      } else if (item.type === "file") {
        await file(item.path, item.source, true);
      } else {
        const prefix = item.path === "." ? "" : `${item.path}/`;
        if (prefix) await directory(item.path, item.source);
        const entries = await hasher.listFolder(item.source, { select: item.select, ignorePatterns: item.ignorePatterns });
        for (const listed of entries) {
          const name = `${prefix}${listed.path}`;
          if (listed.type === "dir") await directory(name, path.join(item.source, ...listed.path.split("/")));
          else await file(name, path.join(item.source, ...listed.path.split("/")), false);
        }
      }
    }
    pack.finalize();
    return stats;
  })();
  // Ends the stream without an 'error' event (nobody may be listening for one): the reason is in `done`.
  done.catch(() => pack.destroy());
  return { stream: pack as unknown as Readable, done };
}
