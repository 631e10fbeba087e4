/**
 * The files a definition reads: which ones are selected (Docker's .dockerignore rules, git's .gitignore rules and
 * tracked files; `walk.ts`), their modes and their digests; and the one way to read their bytes again afterwards.
 *
 * One walk decides what enters the tag, and builders send exactly those entries — they never walk again. When they
 * need the bytes, `readHashedFile` reads the file once more and checks it against the digest the tag was computed from,
 * so what is sent is what was hashed, or the build fails naming the file. Digests are cached by what git's index
 * trusts (size, mtime, ctime, inode, device, mode; `digest-cache.ts`), so an unchanged tree re-hashes at the speed of
 * `lstat`; what must be read is read on every core (`hash-pool.ts`).
 */

import { createHash } from "node:crypto";
import { channel, subscribe, unsubscribe } from "node:diagnostics_channel";
import type { BigIntStats } from "node:fs";
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync } from "node:fs";
import * as fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { canonicalJson, sha256Hex } from "./canonical.js";
import { DigestCache, statSignature } from "./digest-cache.js";
import { ImageSpecError, showValue } from "./errors.js";
import { hashFileSync, hashFiles } from "./hash-pool.js";
import { type FolderSelection, walkFolder } from "./walk.js";

export type { FolderSelection, IgnoreFile } from "./walk.js";

export interface FolderEntry {
  /** POSIX path relative to the folder (`.` for a single file). */
  readonly path: string;
  readonly type: "file" | "dir" | "symlink";
  /** Permission bits with setuid, setgid and sticky (`mode & 0o7777`), as Docker's COPY keeps them. */
  readonly mode: number;
  /** Size in bytes (files). */
  readonly size?: number;
  /** sha256 of the bytes (files, when hashed). */
  readonly digest?: string;
  /** Link target (symlinks). */
  readonly target?: string;
  /** Modification time in ms, as it was when hashed. It does not enter the tag; a builder may keep it in the image. */
  readonly mtimeMs?: number;
}

export interface InputDigest {
  readonly type: "file" | "folder";
  /** sha256 over the entries (folder) or over the bytes and mode (file). */
  readonly digest: string;
  /** The folder's selected entries, or the single file as `.`. */
  readonly entries: readonly FolderEntry[];
}

/** A file changed this recently (mtime or ctime) may change again within the same timestamp tick: it is not cached. */
const RACY_WINDOW_MS = 2_000;
const CACHE_VERSION = 3;
/** A single file larger than this is streamed (asynchronously) rather than read with synchronous calls. */
const LARGE_SINGLE_FILE = 64 << 20;

export interface FileHasherOptions {
  /** The folder of the digest cache; `false` keeps digests in memory only. Default: `<cache dir>/digests-v3`. */
  readonly cacheDir?: string | false;
  /** @deprecated Use `cacheDir`. `false` keeps digests in memory only; a path puts the cache in the folder `<path>.d`. */
  readonly cacheFile?: string | false;
  /** Threads that read and hash files, the calling one included. Default: the machine's cores. */
  readonly threads?: number;
  /** @deprecated Use `threads`. */
  readonly concurrency?: number;
  /** A file changed less than this many ms ago is hashed but not cached (default 2000): racy-git's guard. */
  readonly racyWindowMs?: number;
}

export function defaultCacheDir(): string {
  if (process.env.IMAGESPEC_CACHE_DIR) return process.env.IMAGESPEC_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "imagespec");
}

/** What the hashed digest of one entry says; `entry` is typically a FolderEntry from an identity. */
export interface HashedFile {
  readonly digest: string;
  readonly size: number;
}

/**
 * The sha256 of a folder's entries as they enter the tag: path, type, mode, content digest, link target — the
 * canonical JSON of that list, fed to the hash a piece at a time rather than built as one string.
 */
export function entriesDigest(entries: readonly FolderEntry[]): string {
  const hash = createHash("sha256");
  let chunk = "[";
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    // canonicalJson's key order (sorted): digest, mode, path, target, type; undefined fields left out.
    let item = i === 0 ? "{" : ",{";
    let first = true;
    const field = (name: string, json: string) => {
      item += `${first ? "" : ","}"${name}":${json}`;
      first = false;
    };
    if (e.digest !== undefined) field("digest", JSON.stringify(e.digest));
    if (!Number.isFinite(e.mode)) throw new TypeError(`Cannot hash the mode of ${e.path}: ${e.mode} is not a finite number`);
    field("mode", JSON.stringify(e.mode));
    field("path", JSON.stringify(e.path));
    if (e.target !== undefined) field("target", JSON.stringify(e.target));
    field("type", JSON.stringify(e.type));
    chunk += `${item}}`;
    if (chunk.length > 1 << 16) {
      hash.update(chunk);
      chunk = "";
    }
  }
  hash.update(`${chunk}]`);
  return hash.digest("hex");
}

/** The sha256 of a single file as it enters the tag: its bytes and, unless only its bytes are read, its mode. */
export function fileDigest(entry: FolderEntry, options: { readonly mode?: boolean; readonly name?: string } = {}): string {
  return sha256Hex(canonicalJson({ type: "file", digest: entry.digest, mode: options.mode === false ? undefined : entry.mode, name: options.name }));
}

// ------------------------------------------------------------------------------------------------ progress

/** How far the hashing of one folder (or file) has got: what `onHashingProgress` listeners receive. */
export interface HashingProgress {
  /** The folder or file being hashed (absolute). */
  readonly path: string;
  /** A folder's entries, or one file (a Dockerfile, a requirements file, a file copied on its own). */
  readonly type: "folder" | "file";
  /**
   * `walking`: listing entries and asking the digest cache; `reading`: reading the files it did not answer; then
   * `done`, or `failed` when the hashing threw (the error reaches the caller as usual).
   */
  readonly phase: "walking" | "reading" | "done" | "failed";
  /** Entries (files, folders, symlinks) selected so far. */
  readonly entries: number;
  /** Files whose digest the cache did not have, and how many of them (and of their bytes) are read so far. */
  readonly filesToRead: number;
  readonly filesRead: number;
  readonly bytesToRead: number;
  readonly bytesRead: number;
  /** Milliseconds since the hashing of this path began. */
  readonly elapsedMs: number;
}

export type HashingListener = (progress: HashingProgress) => void;

/**
 * A named diagnostics channel, not a module's own list: every copy of core in the process (the CLI's, and a
 * project's own install that its Image objects come from) reports to the same listeners.
 */
const HASHING_CHANNEL = "imagespec:hashing-progress";
const hashingChannel = channel(HASHING_CHANNEL);

/**
 * Calls `listener` while folders and files are hashed for a tag anywhere in the process: when a hashing has run for
 * 200 ms, every 100 ms after that, and once when it ends (`done` or `failed`), so a quick one reports only its end.
 * Returns the function that stops it. A listener that throws is ignored: progress must not break hashing.
 */
export function onHashingProgress(listener: HashingListener): () => void {
  const subscriber = (message: unknown) => {
    try {
      listener(message as HashingProgress);
    } catch {}
  };
  subscribe(HASHING_CHANNEL, subscriber);
  return () => {
    unsubscribe(HASHING_CHANNEL, subscriber);
  };
}

/** When a hashing first reports, and how often after that. */
export const PROGRESS_FIRST_MS = 200;
export const PROGRESS_EVERY_MS = 100;

/** The counters of one hashing and when to report them; created only when someone listens. */
export class HashingReporter {
  phase: HashingProgress["phase"] = "walking";
  entries = 0;
  filesToRead = 0;
  filesRead = 0;
  bytesToRead = 0;
  bytesRead = 0;
  readonly #path: string;
  readonly #type: HashingProgress["type"];
  readonly #clock: () => number;
  readonly #started: number;
  #next: number;
  #calls = 0;

  constructor(path: string, type: HashingProgress["type"], clock: () => number = () => performance.now()) {
    this.#path = path;
    this.#type = type;
    this.#clock = clock;
    this.#started = clock();
    this.#next = this.#started + PROGRESS_FIRST_MS;
  }

  /** An entry walked or a file (or chunk) read: reports when it is time. */
  tick(): void {
    // Walking, an entry costs microseconds: the clock is read every 64. Reading, a file may take long: every file.
    if (this.phase === "walking" && (++this.#calls & 63) !== 0) return;
    const now = this.#clock();
    if (now < this.#next) return;
    this.#next = now + PROGRESS_EVERY_MS;
    this.#report(now);
  }

  end(failed: boolean): void {
    this.phase = failed ? "failed" : "done";
    this.#report(this.#clock());
  }

  #report(now: number): void {
    const progress: HashingProgress = {
      path: this.#path,
      type: this.#type,
      phase: this.phase,
      entries: this.entries,
      filesToRead: this.filesToRead,
      filesRead: this.filesRead,
      bytesToRead: this.bytesToRead,
      bytesRead: this.bytesRead,
      elapsedMs: now - this.#started,
    };
    hashingChannel.publish(progress);
  }
}

/** A reporter for `path` when anyone listens, else undefined (so hashing without listeners counts nothing). */
function reporterFor(path: string, type: HashingProgress["type"]): HashingReporter | undefined {
  return hashingChannel.hasSubscribers ? new HashingReporter(path, type) : undefined;
}

type MutableEntry = { -readonly [K in keyof FolderEntry]: FolderEntry[K] };

export class FileHasher {
  readonly #cache: DigestCache;
  readonly #threads: number | undefined;
  readonly #racyWindowNs: bigint;
  /** Counters for benchmarks and tests: how many files were read vs answered from the cache. */
  readonly stats = { read: 0, cached: 0 };

  constructor(options: FileHasherOptions = {}) {
    const dir =
      options.cacheDir !== undefined
        ? options.cacheDir
        : options.cacheFile !== undefined
          ? options.cacheFile && `${options.cacheFile}.d`
          : path.join(defaultCacheDir(), `digests-v${CACHE_VERSION}`);
    this.#cache = new DigestCache(dir || undefined);
    this.#threads = options.threads ?? options.concurrency;
    this.#racyWindowNs = BigInt(options.racyWindowMs ?? RACY_WINDOW_MS) * 1_000_000n;
  }

  /** Digest of one file (symlinks followed): its bytes and its mode. */
  async hashFile(absolutePath: string): Promise<InputDigest> {
    const stat = await statOrThrow(absolutePath);
    if (!stat.isFile()) throw notA("file", absolutePath, stat.isDirectory() ? "a folder" : "not a regular file");
    const scope = this.#cache.singleFiles();
    const signature = statSignature(stat);
    let digest = scope.lookup(absolutePath, signature);
    const reporter = reporterFor(absolutePath, "file");
    if (reporter) reporter.entries = 1;
    if (digest !== undefined) {
      this.stats.cached++;
    } else {
      const trusted = this.#trusted(stat, BigInt(Date.now()) * 1_000_000n);
      const size = Number(stat.size);
      if (reporter) {
        reporter.phase = "reading";
        reporter.filesToRead = 1;
        reporter.bytesToRead = size;
      }
      try {
        digest =
          size > LARGE_SINGLE_FILE
            ? await hashStreamed(absolutePath, (bytes) => {
                if (!reporter) return;
                reporter.bytesRead += bytes;
                reporter.tick();
              })
            : hashFileSync(absolutePath);
      } catch (error) {
        reporter?.end(true);
        throw error;
      }
      if (reporter) {
        reporter.filesRead = 1;
        reporter.bytesRead = size;
      }
      this.stats.read++;
      if (trusted) scope.remember(absolutePath, signature, digest);
    }
    reporter?.end(false);
    const entry: FolderEntry = {
      path: ".",
      type: "file",
      mode: Number(stat.mode & 0o7777n),
      size: Number(stat.size),
      digest,
      mtimeMs: Number(stat.mtimeNs / 1_000_000n),
    };
    return { type: "file", digest: fileDigest(entry), entries: [entry] };
  }

  /** Digest of a folder: every selected entry's relative path, type, mode and content digest (or link target). */
  async hashFolder(absolutePath: string, selection: FolderSelection = {}): Promise<InputDigest> {
    const entries = await this.#list(absolutePath, selection, true);
    return { type: "folder", digest: entriesDigest(entries), entries };
  }

  /** The entries of a folder after ignore rules (and git tracking, for `tracked`), sorted by path, without digests. */
  listFolder(absolutePath: string, selection: FolderSelection = {}): Promise<FolderEntry[]> {
    return this.#list(absolutePath, selection, false);
  }

  async #list(absolutePath: string, selection: FolderSelection, withDigests: boolean): Promise<FolderEntry[]> {
    const stat = await statOrThrow(absolutePath);
    if (!stat.isDirectory()) throw notA("folder", absolutePath, "a file");
    const scope = withDigests ? this.#cache.root(absolutePath, `${selection.select ?? "all"}\0${selection.gitignore !== false}`).begin() : undefined;
    const now = BigInt(Date.now()) * 1_000_000n;
    const entries: MutableEntry[] = [];
    // Files whose digest the cache does not have: read after the walk, on every core.
    const toRead: number[] = [];
    const toReadPaths: (string | Buffer)[] = [];
    const toReadSizes: number[] = [];
    const toReadSignatures: (string | undefined)[] = [];
    const toReadSlots: number[] = [];
    const reporter = withDigests ? reporterFor(absolutePath, "folder") : undefined;
    try {
      await walkFolder(absolutePath, selection, ({ rel, abs, stat: s }) => {
        const mode = Number(s.mode & 0o7777n);
        const mtimeMs = Number(s.mtimeNs / 1_000_000n);
        if (s.isDirectory()) {
          entries.push({ path: rel, type: "dir", mode, mtimeMs });
        } else if (s.isSymbolicLink()) {
          entries.push({ path: rel, type: "symlink", mode, target: readlinkSync(abs, "utf8"), mtimeMs });
        } else if (!scope) {
          entries.push({ path: rel, type: "file", mode, size: Number(s.size), mtimeMs });
        } else {
          const signature = statSignature(s);
          const { slot, digest } = scope.lookup(rel, signature);
          if (digest !== undefined) this.stats.cached++;
          else {
            toRead.push(entries.length);
            toReadSlots.push(slot);
            toReadPaths.push(abs);
            toReadSizes.push(Number(s.size));
            toReadSignatures.push(this.#trusted(s, now) ? signature : undefined);
            if (reporter) {
              reporter.filesToRead++;
              reporter.bytesToRead += Number(s.size);
            }
          }
          entries.push({ path: rel, type: "file", mode, size: Number(s.size), digest, mtimeMs });
        }
        if (reporter) {
          reporter.entries = entries.length;
          reporter.tick();
        }
      });

      if (scope && toRead.length > 0) {
        if (reporter) reporter.phase = "reading";
        await hashFiles(
          toReadPaths,
          toReadSizes,
          (k, digest) => {
            const entry = entries[toRead[k]!]!;
            entry.digest = digest;
            this.stats.read++;
            const signature = toReadSignatures[k];
            if (signature !== undefined) scope.remember(toReadSlots[k]!, signature, digest);
            if (reporter) {
              reporter.filesRead++;
              reporter.bytesRead += toReadSizes[k]!;
              reporter.tick();
            }
          },
          this.#threads !== undefined ? { threads: this.#threads } : {},
        );
      }
    } catch (error) {
      reporter?.end(true);
      throw error;
    }
    scope?.end();
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (withDigests) await this.flush();
    reporter?.end(false);
    return entries;
  }

  /** Not changed within the racy window: its digest may be cached (git's "racily clean" guard). */
  #trusted(stat: BigIntStats, now: bigint): boolean {
    return now - stat.mtimeNs > this.#racyWindowNs && now - stat.ctimeNs > this.#racyWindowNs;
  }

  /** Writes the digest cache files that changed (each atomically, so a concurrent reader never sees half a file). */
  async flush(): Promise<void> {
    this.#cache.flush();
  }
}

// ------------------------------------------------------------------------------------------------ reading again

/**
 * The bytes of a file exactly as they were hashed. Streams `absolutePath` while hashing it again, and fails with
 * FILE_CHANGED, naming the file, when it is gone, is no longer a regular file, or its size or bytes differ from
 * `expected`. The last chunk is held back until the digest is checked, so a consumer never receives a whole file
 * that is not the one the tag was computed from. `follow`: read through a symlink (a file a layer names directly);
 * entries of a folder are never followed.
 */
export function readHashedFile(absolutePath: string, expected: HashedFile, options: { readonly follow?: boolean } = {}): Readable {
  return Readable.from(verifiedChunks(absolutePath, expected, options.follow ?? false), { objectMode: false });
}

function changed(file: string, why: string, cause?: unknown): ImageSpecError {
  return new ImageSpecError("FILE_CHANGED", `Cannot send ${showValue(file)} to the build: ${why} since the tag was computed`, {
    value: file,
    hint: "A file changed while the build started (an editor, a generator, a watcher?). Run the command again: the tag is computed anew from what is there then.",
    cause,
  });
}

/** Why a file that was hashed cannot be opened again. */
function unopenable(file: string, error: unknown): ImageSpecError {
  const code = (error as NodeJS.ErrnoException).code;
  return changed(file, code === "ENOENT" ? "it was deleted" : code === "ELOOP" ? "it became a symlink" : `it cannot be read (${code ?? String(error)})`, error);
}

async function* verifiedChunks(file: string, expected: HashedFile, follow: boolean): AsyncGenerator<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, follow ? fs.constants.O_RDONLY : fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    throw unopenable(file, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw changed(file, "it is no longer a regular file");
    if (info.size !== expected.size) throw changed(file, `its size changed from ${expected.size} to ${info.size} bytes`);
    const hash = createHash("sha256");
    let held: Buffer | undefined;
    let total = 0;
    for (;;) {
      // Each chunk is handed on, so each is a new buffer: sized to what is left (plus a byte that shows growth), not
      // 1 MB for every small file (the garbage collector counted those, about 0.7 s for a 10k-file context).
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(expected.size - total, 0) + 1));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const bytes = chunk.subarray(0, bytesRead);
      hash.update(bytes);
      total += bytesRead;
      if (held) yield held;
      held = bytes;
    }
    if (total !== expected.size || hash.digest("hex") !== expected.digest) throw changed(file, "its content changed");
    if (held) yield held;
  } finally {
    await handle.close();
  }
}

/** Files up to this size may be read whole with `readHashedFileSync`. */
export const WHOLE_FILE_MAX = 1 << 20;

/**
 * The bytes of a small file (at most `WHOLE_FILE_MAX`) exactly as they were hashed, read whole with synchronous
 * calls: for a context of many small files, four system calls each instead of a stream, a file handle and a
 * promise per call. Fails with FILE_CHANGED as `readHashedFile` does.
 */
export function readHashedFileSync(absolutePath: string, expected: HashedFile, options: { readonly follow?: boolean } = {}): Buffer {
  if (expected.size > WHOLE_FILE_MAX) throw new RangeError(`readHashedFileSync reads files up to ${WHOLE_FILE_MAX} bytes, not ${expected.size}`);
  let fd: number;
  try {
    fd = openSync(absolutePath, options.follow ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw unopenable(absolutePath, error);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw changed(absolutePath, "it is no longer a regular file");
    if (info.size !== expected.size) throw changed(absolutePath, `its size changed from ${expected.size} to ${info.size} bytes`);
    // One byte more than expected: a file that grew since the fstat shows it.
    const bytes = Buffer.allocUnsafe(expected.size + 1);
    let total = 0;
    for (let n = -1; n !== 0 && total < bytes.length; total += n) n = readSync(fd, bytes, total, bytes.length - total, null);
    const content = bytes.subarray(0, expected.size);
    if (total !== expected.size || createHash("sha256").update(content).digest("hex") !== expected.digest) throw changed(absolutePath, "its content changed");
    return content;
  } finally {
    closeSync(fd);
  }
}

async function hashStreamed(file: string, onChunk: (bytes: number) => void): Promise<string> {
  const handle = await fs.open(file, "r");
  try {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      onChunk(bytesRead);
    }
    return hash.digest("hex");
  } finally {
    await handle.close();
  }
}

/** What a system error reading a path means for the user, by its errno code; undefined for other errors. */
export function fileErrorReason(code: string): string | undefined {
  return FILE_ERRORS[code];
}

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "it does not exist",
  ENOTDIR: "a folder on its path is a file",
  EISDIR: "it is a folder, not a file",
  ENAMETOOLONG: "the path is too long for this system",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "it is a symbolic link that points to itself (a loop)",
};

async function statOrThrow(file: string): Promise<BigIntStats> {
  try {
    return await fs.stat(file, { bigint: true });
  } catch (error) {
    const why = fileErrorReason(String((error as NodeJS.ErrnoException).code)) ?? `it cannot be read (${(error as Error).message})`;
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot read ${showValue(file)}: ${why}`, { value: file, cause: error });
  }
}

function notA(expected: "file" | "folder", file: string, actual: string): ImageSpecError {
  return new ImageSpecError("FILE_NOT_FOUND", `Cannot read ${showValue(file)} as a ${expected}: it is ${actual}`, { value: file });
}

let shared: FileHasher | undefined;
/** The process-wide hasher, so every image in a process shares one digest cache. */
export function defaultFileHasher(): FileHasher {
  shared ??= new FileHasher();
  return shared;
}
