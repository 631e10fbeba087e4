/**
 * The stat cache behind hashing: a file's sha256 remembered with what git's index trusts (size, mtime and ctime to
 * the nanosecond, inode, device, mode), so an unchanged tree re-hashes at the speed of `lstat`.
 *
 * One cache file per walked root (and selection), holding exactly the files of its last walk: files deleted since,
 * and other roots, are not in it, so it never grows past the tree it describes. Files named on their own share one
 * file, bounded to the most recently used. At most `MAX_ROOTS` root files are kept (the least recently written go).
 * Each is read in one call when its root is first walked and written in one call (to a temporary file, renamed) when
 * it changed. The cache is only a cache: damaged, missing or unwritable costs time, never correctness.
 */

import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import path from "node:path";

const MAGIC = "imagespec-digests 3\n";
/** Root files kept in the cache folder; beyond this, the least recently written are deleted. */
const MAX_ROOTS = 64;
/** Single files remembered (requirements files, Dockerfiles, a copied archive). */
const MAX_SINGLE_FILES = 4_096;

/**
 * What a stat says that the digest depends on, as one string. A digest is reused only when all of it is equal.
 * The mode is the whole st_mode (type and permission bits).
 */
export function statSignature(stat: { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint; dev: bigint; mode: bigint }): string {
  const text = `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}:${stat.dev}:${stat.mode}`;
  // Reading a character flattens the template's tree of 11 concatenated pieces in place: about 490 bytes held per
  // file become about 110 (50k files waiting to be read hold each signature until their digest comes back).
  text.charCodeAt(0);
  return text;
}

/** `"<signature>|<digest>"` as one flat string (a concatenation is flattened in place by the first character read). */
function record(signature: string, digest: string): string {
  const text = `${signature}|${digest}`;
  text.charCodeAt(0);
  return text;
}

/** A record: `"<signature>|<sha256>"`; the digest when the signature is the same, else undefined. */
function digestIf(record: string | undefined, signature: string): string | undefined {
  if (record === undefined || record.length !== signature.length + 65 || record.charCodeAt(signature.length) !== 124 /* | */) return undefined;
  return record.startsWith(signature) ? record.slice(signature.length + 1) : undefined;
}

/**
 * One walked root's records, in the order the last walk saw the files. A walk of an unchanged tree sees them in the
 * same order (a folder lists its names in the same order while it is unchanged), so each file is matched against the
 * next record by one string comparison; an index by name is built only when the order differs.
 */
export class RootDigests {
  #keys: string[] = [];
  #records: string[] = [];
  #index: Map<string, number> | undefined;
  #changed = false;

  constructor(readonly file: string | undefined) {
    const fields = file ? readFields(file) : [];
    for (let i = 0; i < fields.length; i += 2) {
      this.#keys.push(fields[i]!);
      this.#records.push(fields[i + 1]!);
    }
  }

  /** A walk of the root: look files up as they are seen, remember new digests, then `end()`. */
  begin(): RootWalk {
    const keys = this.#keys;
    const records = this.#records;
    let cursor = 0;
    let found = 0;
    const seenKeys: string[] = [];
    const seenRecords: (string | undefined)[] = [];
    let learned = false;
    return {
      lookup: (key, signature) => {
        let at = -1;
        if (cursor < keys.length && keys[cursor] === key) at = cursor;
        else {
          if (!this.#index) {
            this.#index = new Map();
            for (let i = 0; i < keys.length; i++) this.#index.set(keys[i]!, i);
          }
          at = this.#index.get(key) ?? -1;
        }
        const slot = seenKeys.length;
        seenKeys.push(key);
        if (at < 0) {
          seenRecords.push(undefined);
          return { slot, digest: undefined };
        }
        cursor = at + 1;
        found++;
        const digest = digestIf(records[at], signature);
        seenRecords.push(digest === undefined ? undefined : records[at]);
        return { slot, digest };
      },
      remember: (slot, signature, digest) => {
        seenRecords[slot] = record(signature, digest);
        learned = true;
      },
      end: () => {
        // What this walk saw is what the file will hold: deleted files are gone.
        const nextKeys: string[] = [];
        const nextRecords: string[] = [];
        for (let i = 0; i < seenKeys.length; i++) {
          const record = seenRecords[i];
          if (record === undefined) continue;
          nextKeys.push(seenKeys[i]!);
          nextRecords.push(record);
        }
        if (learned || found < keys.length || nextKeys.length !== keys.length) this.#changed = true;
        this.#keys = nextKeys;
        this.#records = nextRecords;
        this.#index = undefined;
      },
    };
  }

  flush(): boolean {
    if (!this.file || !this.#changed) return false;
    this.#changed = false;
    const keys = this.#keys;
    const records = this.#records;
    return writeAtomically(this.file, function* () {
      yield MAGIC;
      for (let i = 0; i < keys.length; i++) yield `${keys[i]}\0${records[i]}\0`;
    });
  }
}

export interface RootWalk {
  /** The remembered digest of `key` if its signature is the same; `slot` names the file for `remember`. */
  lookup(key: string, signature: string): { readonly slot: number; readonly digest: string | undefined };
  remember(slot: number, signature: string, digest: string): void;
  end(): void;
}

/** Files named on their own, by absolute path, the most recently used last, bounded to MAX_SINGLE_FILES. */
export class SingleFileDigests {
  readonly #records = new Map<string, string>();
  #changed = false;

  constructor(readonly file: string | undefined) {
    const fields = file ? readFields(file) : [];
    for (let i = 0; i < fields.length; i += 2) this.#records.set(fields[i]!, fields[i + 1]!);
  }

  lookup(key: string, signature: string): string | undefined {
    const record = this.#records.get(key);
    const digest = digestIf(record, signature);
    if (digest !== undefined) {
      this.#records.delete(key);
      this.#records.set(key, record!);
    }
    return digest;
  }

  remember(key: string, signature: string, digest: string): void {
    this.#records.delete(key);
    this.#records.set(key, record(signature, digest));
    this.#changed = true;
  }

  flush(): boolean {
    if (!this.file || !this.#changed) return false;
    this.#changed = false;
    const records = this.#records;
    return writeAtomically(this.file, function* () {
      yield MAGIC;
      let skip = records.size - MAX_SINGLE_FILES;
      for (const [key, record] of records) if (skip-- <= 0) yield `${key}\0${record}\0`;
    });
  }
}

/** The cache folder: one file per root, plus one for single files. */
export class DigestCache {
  readonly #dir: string | undefined;
  readonly #roots = new Map<string, RootDigests>();
  #singles: SingleFileDigests | undefined;

  constructor(dir: string | undefined) {
    this.#dir = dir;
  }

  /** The records of one walked root; `variant` tells apart selections of the same folder (tracked files, no .gitignore). */
  root(absolutePath: string, variant: string): RootDigests {
    const name = `root-${createHash("sha256").update(`${absolutePath}\0${variant}`).digest("hex").slice(0, 32)}`;
    let scope = this.#roots.get(name);
    if (!scope) {
      scope = new RootDigests(this.#file(name));
      this.#roots.set(name, scope);
    }
    return scope;
  }

  /** The records of files named on their own, keyed by absolute path. */
  singleFiles(): SingleFileDigests {
    this.#singles ??= new SingleFileDigests(this.#file("files"));
    return this.#singles;
  }

  #file(name: string): string | undefined {
    return this.#dir ? path.join(this.#dir, `${name}.digests`) : undefined;
  }

  /** Writes every scope that changed; then keeps the folder within MAX_ROOTS files. */
  flush(): void {
    let wrote = this.#singles?.flush() ?? false;
    for (const scope of this.#roots.values()) wrote = scope.flush() || wrote;
    if (wrote && this.#dir) prune(this.#dir);
  }
}

/** The key and record fields of a cache file (empty when there is none, or it is of another version, or torn). */
function readFields(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "latin1");
  } catch {
    return []; // no cache yet
  }
  if (!text.startsWith(MAGIC) || !text.endsWith("\0")) return [];
  const fields = text.slice(MAGIC.length, -1).split("\0");
  return fields.length % 2 === 0 ? fields : [];
}

/** Bytes gathered before one write: the file is written in pieces, never held whole (50k files: about 8 MB). */
const WRITE_CHUNK = 1 << 20;

/** Writes `file` from the pieces `text` yields, through a temporary file renamed over it. */
function writeAtomically(file: string, text: () => Iterable<string>): boolean {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  let fd: number | undefined;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    fd = openSync(tmp, "w");
    let chunk = "";
    for (const piece of text()) {
      chunk += piece;
      if (chunk.length >= WRITE_CHUNK) {
        writeAll(fd, chunk);
        chunk = "";
      }
    }
    writeAll(fd, chunk);
    const open = fd;
    fd = undefined;
    closeSync(open);
    renameSync(tmp, file);
    return true;
  } catch {
    // A read-only home or a full disk must not fail a build: the cache only saves time.
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    return false;
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, "latin1");
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
}

/** Keeps the newest MAX_ROOTS root files (by when they were last written); drops stale temporary files. */
function prune(dir: string): void {
  try {
    const names = readdirSync(dir).filter((n) => n.startsWith("root-") && n.endsWith(".digests"));
    const now = Date.now();
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".tmp")) continue;
      const file = path.join(dir, name);
      if (now - statSync(file).mtimeMs > 10 * 60_000) rmSync(file, { force: true });
    }
    if (names.length <= MAX_ROOTS) return;
    const dated = names.map((n) => ({ file: path.join(dir, n), at: statSync(path.join(dir, n)).mtimeMs })).sort((a, b) => b.at - a.at);
    for (const { file } of dated.slice(MAX_ROOTS)) rmSync(file, { force: true });
  } catch {
    // Another process pruning at the same time, or an unreadable folder: it is only a cache.
  }
}
