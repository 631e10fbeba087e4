/**
 * BuildKit's file sync (`moby.filesync.v1.FileSync/DiffCopy`), the sending side: the engine names a folder (`dir-name`
 * in the call's metadata: `context` or `dockerfile`), we stream one STAT packet per entry of that folder in the order
 * fsutil walks a folder, then an empty STAT. The engine compares each entry with the copy it kept from the last build
 * under the same shared key (mode, size, time, link target) and asks, by the entry's index, for the files it does not
 * have; we answer each with DATA packets and an empty DATA. FIN from the engine ends the transfer, and we answer FIN.
 *
 * What is offered is the context listing as it is (`contextEntries`: the entries and modes the tag was computed from,
 * ignore files already applied), exactly as the tar path sends it: the engine's `exclude-patterns` come from the same
 * .dockerignore the listing applied. `include-patterns` and
 * `followpaths` are honoured with fsutil's meaning: BuildKit uses them to fetch single files (`.dockerignore`, the
 * Dockerfile) without the rest; a follow path is included, and so is the target of a symlink on its way.
 */

import { createHash } from "node:crypto";
import { type ServerDuplexStream, status } from "@grpc/grpc-js";
import { type ContextEntry, openContextFile, readSmallContextFile } from "../context-entries.js";
import type { Message } from "./proto.js";

const PACKET_STAT = 0;
const PACKET_REQ = 1;
const PACKET_DATA = 2;
const PACKET_FIN = 3;
const PACKET_ERR = 4;

/** Go's os.FileMode bits, which fsutil's Stat.mode carries. */
const GO_MODE_DIR = 0x80000000;
const GO_MODE_SYMLINK = 1 << 27;
const GO_MODE_SETUID = 1 << 23;
const GO_MODE_SETGID = 1 << 22;
const GO_MODE_STICKY = 1 << 20;

/** fsutil reads files in 32 KiB pieces; so do we. */
const CHUNK = 32 * 1024;
/** Files sent at once, as fsutil's sender does. */
const SENDERS = 4;

export interface FileSyncDirStats {
  /** `context` or `dockerfile`. */
  readonly name: string;
  /** Entries offered. */
  entries: number;
  /** Files the engine asked for, and their bytes. */
  files: number;
  bytes: number;
}

export interface FileSyncStats {
  /** One per DiffCopy call, in order. */
  readonly transfers: FileSyncDirStats[];
  /** Every byte of every packet we sent, with gRPC's 5-byte message framing. */
  wireBytes: number;
}

/** A unix mode (permission, setuid/setgid/sticky bits) and an entry type as Go's os.FileMode; a symlink's is 0777. */
export function goFileMode(entry: { readonly type: ContextEntry["type"]; readonly mode?: number }): number {
  const unix = entry.type === "symlink" ? 0o777 : (entry.mode ?? 0o644);
  let mode = unix & 0o777;
  if (unix & 0o4000) mode |= GO_MODE_SETUID;
  if (unix & 0o2000) mode |= GO_MODE_SETGID;
  if (unix & 0o1000) mode |= GO_MODE_STICKY;
  if (entry.type === "dir") mode |= GO_MODE_DIR;
  if (entry.type === "symlink") mode |= GO_MODE_SYMLINK;
  return mode >>> 0;
}

/** fsutil's path order: byte-wise, with `/` before every other byte, so a folder's entries follow it directly. */
export function comparePaths(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The entries in the order fsutil walks a folder, each name once: a folder as it was first listed, anything else as
 * it was last (as a tar extracted in order would leave it).
 */
export function walkOrder(entries: readonly ContextEntry[]): ContextEntry[] {
  const byName = new Map<string, ContextEntry>();
  for (const entry of entries) if (!(entry.type === "dir" && byName.get(entry.name)?.type === "dir")) byName.set(entry.name, entry);
  const keyed = [...byName.values()].map((entry) => ({ entry, key: Buffer.from(entry.name, "utf8") }));
  keyed.sort((x, y) => comparePaths(x.key, y.key));
  return keyed.map((k) => k.entry);
}

/**
 * The time offered for an entry, in nanoseconds. BuildKit decides what to ask for by comparing size and time (and
 * mode, link target) with its copy from the last build, so a time must move whenever the bytes do. The whole seconds
 * are the entry's own time (clamped to SOURCE_DATE_EPOCH, as the tar has it); for a file the nanoseconds below them are
 * taken from the digest the tag was computed from, so an edit that keeps the size and the second (a restored backup,
 * `touch -r`, a generated file, a clamped time) still changes what is offered. The engine keeps whole seconds in layers
 * (moby truncates layer times), so none of this reaches an image.
 */
export function offeredTime(entry: ContextEntry): bigint {
  const seconds = BigInt(Math.floor(entry.mtime.getTime() / 1000)) * 1_000_000_000n;
  if (entry.type !== "file") return seconds;
  const digest =
    entry.source?.digest ??
    createHash("sha256")
      .update(entry.content ?? new Uint8Array())
      .digest("hex");
  return seconds + (BigInt(`0x${digest.slice(0, 16)}`) % 1_000_000_000n);
}

/** Where STAT packets are put together before they are copied out (grown for a longer path). */
let scratch = Buffer.allocUnsafe(4096);
/** A STAT packet's first bytes: type STAT (0), then the Stat as field 2, whose length follows. */
const packetHeader = Buffer.from([0x08, PACKET_STAT, 0x12, 0, 0, 0, 0, 0]);

/** Writes a protobuf varint (unsigned, up to 64 bits) at `at`; returns the offset after it. */
function putVarint(buffer: Buffer, at: number, value: number | bigint): number {
  let i = at;
  if (typeof value === "number" && value <= 0xffffffff) {
    let v = value >>> 0;
    while (v > 0x7f) {
      buffer[i++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buffer[i++] = v;
    return i;
  }
  let v = BigInt(value);
  while (v > 0x7fn) {
    buffer[i++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buffer[i++] = Number(v);
  return i;
}

/**
 * The STAT packet offered for an entry, as protobuf bytes (fsutil's `Packet{type: STAT, stat}`), encoded here rather
 * than through protobufjs: it is written once per entry of the context, 10,000 times for a 10,000-file folder. The
 * bytes are the ones protobufjs writes for the same packet (a test holds them equal).
 */
export function encodeStatPacket(entry: ContextEntry): Buffer {
  const target = entry.type === "symlink" ? entry.target : "";
  const room = 3 * (entry.name.length + target.length) + 64;
  if (scratch.length < room) scratch = Buffer.allocUnsafe(room * 2);
  const buffer = scratch;
  // The Stat message from offset 8, so the packet's header (at most 7 bytes) can go in front of it.
  const start = 8;
  buffer[start] = 0x0a; // path
  const pathLength = buffer.write(entry.name, start + 6, "utf8");
  // The path's length takes 1 to 5 bytes: move the path right after it.
  let i = putVarint(buffer, start + 1, pathLength);
  if (i !== start + 6) buffer.copy(buffer, i, start + 6, start + 6 + pathLength);
  i += pathLength;
  buffer[i++] = 0x10; // mode
  i = putVarint(buffer, i, goFileMode(entry));
  buffer[i++] = 0x18; // uid 0
  buffer[i++] = 0;
  buffer[i++] = 0x20; // gid 0
  buffer[i++] = 0;
  buffer[i++] = 0x28; // size
  i = putVarint(buffer, i, entry.type === "file" ? entry.size : Buffer.byteLength(target));
  buffer[i++] = 0x30; // modTime
  i = putVarint(buffer, i, offeredTime(entry));
  if (entry.type === "symlink") {
    buffer[i++] = 0x3a; // linkname
    const linkLength = Buffer.byteLength(target);
    i = putVarint(buffer, i, linkLength);
    i += buffer.write(target, i, "utf8");
  }
  const statLength = i - start;
  // Packet: type STAT (0), then the Stat as field 2.
  const header = packetHeader;
  const headerLength = putVarint(header, 3, statLength);
  const out = Buffer.allocUnsafe(headerLength + statLength);
  header.copy(out, 0, 0, headerLength);
  buffer.copy(out, headerLength, start, i);
  return out;
}

// ------------------------------------------------------------------------------------------- include patterns

/** Go's path.Match as a regular expression: `*` and `?` stop at `/`, `[...]` classes (`^` negates), `\` escapes. */
function goMatchRegExp(pattern: string): RegExp | undefined {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "\\") {
      i++;
      if (i >= pattern.length) return undefined;
      out += escapeOutside(pattern[i]!);
    } else if (c === "[") {
      let j = i + 1;
      let cls = "";
      if (pattern[j] === "^") {
        cls += "^";
        j++;
      }
      let first = true;
      for (; j < pattern.length && (pattern[j] !== "]" || first); j++) {
        first = false;
        const d = pattern[j]!;
        if (d === "\\") {
          j++;
          if (j >= pattern.length) return undefined;
          cls += escapeInClass(pattern[j]!);
        } else if (d === "-") cls += "-";
        else cls += escapeInClass(d);
      }
      if (j >= pattern.length) return undefined; // unterminated class: Go reports ErrBadPattern, which matches nothing
      out += cls.startsWith("^") ? `(?![/])[${cls}]` : `[${cls}]`;
      i = j;
    } else out += escapeOutside(c);
  }
  try {
    return new RegExp(`^${out}$`, "u");
  } catch {
    return undefined;
  }
}

function escapeOutside(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

function escapeInClass(c: string): string {
  return /[\]\\^\-[]/.test(c) ? `\\${c}` : c;
}

/** filepath.Clean for the relative, slash-separated patterns BuildKit sends. */
function cleanPattern(pattern: string): string {
  const parts: string[] = [];
  for (const part of pattern.replace(/^\/+/, "").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts.at(-1) !== "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/") || ".";
}

/**
 * fsutil's include filter: a pattern is matched against as many leading components as the path has, so the folders
 * on the way to a match are included (partially), and everything below a folder a whole pattern matches is included.
 */
export function filterIncludes(ordered: readonly ContextEntry[], patterns: readonly string[] | undefined): ContextEntry[] {
  if (patterns === undefined || patterns.length === 0) return [...ordered];
  const compiled = patterns.map(cleanPattern).map((pattern) => ({ pattern, depth: pattern.split("/").length }));
  const out: ContextEntry[] = [];
  let includedDir: string | undefined;
  let skippedDir: string | undefined;
  for (const entry of ordered) {
    if (skippedDir !== undefined && entry.name.startsWith(`${skippedDir}/`)) continue;
    skippedDir = undefined;
    if (includedDir !== undefined && entry.name.startsWith(`${includedDir}/`)) {
      out.push(entry);
      continue;
    }
    includedDir = undefined;
    const depth = entry.name.split("/").length;
    let matched = false;
    let partial = true;
    for (const { pattern, depth: patternDepth } of compiled) {
      const isPartial = patternDepth > depth;
      const prefix = isPartial ? pattern.split("/").slice(0, depth).join("/") : pattern;
      if (goMatchRegExp(prefix)?.test(entry.name)) {
        matched = true;
        if (!isPartial) {
          partial = false;
          break;
        }
      }
    }
    if (!matched) {
      if (entry.type === "dir") skippedDir = entry.name;
      continue;
    }
    if (!partial && entry.type === "dir") includedDir = entry.name;
    out.push(entry);
  }
  return out;
}

/**
 * fsutil's follow paths: each path is included, and where one of its components is a symlink of the listing, the
 * link's target is followed (and included) too. A component with wildcards is matched as a pattern, not followed.
 */
export function followPathTargets(paths: readonly string[], entries: readonly ContextEntry[]): string[] {
  const links = new Map(entries.flatMap((e) => (e.type === "symlink" ? [[e.name, e.target] as const] : [])));
  const resolved = new Set<string>();
  const visit = (wanted: string, depth: number) => {
    const parts = cleanPattern(wanted).split("/");
    if (parts[0] === ".." || depth > 40) return;
    let current = "";
    for (let i = 0; i < parts.length; i++) {
      current = current === "" || current === "." ? parts[i]! : `${current}/${parts[i]}`;
      const target = links.get(current);
      if (target !== undefined && !/[*?[\\]/.test(parts[i]!)) {
        resolved.add(current);
        const rest = parts.slice(i + 1).join("/");
        const base = target.startsWith("/") ? target : `${current.includes("/") ? current.slice(0, current.lastIndexOf("/")) : "."}/${target}`;
        visit(rest === "" ? base : `${base}/${rest}`, depth + 1);
        return;
      }
    }
    resolved.add(current);
  };
  for (const wanted of paths) visit(wanted, 0);
  return [...resolved].sort();
}

// ------------------------------------------------------------------------------------------- the transfer

/** A packet to send: a message, or one already encoded (STAT packets, see encodeStatPacket). */
type Call = ServerDuplexStream<Message, Message | Buffer>;

/** Each folder's entries in walk order, and each entry's STAT packet: made once per session, ahead when possible. */
const ordered = new WeakMap<readonly ContextEntry[], ContextEntry[]>();
const encoded = new WeakMap<ContextEntry, Buffer>();

function orderedEntries(listed: readonly ContextEntry[]): ContextEntry[] {
  let entries = ordered.get(listed);
  if (entries === undefined) {
    entries = walkOrder(listed);
    ordered.set(listed, entries);
  }
  return entries;
}

function statPacket(entry: ContextEntry): Buffer {
  let packet = encoded.get(entry);
  if (packet === undefined) {
    packet = encodeStatPacket(entry);
    encoded.set(entry, packet);
  }
  return packet;
}

/**
 * Orders the folders and encodes their STAT packets ahead of the engine's first file sync, a slice at a time so
 * the build request and the session's answers go out in between: the engine takes a moment to start a build, and
 * whatever is not ready when it asks is done then.
 */
export function prepareFileSync(dirs: ReadonlyMap<string, readonly ContextEntry[]>, slice = 1000): void {
  const pending = [...dirs.values()];
  let current: ContextEntry[] | undefined;
  let index = 0;
  const step = () => {
    if (current === undefined) {
      const listed = pending.shift();
      if (listed === undefined) return;
      current = orderedEntries(listed);
      index = 0;
    } else {
      const end = Math.min(current.length, index + slice);
      for (; index < end; index++) statPacket(current[index]!);
      if (index >= current.length) current = undefined;
    }
    setImmediate(step);
  };
  setImmediate(step);
}

/**
 * Serves one DiffCopy call from `dirs` (folder name → entries). Resolves when the transfer ends; a file that cannot
 * be sent as listed is reported to `onFailure` (it fails the build) and ends the transfer with an ERR packet.
 */
export function serveDiffCopy(
  call: Call,
  dirs: ReadonlyMap<string, readonly ContextEntry[]>,
  stats: FileSyncStats,
  onFailure: (error: Error) => void,
  trace: (line: string) => void = () => {},
): Promise<void> {
  // BuildKit sends one header per value; Node's HTTP/2 joins repeated headers with ", " (so a path that itself holds
  // ", " cannot be told apart: such a pattern is split).
  const metadata = (key: string) => call.metadata.get(key).flatMap((v) => (Buffer.isBuffer(v) ? v.toString("utf8") : v).split(", "));
  const name = metadata("dir-name")[0] ?? "";
  const listed = dirs.get(name);
  if (listed === undefined) {
    call.emit("error", { code: status.NOT_FOUND, details: `no folder named "${name}" in this build` });
    return Promise.resolve();
  }
  const follow = metadata("followpaths");
  const includes = follow.length > 0 ? [...metadata("include-patterns"), ...followPathTargets(follow, listed)] : metadata("include-patterns");
  const offered = filterIncludes(orderedEntries(listed), includes);
  const dir: FileSyncDirStats = { name, entries: offered.length, files: 0, bytes: 0 };
  stats.transfers.push(dir);

  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      trace(`file sync ${name}: ${dir.entries} entries offered, ${dir.files} files (${dir.bytes} bytes) asked for`);
      resolve();
    };
    call.on("error", finish);
    call.on("close", finish);
    call.on("finish", finish);
    // The engine gave up on the transfer (its build was cancelled): stop sending.
    call.on("cancelled", finish);

    const send = (packet: Message): Promise<void> =>
      new Promise((resolveWrite) => {
        if (finished || call.destroyed || call.writableEnded) return resolveWrite();
        if (call.write(packet)) resolveWrite();
        else call.once("drain", () => resolveWrite());
      });
    const fail = async (error: Error) => {
      onFailure(error);
      await send({ type: PACKET_ERR, data: Buffer.from(error.message, "utf8") });
      call.end();
    };

    // Files the engine may ask for, by the index of their STAT packet (every entry counts, as in fsutil).
    type FileEntry = Extract<ContextEntry, { type: "file" }>;
    const requestable = new Map<number, FileEntry>();
    const queue: FileEntry[] = [];
    const ids = new Map<FileEntry, number>();
    let active = 0;
    const pump = () => {
      while (active < SENDERS && queue.length > 0 && !finished) {
        const entry = queue.shift()!;
        active++;
        sendFile(entry)
          .catch((error: unknown) => fail(error as Error))
          .finally(() => {
            active--;
            pump();
          });
      }
    };
    const sendFile = async (entry: FileEntry) => {
      const id = ids.get(entry)!;
      dir.files++;
      // The bytes the tag was computed from, checked as they are read: a file that changed fails the build, named.
      // A small file is read whole, synchronously (no stream, handle or promise per call); a large one streamed.
      const whole = readSmallContextFile(entry);
      for await (const chunk of whole ? [whole] : openContextFile(entry)) {
        const buffer = chunk as Buffer;
        for (let offset = 0; offset < buffer.length; offset += CHUNK) {
          const data = buffer.subarray(offset, Math.min(buffer.length, offset + CHUNK));
          dir.bytes += data.length;
          await send({ type: PACKET_DATA, ID: id, data });
        }
      }
      await send({ type: PACKET_DATA, ID: id });
    };

    call.on("data", (packet: Message) => {
      const type = (packet.type as number | undefined) ?? PACKET_STAT;
      if (type === PACKET_REQ) {
        const id = (packet.ID as number | undefined) ?? 0;
        const entry = requestable.get(id);
        if (entry === undefined) {
          void fail(new Error(`Cannot send a file to the Docker build: the engine asked for entry ${id}, which is not a file of ${name}`));
          return;
        }
        requestable.delete(id);
        queue.push(entry);
        pump();
      } else if (type === PACKET_FIN) {
        void send({ type: PACKET_FIN }).then(() => call.end());
      } else if (type === PACKET_ERR) {
        // The engine gave up (its own error is in the build's result); nothing more to send.
        call.end();
      }
    });

    void (async () => {
      for (let index = 0; index < offered.length; index++) {
        if (finished || call.destroyed || call.writableEnded) return;
        const entry = offered[index]!;
        if (entry.type === "file") {
          requestable.set(index, entry);
          ids.set(entry, index);
        }
        // Written as fast as the stream takes them: only a full stream is waited for (a promise per entry is not).
        if (!call.write(statPacket(entry))) await new Promise((resolveDrain) => call.once("drain", resolveDrain));
      }
      await send({ type: PACKET_STAT });
    })();
  });
}
