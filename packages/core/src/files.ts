/**
 * The files a definition reads: which ones are selected (Docker's .dockerignore rules, git's .gitignore rules and
 * tracked files), their modes and their digests; and the one way to read their bytes again afterwards.
 *
 * One walk decides what enters the tag, and builders send exactly those entries — they never walk again. When they
 * need the bytes, `readHashedFile` reads the file once more and checks it against the digest the tag was computed from,
 * so what is sent is what was hashed, or the build fails naming the file. File contents are streamed and hashed
 * concurrently, and digests are cached by what git's index trusts (size, mtime, ctime, inode, device, mode) in a file
 * under the user's cache folder, so an unchanged tree re-hashes at the speed of `stat`.
 */

import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";
import * as fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { canonicalJson, sha256Hex } from "./canonical.js";
import { ImageSpecError, showValue } from "./errors.js";
import { DockerIgnore, type DockerMatchInfo, readDockerignore } from "./ignore/dockerignore.js";
import { type GitignoreFile, isGitIgnored, parseGitignore } from "./ignore/gitignore.js";
import { limiter } from "./limiter.js";

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

/** A .dockerignore-syntax file, by the name messages use for it, with its text. */
export interface IgnoreFile {
  readonly name: string;
  readonly text: string;
}

export interface FolderSelection {
  /** `all`: everything the ignore files leave in; `tracked`: only files git tracks. */
  readonly select?: "all" | "tracked";
  /** Extra .dockerignore-syntax patterns, matched relative to the folder (one list, as one file). */
  readonly ignorePatterns?: readonly string[];
  /** Extra .dockerignore-syntax files (`withDockerignore`), each applied on its own, relative to the folder. */
  readonly ignoreFiles?: readonly IgnoreFile[];
  /** Replaces the folder's own `.dockerignore` (BuildKit's `<Dockerfile>.dockerignore`); `null`: none applies. */
  readonly dockerignore?: IgnoreFile | null;
  /** Apply `.gitignore` files (default true; false for a Dockerfile's context, which Docker reads without them). */
  readonly gitignore?: boolean;
}

export interface InputDigest {
  readonly type: "file" | "folder";
  /** sha256 over the entries (folder) or over the bytes and mode (file). */
  readonly digest: string;
  /** The folder's selected entries, or the single file as `.`. */
  readonly entries: readonly FolderEntry[];
}

/** Folder names never copied nor hashed: VCS metadata changes on every commit and never belongs in an image. */
const ALWAYS_IGNORED = new Set([".git", ".hg", ".svn"]);

/** A file changed this recently (mtime or ctime) may change again within the same timestamp tick: it is not cached. */
const RACY_WINDOW_MS = 2_000;

type CacheRecord = [size: string, mtimeNs: string, ctimeNs: string, ino: string, dev: string, mode: number, digest: string];
const CACHE_VERSION = 2;

export interface FileHasherOptions {
  /** Where the digest cache lives; `false` keeps it in memory only. Default: `<cache dir>/file-digests-v2.json`. */
  readonly cacheFile?: string | false;
  /** Files read at once. */
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

/** The sha256 of a folder's entries as they enter the tag: path, type, mode, content digest, link target. */
export function entriesDigest(entries: readonly FolderEntry[]): string {
  return sha256Hex(canonicalJson(entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode, digest: e.digest, target: e.target }))));
}

/** The sha256 of a single file as it enters the tag: its bytes and, unless only its bytes are read, its mode. */
export function fileDigest(entry: FolderEntry, options: { readonly mode?: boolean; readonly name?: string } = {}): string {
  return sha256Hex(canonicalJson({ type: "file", digest: entry.digest, mode: options.mode === false ? undefined : entry.mode, name: options.name }));
}

export class FileHasher {
  readonly #cacheFile: string | false;
  readonly #limit: <T>(task: () => Promise<T>) => Promise<T>;
  readonly #racyWindowMs: number;
  #records: Map<string, CacheRecord> | undefined;
  #loading: Promise<Map<string, CacheRecord>> | undefined;
  #dirty = false;
  /** Counters for benchmarks and tests: how many files were read vs answered from the cache. */
  readonly stats = { read: 0, cached: 0 };

  constructor(options: FileHasherOptions = {}) {
    this.#cacheFile = options.cacheFile === undefined ? path.join(defaultCacheDir(), `file-digests-v${CACHE_VERSION}.json`) : options.cacheFile;
    this.#limit = limiter(options.concurrency ?? 32);
    this.#racyWindowMs = options.racyWindowMs ?? RACY_WINDOW_MS;
  }

  /** Digest of one file (symlinks followed): its bytes and its mode. */
  async hashFile(absolutePath: string): Promise<InputDigest> {
    const stat = await statOrThrow(absolutePath);
    if (!stat.isFile()) throw notA("file", absolutePath, stat.isDirectory() ? "a folder" : "not a regular file");
    const entry = await this.#fileEntry(absolutePath, ".", stat);
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
    const found = await selectEntries(absolutePath, selection);
    const out = await Promise.all(
      found.map(async (item): Promise<FolderEntry> => {
        const mode = Number(item.stat.mode & 0o7777n);
        const mtimeMs = Number(item.stat.mtimeNs / 1_000_000n);
        if (item.stat.isDirectory()) return { path: item.rel, type: "dir", mode, mtimeMs };
        if (item.stat.isSymbolicLink()) return { path: item.rel, type: "symlink", mode, target: await fs.readlink(item.abs, "utf8"), mtimeMs };
        if (!withDigests) return { path: item.rel, type: "file", mode, size: Number(item.stat.size), mtimeMs };
        return this.#fileEntry(item.abs, item.rel, item.stat);
      }),
    );
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (withDigests) await this.flush();
    return out;
  }

  async #fileEntry(abs: string | Buffer, rel: string, stat: BigIntStats): Promise<FolderEntry> {
    const mode = Number(stat.mode & 0o7777n);
    const size = Number(stat.size);
    const mtimeMs = Number(stat.mtimeNs / 1_000_000n);
    const key = typeof abs === "string" ? abs : abs.toString("latin1");
    const record: CacheRecord = [String(stat.size), String(stat.mtimeNs), String(stat.ctimeNs), String(stat.ino), String(stat.dev), Number(stat.mode), ""];
    const records = await this.#load();
    const cached = records.get(key);
    if (cached && record.every((value, i) => i === 6 || cached[i] === value)) {
      this.stats.cached++;
      return { path: rel, type: "file", mode, size, digest: cached[6], mtimeMs };
    }
    const digest = await this.#limit(() => hashBytes(abs));
    this.stats.read++;
    const now = BigInt(Date.now()) * 1_000_000n;
    const window = BigInt(this.#racyWindowMs) * 1_000_000n;
    if (now - stat.mtimeNs > window && now - stat.ctimeNs > window) {
      record[6] = digest;
      records.set(key, record);
      this.#dirty = true;
    }
    return { path: rel, type: "file", mode, size, digest, mtimeMs };
  }

  async #load(): Promise<Map<string, CacheRecord>> {
    if (this.#records) return this.#records;
    this.#loading ??= (async () => {
      const records = new Map<string, CacheRecord>();
      if (this.#cacheFile) {
        try {
          const data = JSON.parse(await fs.readFile(this.#cacheFile, "utf8")) as { version?: number; files?: Record<string, CacheRecord> };
          if (data.version === CACHE_VERSION && data.files) for (const [k, v] of Object.entries(data.files)) records.set(k, v);
        } catch {
          // No cache yet, or a damaged one: start empty, it is only a cache.
        }
      }
      this.#records = records;
      return records;
    })();
    return this.#loading;
  }

  /** Writes the digest cache if it changed (atomically, so a concurrent reader never sees half a file). */
  async flush(): Promise<void> {
    if (!this.#dirty || !this.#cacheFile || !this.#records) return;
    this.#dirty = false;
    const tmp = `${this.#cacheFile}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.#cacheFile), { recursive: true });
      await fs.writeFile(tmp, JSON.stringify({ version: CACHE_VERSION, files: Object.fromEntries(this.#records) }));
      await fs.rename(tmp, this.#cacheFile);
    } catch {
      // A read-only home or a full disk must not fail a build: the cache only saves time.
      await fs.rm(tmp, { force: true }).catch(() => {});
    }
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

async function* verifiedChunks(file: string, expected: HashedFile, follow: boolean): AsyncGenerator<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, follow ? fs.constants.O_RDONLY : fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw changed(file, code === "ENOENT" ? "it was deleted" : code === "ELOOP" ? "it became a symlink" : `it cannot be read (${code ?? String(error)})`, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw changed(file, "it is no longer a regular file");
    if (info.size !== expected.size) throw changed(file, `its size changed from ${expected.size} to ${info.size} bytes`);
    const hash = createHash("sha256");
    let held: Buffer | undefined;
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 20);
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

// ------------------------------------------------------------------------------------------------ selection

interface Selected {
  /** POSIX path relative to the folder, as entries name it. */
  readonly rel: string;
  readonly abs: string;
  readonly stat: BigIntStats;
}

/** A git repository a walked folder belongs to, and which paths of it git tracks (read once, when needed). */
interface Repository {
  /** The listed folder's path inside the repository, as bytes in a binary string, with a trailing `/` (or ""). */
  readonly prefix: string;
  tracked(): Promise<TrackedPaths>;
}

interface TrackedPaths {
  readonly files: ReadonlySet<string>;
  readonly dirs: ReadonlySet<string>;
}

interface WalkState {
  readonly rel: string;
  /** The same path as bytes (a binary string), for git. */
  readonly relBytes: string;
  readonly gitignores: readonly GitignoreFile[] | undefined;
  readonly repository: Repository | undefined;
  /** A folder git ignores: below it, only what git tracks is selected. */
  readonly gitIgnored: boolean;
  readonly docker: readonly (DockerMatchInfo | undefined)[];
  /** The folder itself is selected (not only walked for something an exception or git tracking re-includes). */
  readonly selected: boolean;
}

/**
 * The walk: every entry of `root` that the ignore rules leave in, plus the folders above each (with their own modes).
 * A folder no rule can re-include is never entered.
 */
async function selectEntries(root: string, selection: FolderSelection): Promise<Selected[]> {
  const tracked = selection.select === "tracked";
  const useGit = tracked || selection.gitignore !== false;
  const matchers = await dockerMatchers(root, selection);
  const repository = useGit ? await findRepository(root) : undefined;
  if (tracked && !repository) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot list the git-tracked files of ${showValue(root)}: it is not inside a git repository`, {
      value: root,
      hint: "sourceCopyMode 'tracked' needs the folder inside a git repository and git on PATH; use 'all' otherwise.",
    });
  }
  const gitignores = useGit && !tracked ? await ancestorGitignores(root, repository) : undefined;
  if (tracked) await repository!.tracked(); // fails early, and clearly, without git

  const selected: Selected[] = [];
  const walkedDirs = new Map<string, Selected>();
  const walk = async (absDir: Buffer, state: WalkState): Promise<void> => {
    let gitignoresHere = state.gitignores;
    if (gitignoresHere && !state.gitIgnored) {
      const text = await readBytes(Buffer.concat([absDir, Buffer.from("/.gitignore")]));
      const base = state.relBytes ? `${state.repository?.prefix ?? ""}${state.relBytes}/` : (state.repository?.prefix ?? "");
      if (text !== undefined) gitignoresHere = [...gitignoresHere, parseGitignore(text, base)];
    }
    let dirents: import("node:fs").Dirent<Buffer>[];
    try {
      dirents = await fs.readdir(absDir, { withFileTypes: true, encoding: "buffer" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // removed while walking
      throw error;
    }
    const subdirs: Promise<void>[] = [];
    for (const dirent of dirents) {
      const nameBytes = dirent.name;
      const nameBinary = nameBytes.toString("latin1");
      if (ALWAYS_IGNORED.has(nameBinary)) continue;
      const name = goString(nameBytes);
      const rel = state.rel ? `${state.rel}/${name}` : name;
      const relBytes = state.relBytes ? `${state.relBytes}/${nameBinary}` : nameBinary;
      const isDir = dirent.isDirectory();
      const abs = Buffer.concat([absDir, Buffer.from("/"), nameBytes]);
      const repoPath = state.repository ? `${state.repository.prefix}${relBytes}` : relBytes;

      // git: ignored (or, for `tracked`, untracked) entries are left out unless git tracks them.
      let gitIgnored = state.gitIgnored;
      if (tracked) gitIgnored = true;
      else if (!gitIgnored && gitignoresHere) gitIgnored = isGitIgnored(gitignoresHere, repoPath, isDir);
      if (gitIgnored) {
        if (!state.repository) continue;
        const paths = await state.repository.tracked();
        if (isDir ? !paths.dirs.has(repoPath) : !paths.files.has(repoPath)) continue;
      }

      // Docker: a path inherits what its folder matched; an excluded folder is entered only for an exception below it.
      const docker: (DockerMatchInfo | undefined)[] = [];
      let excluded = false;
      let reenter = true;
      matchers.forEach((matcher, i) => {
        const result = matcher.match(rel, state.docker[i]);
        docker.push(result.info);
        if (result.excluded) {
          excluded = true;
          if (!isDir || !matcher.mayReinclude(rel)) reenter = false;
        }
      });
      if (excluded && !(isDir && reenter)) continue;

      const isSelected = !excluded && !(gitIgnored && isDir) && !(tracked && isDir);
      const nested = isDir && !tracked && gitignoresHere !== undefined ? await isRepositoryRoot(abs) : false;
      subdirs.push(
        (async () => {
          const stat = await lstatOrUndefined(abs);
          if (!stat) return; // removed while walking
          const item: Selected = { rel, abs: abs.toString("latin1"), stat };
          if (isSelected) {
            if (!isValidUtf8(nameBytes)) throw invalidName(root, rel);
            selected.push(item);
          }
          if (!stat.isDirectory()) return;
          walkedDirs.set(rel, item);
          await walk(abs, {
            rel,
            relBytes,
            // A repository inside the folder has its own .gitignore files and its own index.
            gitignores: nested ? (gitignoresHere ? [] : undefined) : gitignoresHere,
            repository: nested ? nestedRepository(abs.toString("latin1"), relBytes) : state.repository,
            gitIgnored: nested ? false : gitIgnored,
            docker,
            selected: isSelected,
          });
        })(),
      );
    }
    await Promise.all(subdirs);
  };
  await walk(Buffer.from(root), { rel: "", relBytes: "", gitignores, repository, gitIgnored: false, docker: matchers.map(() => undefined), selected: true });

  // Folders only walked into appear as the parents of what was selected in them, with their own modes (as BuildKit sends them).
  const have = new Set(selected.map((s) => s.rel));
  for (const item of [...selected]) {
    for (let parent = path.posix.dirname(item.rel); parent !== "."; parent = path.posix.dirname(parent)) {
      if (have.has(parent)) break;
      const dir = walkedDirs.get(parent);
      if (!dir) break;
      if (!isValidUtf8(Buffer.from(dir.abs, "latin1"))) throw invalidName(root, parent);
      have.add(parent);
      selected.push(dir);
    }
  }
  return selected.map((s) => ({ ...s, abs: Buffer.from(s.abs, "latin1").toString("utf8") }));
}

function invalidName(root: string, rel: string): ImageSpecError {
  return new ImageSpecError("INVALID_SPEC", `Cannot send ${showValue(rel)} in ${showValue(root)} to a build: its name is not valid UTF-8`, {
    value: rel,
    hint: "Rename it, or leave it out with a .dockerignore pattern (names that are not UTF-8 can be matched and ignored).",
  });
}

/** The folder's .dockerignore (or its replacement) and every extra ignore file, each a matcher of its own. */
async function dockerMatchers(root: string, selection: FolderSelection): Promise<DockerIgnore[]> {
  const files: IgnoreFile[] = [];
  if (selection.dockerignore !== undefined) {
    if (selection.dockerignore !== null) files.push(selection.dockerignore);
  } else {
    const text = await fs.readFile(path.join(root, ".dockerignore"), "utf8").catch(() => undefined);
    if (text !== undefined) files.push({ name: path.join(root, ".dockerignore"), text });
  }
  files.push(...(selection.ignoreFiles ?? []));
  const matchers = files.map((file) => DockerIgnore.parse(file.text, file.name));
  if (selection.ignorePatterns?.length) {
    matchers.push(new DockerIgnore(readDockerignore(selection.ignorePatterns.join("\n"), "the ignore patterns")));
  }
  return matchers.filter((m) => m.size > 0);
}

/** A repository root: a folder with `.git` (a folder, or a file pointing to one: worktrees and submodules). */
async function isRepositoryRoot(dir: Buffer | string): Promise<boolean> {
  const git = typeof dir === "string" ? path.join(dir, ".git") : Buffer.concat([dir, Buffer.from("/.git")]);
  return (await lstatOrUndefined(git)) !== undefined;
}

async function findRepository(folder: string): Promise<Repository | undefined> {
  for (let dir = folder; ; ) {
    if (await isRepositoryRoot(dir)) {
      const relative = path.relative(dir, folder).split(path.sep).join("/");
      return repositoryAt(dir, folder, relative ? `${Buffer.from(relative).toString("latin1")}/` : "");
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** A repository found inside the listed folder: git lists its paths relative to its own root, the walk relative to the folder. */
function nestedRepository(absBinary: string, relBytes: string): Repository {
  const abs = Buffer.from(absBinary, "latin1").toString("utf8");
  const inner = repositoryAt(abs, abs, "");
  let pending: Promise<TrackedPaths> | undefined;
  const shift = (set: ReadonlySet<string>) => new Set([...set].map((p) => `${relBytes}/${p}`));
  return {
    prefix: "",
    tracked: () => {
      pending ??= inner.tracked().then((paths) => ({ files: shift(paths.files), dirs: new Set([relBytes, ...shift(paths.dirs)]) }));
      return pending;
    },
  };
}

function repositoryAt(root: string, folder: string, prefix: string): Repository {
  let pending: Promise<TrackedPaths> | undefined;
  return {
    prefix,
    tracked: () => {
      pending ??= gitTrackedPaths(root, folder, prefix);
      return pending;
    },
  };
}

/** Every path git tracks below `folder` (as repository-relative binary strings), and every folder holding one. */
async function gitTrackedPaths(root: string, folder: string, prefix: string): Promise<TrackedPaths> {
  const { execa } = await import("execa");
  // Inside the folder, ls-files lists only what is below it; --full-name keeps paths relative to the repository.
  const result = await execa("git", ["ls-files", "-z", "--cached", "--full-name"], { cwd: folder, reject: false, encoding: "buffer" });
  const stderr = Buffer.from(result.stderr ?? "").toString("utf8").trim();
  // A `.git` that git does not take for a repository (an empty folder, a broken worktree link) holds no tracked files.
  if (result.exitCode === 128 && /not a git repository/i.test(stderr)) return { files: new Set(), dirs: new Set() };
  if (result.exitCode !== 0 || result.failed) {
    const why = stderr || result.message;
    throw new ImageSpecError("ENVIRONMENT", `Cannot list the git-tracked files of ${showValue(folder)} (repository ${showValue(root)}): ${why}`, {
      value: folder,
      hint: "Selecting files inside a git repository needs git on PATH: git keeps the files it tracks even where a .gitignore matches them.",
    });
  }
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const file of Buffer.from(result.stdout).toString("latin1").split("\0")) {
    if (file === "" || !file.startsWith(prefix)) continue;
    files.add(file);
    for (let slash = file.lastIndexOf("/"); slash > prefix.length - 1 && slash > 0; slash = file.lastIndexOf("/", slash - 1)) dirs.add(file.slice(0, slash));
  }
  return { files, dirs };
}

/**
 * The .gitignore files of the folders above `folder`, up to the root of its repository, as git applies them (paths
 * relative to that root). When they ignore `folder` itself, none apply: a folder that is named explicitly (a build
 * output, say) is copied with what is in it. Outside a repository, the folder's own .gitignore files still apply.
 */
async function ancestorGitignores(folder: string, repository: Repository | undefined): Promise<GitignoreFile[]> {
  if (!repository || repository.prefix === "") return [];
  const parts = repository.prefix.slice(0, -1).split("/");
  const repoRoot = path.resolve(folder, ...parts.map(() => ".."));
  const files: GitignoreFile[] = [];
  for (let depth = 0; depth < parts.length; depth++) {
    const base = parts.slice(0, depth).join("/");
    const dir = path.join(repoRoot, Buffer.from(base, "latin1").toString("utf8"));
    const text = await readBytes(path.join(dir, ".gitignore"));
    if (text !== undefined) files.push(parseGitignore(text, base ? `${base}/` : ""));
    const below = parts.slice(0, depth + 1).join("/");
    if (isGitIgnored(files, below, true)) return [];
  }
  return files;
}

async function readBytes(file: string | Buffer): Promise<string | undefined> {
  try {
    return (await fs.readFile(file)).toString("latin1");
  } catch {
    return undefined;
  }
}

async function lstatOrUndefined(file: string | Buffer): Promise<BigIntStats | undefined> {
  try {
    return await fs.lstat(file, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Go's view of a file name: UTF-8, with each byte of an invalid sequence read as U+FFFD (as Go's regexp reads it). */
export function goString(bytes: Buffer): string {
  if (isValidUtf8(bytes)) return bytes.toString("utf8");
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const length = utf8SequenceLength(bytes, i);
    out += length === 0 ? "\uFFFD" : bytes.subarray(i, i + length).toString("utf8");
    i += length || 1;
  }
  return out;
}

function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (length === 0 || i + length > b.length) return 0;
  for (let k = 1; k < length; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const text = b.subarray(i, i + length).toString("utf8");
  return text.includes("\uFFFD") ? 0 : length;
}

const isValidUtf8 = (bytes: Buffer) => Buffer.from(bytes.toString("utf8"), "utf8").equals(bytes);

/** Files up to this size are read in one call: for source trees, that is nearly every file, and far cheaper than a stream. */
const SMALL_FILE = 1 << 20;

async function hashBytes(file: string | Buffer): Promise<string> {
  const handle = await fs.open(file, "r");
  try {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(SMALL_FILE);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
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
