/**
 * The files a definition reads: which ones are selected (ignore rules, git-tracked), and their digests.
 *
 * One walk decides both what enters the tag and what a builder sends to the engine, so what an ignore file
 * leaves out is neither hashed nor shipped. File contents are streamed and hashed concurrently, and digests are
 * cached by (path, size, mtime, inode) in a file under the user's cache folder, so an unchanged tree re-hashes at
 * the speed of `stat`.
 */

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import * as fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import dockerignoreModule from "@balena/dockerignore";
import gitignore, { type Ignore } from "ignore";
import { canonicalJson, sha256Hex } from "./canonical.js";
import { ImageSpecError, showValue } from "./errors.js";
import { limiter } from "./limiter.js";

export interface FolderEntry {
  /** POSIX path relative to the folder. */
  readonly path: string;
  readonly type: "file" | "dir" | "symlink";
  /** sha256 of the bytes (files). */
  readonly digest?: string;
  /** Any execute bit set (files). */
  readonly executable?: boolean;
  /** Link target (symlinks). */
  readonly target?: string;
}

export interface FolderSelection {
  /** `all`: everything the ignore files leave in; `tracked`: only files git tracks. */
  readonly select?: "all" | "tracked";
  /** Extra .dockerignore-syntax patterns, matched relative to the folder (from `withDockerignore`). */
  readonly ignorePatterns?: readonly string[];
}

export interface InputDigest {
  readonly type: "file" | "folder";
  /** sha256 over the entries (folder) or over the bytes and execute bit (file). */
  readonly digest: string;
  /** The folder's selected entries, or the single file as `.`. */
  readonly entries: readonly FolderEntry[];
}

/** Folder names never copied nor hashed: VCS metadata changes on every commit and never belongs in an image. */
const ALWAYS_IGNORED = new Set([".git", ".hg", ".svn"]);

// A CommonJS package whose typings describe `module.exports.default`; at runtime both are the factory.
const dockerignore = dockerignoreModule.default;

/** mtime granularity guard: a file modified this recently may change again within the same tick, so it is not cached. */
const RACY_WINDOW_MS = 2_000;

type CacheRecord = [size: number, mtimeMs: number, ino: number, digest: string];

export interface FileHasherOptions {
  /** Where the digest cache lives; `false` keeps it in memory only. Default: `<cache dir>/file-digests-v1.json`. */
  readonly cacheFile?: string | false;
  /** Files read at once. */
  readonly concurrency?: number;
}

export function defaultCacheDir(): string {
  if (process.env.IMAGESPEC_CACHE_DIR) return process.env.IMAGESPEC_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "imagespec");
}

export class FileHasher {
  readonly #cacheFile: string | false;
  readonly #limit: <T>(task: () => Promise<T>) => Promise<T>;
  #records: Map<string, CacheRecord> | undefined;
  #loading: Promise<Map<string, CacheRecord>> | undefined;
  #dirty = false;
  /** Counters for benchmarks and tests: how many files were read vs answered from the cache. */
  readonly stats = { read: 0, cached: 0 };

  constructor(options: FileHasherOptions = {}) {
    this.#cacheFile = options.cacheFile === undefined ? path.join(defaultCacheDir(), "file-digests-v1.json") : options.cacheFile;
    this.#limit = limiter(options.concurrency ?? 32);
  }

  /** Digest of one file: its bytes and its execute bit. */
  async hashFile(absolutePath: string): Promise<InputDigest> {
    const stat = await statOrThrow(absolutePath);
    if (!stat.isFile()) throw notA("file", absolutePath, stat.isDirectory() ? "a folder" : "not a regular file");
    const entry = await this.#fileEntry(absolutePath, ".", stat);
    return { type: "file", digest: sha256Hex(canonicalJson([entry.executable, entry.digest])), entries: [entry] };
  }

  /** Digest of a folder: every selected entry's relative path, type, execute bit and content digest. */
  async hashFolder(absolutePath: string, selection: FolderSelection = {}): Promise<InputDigest> {
    const entries = await this.listFolder(absolutePath, selection, true);
    return { type: "folder", digest: sha256Hex(canonicalJson(entries)), entries };
  }

  /**
   * The entries of a folder after ignore rules (and git tracking, for `tracked`), sorted by path.
   * With `withDigests`, files carry their content digest.
   */
  async listFolder(absolutePath: string, selection: FolderSelection = {}, withDigests = false): Promise<FolderEntry[]> {
    const stat = await statOrThrow(absolutePath);
    if (!stat.isDirectory()) throw notA("folder", absolutePath, "a file");
    const docker = selection.ignorePatterns?.length ? dockerignore().add([...selection.ignorePatterns]) : undefined;
    const dockerHasNegation = selection.ignorePatterns?.some((p) => p.trim().startsWith("!")) ?? false;
    const ownDockerignore = await readIgnoreFile(path.join(absolutePath, ".dockerignore"));
    const own = ownDockerignore ? dockerignore().add(ownDockerignore) : undefined;
    const ownHasNegation = ownDockerignore?.some((p) => p.trim().startsWith("!")) ?? false;
    const isDockerIgnored = (rel: string) => (docker?.ignores(rel) ?? false) || (own?.ignores(rel) ?? false);
    const canPrune = !dockerHasNegation && !ownHasNegation;

    const raw: { rel: string; abs: string; stat: import("node:fs").Stats }[] = [];
    if (selection.select === "tracked") {
      for (const rel of await gitTrackedFiles(absolutePath)) {
        if (rel.split("/").some((part) => ALWAYS_IGNORED.has(part)) || isDockerIgnored(rel)) continue;
        const abs = path.join(absolutePath, rel);
        const fileStat = await fs.lstat(abs).catch(() => undefined); // tracked but deleted in the work tree
        if (fileStat) raw.push({ rel, abs, stat: fileStat });
      }
    } else {
      await walk(absolutePath, "", await ancestorGitignores(absolutePath), raw, isDockerIgnored, canPrune);
    }

    // Directories: every parent of a selected entry, plus the selected (possibly empty) directories themselves.
    const dirs = new Set<string>();
    const out: FolderEntry[] = [];
    const files: Promise<FolderEntry>[] = [];
    for (const item of raw) {
      for (let parent = path.posix.dirname(item.rel); parent !== "."; parent = path.posix.dirname(parent)) dirs.add(parent);
      if (item.stat.isDirectory()) dirs.add(item.rel);
      else if (item.stat.isSymbolicLink()) out.push({ path: item.rel, type: "symlink", target: await fs.readlink(item.abs) });
      else if (item.stat.isFile()) {
        files.push(
          withDigests
            ? this.#fileEntry(item.abs, item.rel, item.stat)
            : Promise.resolve({ path: item.rel, type: "file" as const, executable: (item.stat.mode & 0o111) !== 0 }),
        );
      }
    }
    out.push(...(await Promise.all(files)));
    for (const dir of dirs) out.push({ path: dir, type: "dir" });
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (withDigests) await this.flush();
    return out;
  }

  async #fileEntry(abs: string, rel: string, stat: import("node:fs").Stats): Promise<FolderEntry> {
    const executable = (stat.mode & 0o111) !== 0;
    const records = await this.#load();
    const cached = records.get(abs);
    if (cached && cached[0] === stat.size && cached[1] === stat.mtimeMs && cached[2] === stat.ino) {
      this.stats.cached++;
      return { path: rel, type: "file", digest: cached[3], executable };
    }
    const digest = await this.#limit(() => (stat.size <= SMALL_FILE ? hashSmall(abs) : hashStream(abs)));
    this.stats.read++;
    if (Date.now() - stat.mtimeMs > RACY_WINDOW_MS) {
      records.set(abs, [stat.size, stat.mtimeMs, stat.ino, digest]);
      this.#dirty = true;
    }
    return { path: rel, type: "file", digest, executable };
  }

  async #load(): Promise<Map<string, CacheRecord>> {
    if (this.#records) return this.#records;
    this.#loading ??= (async () => {
      const records = new Map<string, CacheRecord>();
      if (this.#cacheFile) {
        try {
          const data = JSON.parse(await fs.readFile(this.#cacheFile, "utf8")) as { version?: number; files?: Record<string, CacheRecord> };
          if (data.version === 1 && data.files) for (const [k, v] of Object.entries(data.files)) records.set(k, v);
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
      await fs.writeFile(tmp, JSON.stringify({ version: 1, files: Object.fromEntries(this.#records) }));
      await fs.rename(tmp, this.#cacheFile);
    } catch {
      // A read-only home or a full disk must not fail a build: the cache only saves time.
      await fs.rm(tmp, { force: true }).catch(() => {});
    }
  }
}

/**
 * A .gitignore's rules and where they sit relative to the folder being listed: `base` is its folder below the listed
 * one (`""` for the listed folder itself), `prefix` the path from an ancestor's folder down to the listed one.
 */
interface GitignoreScope {
  readonly base: string;
  readonly prefix: string;
  readonly rules: Ignore;
}

/**
 * The .gitignore files of the folders above `folder`, up to the root of its git repository, as git applies them.
 * Outside a repository there are none. When those rules ignore `folder` itself, none apply: a folder that is named
 * explicitly (a build output, say) is copied with what is in it.
 */
async function ancestorGitignores(folder: string): Promise<GitignoreScope[]> {
  const ancestors: string[] = [];
  let repositoryRoot: string | undefined;
  for (let dir = folder; ; ) {
    if (await exists(path.join(dir, ".git"))) {
      repositoryRoot = dir;
      break;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    ancestors.push(parent);
    dir = parent;
  }
  if (repositoryRoot === undefined || repositoryRoot === folder) return [];
  const scopes: GitignoreScope[] = [];
  for (const dir of ancestors.reverse()) {
    const rules = await readIgnoreFile(path.join(dir, ".gitignore"));
    if (rules) scopes.push({ base: "", prefix: path.relative(dir, folder).split(path.sep).join("/"), rules: gitignore().add(rules) });
  }
  const selfIgnored = scopes.some((scope) => scope.rules.ignores(`${scope.prefix}/`));
  return selfIgnored ? [] : scopes;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

async function walk(
  root: string,
  relDir: string,
  gitignores: readonly GitignoreScope[],
  out: { rel: string; abs: string; stat: import("node:fs").Stats }[],
  isDockerIgnored: (rel: string) => boolean,
  canPrune: boolean,
): Promise<void> {
  const absDir = relDir ? path.join(root, relDir) : root;
  let scoped = gitignores;
  const gitignoreRules = await readIgnoreFile(path.join(absDir, ".gitignore"));
  if (gitignoreRules) scoped = [...gitignores, { base: relDir, prefix: "", rules: gitignore().add(gitignoreRules) }];
  const names = (await fs.readdir(absDir)).sort();
  const stats = await Promise.all(names.map((name) => fs.lstat(path.join(absDir, name))));
  const subdirs: Promise<void>[] = [];
  names.forEach((name, i) => {
    if (ALWAYS_IGNORED.has(name)) return;
    const stat = stats[i]!;
    const rel = relDir ? `${relDir}/${name}` : name;
    const isDir = stat.isDirectory();
    if (isGitIgnored(scoped, rel, isDir)) return; // git never re-includes below an ignored folder
    const dockerIgnored = isDockerIgnored(rel);
    if (isDir) {
      if (dockerIgnored && canPrune) return;
      if (!dockerIgnored) out.push({ rel, abs: path.join(absDir, name), stat });
      subdirs.push(walk(root, rel, scoped, out, isDockerIgnored, canPrune));
    } else if (!dockerIgnored) {
      out.push({ rel, abs: path.join(absDir, name), stat });
    }
  });
  await Promise.all(subdirs);
}

function isGitIgnored(scopes: readonly GitignoreScope[], rel: string, isDir: boolean): boolean {
  for (const scope of scopes) {
    const below = scope.base ? rel.slice(scope.base.length + 1) : rel;
    const local = scope.prefix ? `${scope.prefix}/${below}` : below;
    if (scope.rules.ignores(isDir ? `${local}/` : local)) return true;
  }
  return false;
}

async function readIgnoreFile(file: string): Promise<string[] | undefined> {
  try {
    return (await fs.readFile(file, "utf8")).split(/\r?\n/);
  } catch {
    return undefined;
  }
}

async function gitTrackedFiles(folder: string): Promise<string[]> {
  const { execa } = await import("execa");
  // Run inside the folder: ls-files then lists only what is below it, relative to it.
  const result = await execa("git", ["ls-files", "-z", "--cached"], { cwd: folder, reject: false });
  if (result.exitCode !== 0 || result.failed) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot list the git-tracked files of ${showValue(folder)}: ${String(result.stderr || result.message).trim()}`, {
      value: folder,
      hint: "sourceCopyMode 'tracked' needs the folder inside a git repository and git on PATH; use 'all' otherwise.",
    });
  }
  return String(result.stdout).split("\0").filter(Boolean);
}

/** Files up to this size are read in one call: for source trees, that is nearly every file, and far cheaper than a stream. */
const SMALL_FILE = 1 << 20;

async function hashSmall(file: string): Promise<string> {
  return createHash("sha256").update(await fs.readFile(file)).digest("hex");
}

async function hashStream(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function statOrThrow(file: string): Promise<import("node:fs").Stats> {
  try {
    return await fs.stat(file);
  } catch (error) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot read ${showValue(file)}: it does not exist`, { value: file, cause: error });
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
