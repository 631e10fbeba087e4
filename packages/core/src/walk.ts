/**
 * The walk that decides which files a folder contributes (Docker's .dockerignore rules, git's .gitignore rules and
 * tracked files, see docs/hashing.md), at the speed of `readdir` and `lstat`: synchronous system calls in slices of a
 * few milliseconds (the event loop still turns between slices), one `lstat` per entry that is kept and none for what
 * is left out, names read as bytes. A folder no rule can re-include is never entered.
 *
 * Each kept entry is handed to `visit` as soon as it is seen, so nothing the size of the tree is held here.
 */

import { isUtf8 } from "node:buffer";
import { type BigIntStats, lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ImageSpecError, showValue } from "./errors.js";
import { DockerIgnore, type DockerMatchInfo, readDockerignore } from "./ignore/dockerignore.js";
import { type GitignoreFile, isGitIgnored, parseGitignore } from "./ignore/gitignore.js";

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

/** One selected entry, as the walk saw it. */
export interface WalkedEntry {
  /** POSIX path relative to the folder (Go's view of the name: invalid UTF-8 bytes as U+FFFD). */
  readonly rel: string;
  /** The absolute path to open it by: a string, or the bytes when a name is not valid UTF-8. */
  readonly abs: string | Buffer;
  readonly stat: BigIntStats;
}

/** Folder names never copied nor hashed: VCS metadata changes on every commit and never belongs in an image. */
const ALWAYS_IGNORED = new Set([".git", ".hg", ".svn"]);

/** How long one synchronous slice of the walk may run before the event loop gets a turn. */
const SLICE_MS = 10;

/** A git repository a walked folder belongs to, and which paths of it git tracks (asked when needed). */
interface Repository {
  /** The listed folder's path inside the repository, as bytes in a binary string, with a trailing `/` (or ""). */
  readonly prefix: string;
  /** Every path git tracks in the walked folder: its index, listed once (for `tracked`). */
  tracked(): TrackedPaths;
  /**
   * The tracked paths git's ignore rules match (`git ls-files --cached --ignored`), usually none or a few: once
   * `askIgnoredTracked` has settled (it throws git's failure then), else undefined.
   */
  ignoredTracked(): TrackedPaths | undefined;
  /** Asks git for them in the background, once; never rejects. */
  askIgnoredTracked(): Promise<void>;
}

interface TrackedPaths {
  /** Whether git tracks this file (a repository-relative binary string). */
  hasFile(path: string): boolean;
  /** Whether git tracks a file somewhere below this folder. */
  hasDir(path: string): boolean;
}

/** Folders walked into without being selected: sent only as the parents of what is selected below them, once. */
interface UnselectedParent {
  readonly entry: WalkedEntry;
  readonly validName: boolean;
  readonly parent: UnselectedParent | undefined;
  sent: boolean;
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
  /** The nearest folders above that were walked into without being selected. */
  readonly unselected: UnselectedParent | undefined;
  /** Below the root, with .gitignore files in effect: a `.git` inside makes the folder a repository of its own. */
  readonly mayBeRepository: boolean;
}

interface PendingDir {
  readonly abs: string | Buffer;
  readonly state: WalkState;
}

/** A folder being listed: where it is, what applies in it, and the .gitignore files in effect for its names. */
interface ListedDir {
  readonly abs: string | Buffer;
  readonly state: WalkState;
  readonly gitignores: readonly GitignoreFile[] | undefined;
}

/** A name git ignores, waiting for git's answer to whether it tracks it (or, for a folder, anything below it). */
interface DeferredName {
  readonly dir: ListedDir;
  readonly name: Name;
}

/** A name in a folder: as Go reads it, as bytes in a binary string (for git), and whether it is valid UTF-8. */
interface Name {
  readonly name: string;
  readonly binary: string;
  /** Only for a name that is not valid UTF-8 (the string cannot give the bytes back). */
  readonly bytes: Buffer | undefined;
  readonly validName: boolean;
  readonly isDir: boolean;
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * A folder's names, undefined when it is gone. Read as strings, which is cheaper; a folder with a name that is not
 * valid UTF-8 (decoded with U+FFFD) is read again as bytes.
 */
function listDir(dir: string | Buffer): Name[] | undefined {
  try {
    if (typeof dir === "string") {
      const dirents = readdirSync(dir, { withFileTypes: true });
      if (!dirents.some((d) => d.name.includes("\uFFFD"))) {
        return dirents.map((d) => ({
          name: d.name,
          binary: ASCII.test(d.name) ? d.name : Buffer.from(d.name).toString("latin1"),
          bytes: undefined,
          validName: true,
          isDir: d.isDirectory(),
        }));
      }
    }
    return readdirSync(dir, { withFileTypes: true, encoding: "buffer" }).map((d) => {
      const validName = isUtf8(d.name);
      return {
        name: validName ? d.name.toString("utf8") : goString(d.name),
        binary: d.name.toString("latin1"),
        bytes: validName ? undefined : d.name,
        validName,
        isDir: d.isDirectory(),
      };
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/**
 * Walks `root` and calls `visit` for every entry the ignore rules leave in (folders, files, symlinks; in walk order,
 * not sorted), plus the folders above each that were only walked into, with their own modes (as BuildKit sends them).
 */
export async function walkFolder(root: string, selection: FolderSelection, visit: (entry: WalkedEntry) => void): Promise<void> {
  const tracked = selection.select === "tracked";
  const useGit = tracked || selection.gitignore !== false;
  const matchers = dockerMatchers(root, selection);
  const repository = useGit ? findRepository(root) : undefined;
  if (tracked && !repository) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot list the git-tracked files of ${showValue(root)}: it is not inside a git repository`, {
      value: root,
      hint: "sourceCopyMode 'tracked' needs the folder inside a git repository and git on PATH; use 'all' otherwise.",
    });
  }
  const gitignores = useGit && !tracked ? ancestorGitignores(root, repository) : undefined;
  if (tracked) repository!.tracked(); // fails early, and clearly, without git

  const sendParents = (chain: UnselectedParent | undefined): void => {
    if (!chain || chain.sent) return;
    sendParents(chain.parent);
    chain.sent = true;
    if (!chain.validName) throw invalidName(root, chain.entry.rel);
    visit(chain.entry);
  };

  const stack: PendingDir[] = [
    {
      abs: root,
      state: {
        rel: "",
        relBytes: "",
        gitignores,
        repository,
        gitIgnored: false,
        docker: matchers.map(() => undefined),
        unselected: undefined,
        mayBeRepository: false,
      },
    },
  ];
  /**
   * One name in a listed folder: left out, or visited (and walked into, for a folder). A name git ignores needs to
   * know whether git tracks it (or, for a folder, anything below it); until git has answered, it waits in `deferred`.
   */
  const deferred: DeferredName[] = [];
  // git's answers for the names it ignores, asked (once per repository) while the walk goes on.
  const asking = new Set<Promise<void>>();
  const consider = (dir: ListedDir, dirent: Name): void => {
    const { state } = dir;
    const { name, binary: nameBinary, bytes: nameBytes, validName, isDir } = dirent;
    if (ALWAYS_IGNORED.has(nameBinary)) return;
    const rel = state.rel ? `${state.rel}/${name}` : name;

    // Docker first: a path inherits what its folder matched; an excluded folder is entered only for an exception
    // below it. What Docker leaves out for good needs no answer from git.
    let docker = state.docker;
    let excluded = false;
    if (matchers.length > 0) {
      const infos: (DockerMatchInfo | undefined)[] = [];
      let reenter = true;
      for (let i = 0; i < matchers.length; i++) {
        const result = matchers[i]!.match(rel, state.docker[i]);
        infos.push(result.info);
        if (result.excluded) {
          excluded = true;
          if (!isDir || !matchers[i]!.mayReinclude(rel)) reenter = false;
        }
      }
      if (excluded && !(isDir && reenter)) return;
      docker = infos;
    }

    // git: ignored (or, for `tracked`, untracked) entries are left out unless git tracks them.
    let relBytes = "";
    let gitIgnored = state.gitIgnored;
    if (useGit) {
      relBytes = state.relBytes ? `${state.relBytes}/${nameBinary}` : nameBinary;
      const repoPath = state.repository ? `${state.repository.prefix}${relBytes}` : relBytes;
      if (tracked) gitIgnored = true;
      else if (!gitIgnored && dir.gitignores) gitIgnored = isGitIgnored(dir.gitignores, repoPath, isDir);
      if (gitIgnored) {
        if (!state.repository) return;
        const paths = tracked ? state.repository.tracked() : state.repository.ignoredTracked();
        if (!paths) {
          deferred.push({ dir, name: dirent });
          asking.add(state.repository.askIgnoredTracked());
          return;
        }
        if (isDir ? !paths.hasDir(repoPath) : !paths.hasFile(repoPath)) return;
      }
    }

    const isSelected = !excluded && !(gitIgnored && isDir) && !(tracked && isDir);
    const abs = typeof dir.abs === "string" && validName ? `${dir.abs}/${name}` : join(dir.abs, nameBytes ?? Buffer.from(name));
    const stat = lstatOrUndefined(abs);
    if (!stat) return; // removed while walking
    const entry: WalkedEntry = { rel, abs, stat };
    if (isSelected) {
      if (!validName) throw invalidName(root, rel);
      sendParents(state.unselected);
      visit(entry);
    }
    if (!stat.isDirectory()) return;
    stack.push({
      abs,
      state: {
        rel,
        relBytes,
        gitignores: dir.gitignores,
        repository: state.repository,
        gitIgnored,
        docker,
        unselected: isSelected ? undefined : { entry, validName, parent: state.unselected, sent: false },
        mayBeRepository: !tracked && dir.gitignores !== undefined,
      },
    });
  };

  let sliceStart = performance.now();
  for (;;) {
    while (stack.length > 0) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      const { abs: absDir, state: dirState } = stack.pop()!;
      const dirents = listDir(absDir);
      if (dirents === undefined) continue; // removed (or replaced) while walking
      let state = dirState;
      if (state.mayBeRepository && dirents.some((d) => d.binary === ".git")) {
        // A repository inside the folder has its own .gitignore files and its own index.
        state = { ...state, gitignores: [], repository: nestedRepository(toText(absDir), state.relBytes), gitIgnored: false };
      }
      let gitignoresHere = state.gitignores;
      if (gitignoresHere && !state.gitIgnored && dirents.some((d) => d.binary === ".gitignore")) {
        const text = readBytes(typeof absDir === "string" ? `${absDir}/.gitignore` : join(absDir, Buffer.from(".gitignore")));
        const base = state.relBytes ? `${state.repository?.prefix ?? ""}${state.relBytes}/` : (state.repository?.prefix ?? "");
        if (text !== undefined) gitignoresHere = [...gitignoresHere, parseGitignore(text, base)];
      }
      const dir: ListedDir = { abs: absDir, state, gitignores: gitignoresHere };
      for (const dirent of dirents) consider(dir, dirent);
    }
    if (deferred.length === 0) break;
    // Everything git does not ignore is walked; with git's answers, walk what it tracks among what it ignores.
    await Promise.all(asking);
    asking.clear();
    const waiting = deferred.splice(0);
    for (const { dir, name } of waiting) consider(dir, name);
  }
}

function join(dir: string | Buffer, name: Buffer): Buffer {
  return Buffer.concat([typeof dir === "string" ? Buffer.from(dir) : dir, Buffer.from("/"), name]);
}

function toText(p: string | Buffer): string {
  return typeof p === "string" ? p : p.toString("utf8");
}

function invalidName(root: string, rel: string): ImageSpecError {
  return new ImageSpecError("INVALID_SPEC", `Cannot send ${showValue(rel)} in ${showValue(root)} to a build: its name is not valid UTF-8`, {
    value: rel,
    hint: "Rename it, or leave it out with a .dockerignore pattern (names that are not UTF-8 can be matched and ignored).",
  });
}

/** The folder's .dockerignore (or its replacement) and every extra ignore file, each a matcher of its own. */
function dockerMatchers(root: string, selection: FolderSelection): DockerIgnore[] {
  const files: IgnoreFile[] = [];
  if (selection.dockerignore !== undefined) {
    if (selection.dockerignore !== null) files.push(selection.dockerignore);
  } else {
    const own = path.join(root, ".dockerignore");
    const text = readText(own);
    if (text !== undefined) files.push({ name: own, text });
  }
  files.push(...(selection.ignoreFiles ?? []));
  const matchers = files.map((file) => DockerIgnore.parse(file.text, file.name));
  if (selection.ignorePatterns?.length) {
    matchers.push(new DockerIgnore(readDockerignore(selection.ignorePatterns.join("\n"), "the ignore patterns")));
  }
  return matchers.filter((m) => m.size > 0);
}

/** A repository root: a folder with `.git` (a folder, or a file pointing to one: worktrees and submodules). */
function isRepositoryRoot(dir: string): boolean {
  return lstatOrUndefined(path.join(dir, ".git")) !== undefined;
}

function findRepository(folder: string): Repository | undefined {
  for (let dir = folder; ; ) {
    if (isRepositoryRoot(dir)) {
      const relative = path.relative(dir, folder).split(path.sep).join("/");
      return repositoryAt(dir, folder, relative ? `${Buffer.from(relative).toString("latin1")}/` : "");
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** A repository found inside the listed folder: git lists its paths relative to its own root, the walk relative to the folder. */
function nestedRepository(abs: string, relBytes: string): Repository {
  const inner = repositoryAt(abs, abs, "");
  const below = `${relBytes}/`;
  const outer = (own: TrackedPaths): TrackedPaths => ({
    hasFile: (p) => p.startsWith(below) && own.hasFile(p.slice(below.length)),
    hasDir: (p) => p === relBytes || (p.startsWith(below) && own.hasDir(p.slice(below.length))),
  });
  let tracked: TrackedPaths | undefined;
  let ignoredTracked: TrackedPaths | undefined;
  return {
    prefix: "",
    tracked: () => {
      tracked ??= outer(inner.tracked());
      return tracked;
    },
    ignoredTracked: () => {
      if (!ignoredTracked) {
        const own = inner.ignoredTracked();
        if (own) ignoredTracked = outer(own);
      }
      return ignoredTracked;
    },
    askIgnoredTracked: () => inner.askIgnoredTracked(),
  };
}

function repositoryAt(root: string, folder: string, prefix: string): Repository {
  let all: TrackedPaths | undefined;
  let ignored: { readonly paths: TrackedPaths } | { readonly failure: unknown } | undefined;
  let asked: Promise<void> | undefined;
  return {
    prefix,
    tracked: () => {
      // Inside the folder, ls-files lists only what is below it; --full-name keeps paths relative to the repository.
      all ??= sortedPaths(gitOutput(runGitSync(folder, LS_TRACKED), root, folder));
      return all;
    },
    ignoredTracked: () => {
      if (ignored && "failure" in ignored) throw ignored.failure;
      return ignored?.paths;
    },
    askIgnoredTracked: () => {
      // runGit never rejects: a git that cannot start is in its result, and gitOutput turns that into the error.
      asked ??= runGit(folder, LS_IGNORED_TRACKED).then((run) => {
        try {
          ignored = { paths: sortedPaths(gitOutput(run, root, folder)) };
        } catch (failure) {
          ignored = { failure };
        }
      });
      return asked;
    },
  };
}

/** Every path git tracks below the working folder, repository-relative. */
const LS_TRACKED = ["ls-files", "-z", "--cached", "--full-name"];
/**
 * The tracked paths below the working folder that git's ignore rules match (a file in an ignored folder included):
 * the only ones the walk has to ask about, since what it ignores is what git ignores (the oracle tests hold it to
 * that); git's own extra rules (`.git/info/exclude`, `core.excludesFile`) only add paths it never asks about.
 */
const LS_IGNORED_TRACKED = ["ls-files", "-z", "--cached", "--ignored", "--exclude-standard", "--full-name"];

/** How one `git ls-files` ended. */
interface GitRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error: Error | undefined;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/** node:child_process, loaded when git first runs: most walks never run it, and loading it costs every command ~6 ms. */
const processes = () => process.getBuiltinModule("node:child_process");

function runGitSync(cwd: string, args: readonly string[]): GitRun {
  const result = processes().spawnSync("git", args, { cwd, maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] });
  return {
    status: result.status,
    signal: result.signal,
    error: result.error,
    stdout: result.stdout ?? Buffer.alloc(0),
    stderr: result.stderr ?? Buffer.alloc(0),
  };
}

function runGit(cwd: string, args: readonly string[]): Promise<GitRun> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let error: Error | undefined;
    const child = processes().spawn("git", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (e) => {
      error = e;
    });
    child.on("close", (status, signal) => resolve({ status, signal, error, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }));
  });
}

/** The paths in git's answer (binary strings), or the error that says why git could not answer. */
function gitOutput({ status, signal, error, stdout, stderr }: GitRun, root: string, folder: string): string[] {
  const message = stderr.toString("utf8").trim();
  // A `.git` that git does not take for a repository (an empty folder, a broken worktree link) holds no tracked files.
  if (status === 128 && /not a git repository/i.test(message)) return [];
  if (error || status !== 0) {
    const why = message || error?.message || `git exited with ${status ?? signal}`;
    throw new ImageSpecError("ENVIRONMENT", `Cannot list the git-tracked files of ${showValue(folder)} (repository ${showValue(root)}): ${why}`, {
      value: folder,
      hint: "Selecting files inside a git repository needs git on PATH: git keeps the files it tracks even where a .gitignore matches them.",
    });
  }
  const paths = stdout.toString("latin1").split("\0");
  paths.pop(); // after the last NUL
  return paths;
}

/**
 * Lookups in git's list of paths, searched in place rather than copied into sets (50k paths: a set of files and one
 * of folders took about 100 ms to fill). git lists its index sorted by bytes, which is how binary strings compare;
 * a list out of that order (never seen) is sorted first.
 */
function sortedPaths(paths: string[]): TrackedPaths {
  for (let i = 1; i < paths.length; i++) {
    if (paths[i - 1]! > paths[i]!) {
      paths.sort();
      break;
    }
  }
  /** The first index whose path is not below `key` in byte order. */
  const lowerBound = (key: string): number => {
    let lo = 0;
    let hi = paths.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (paths[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    hasFile: (p) => paths[lowerBound(p)] === p,
    hasDir: (p) => {
      const below = `${p}/`;
      return paths[lowerBound(below)]?.startsWith(below) ?? false;
    },
  };
}

/**
 * The .gitignore files of the folders above `folder`, up to the root of its repository, as git applies them (paths
 * relative to that root). When they ignore `folder` itself, none apply: a folder that is named explicitly (a build
 * output, say) is copied with what is in it. Outside a repository, the folder's own .gitignore files still apply.
 */
function ancestorGitignores(folder: string, repository: Repository | undefined): GitignoreFile[] {
  if (!repository || repository.prefix === "") return [];
  const parts = repository.prefix.slice(0, -1).split("/");
  const repoRoot = path.resolve(folder, ...parts.map(() => ".."));
  const files: GitignoreFile[] = [];
  for (let depth = 0; depth < parts.length; depth++) {
    const base = parts.slice(0, depth).join("/");
    const dir = path.join(repoRoot, Buffer.from(base, "latin1").toString("utf8"));
    const text = readBytes(path.join(dir, ".gitignore"));
    if (text !== undefined) files.push(parseGitignore(text, base ? `${base}/` : ""));
    const below = parts.slice(0, depth + 1).join("/");
    if (isGitIgnored(files, below, true)) return [];
  }
  return files;
}

function readBytes(file: string | Buffer): string | undefined {
  try {
    return readFileSync(file).toString("latin1");
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(file: string | Buffer): BigIntStats | undefined {
  try {
    return lstatSync(file, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/** Go's view of a file name: UTF-8, with each byte of an invalid sequence read as U+FFFD (as Go's regexp reads it). */
export function goString(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString("utf8");
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
  return isUtf8(b.subarray(i, i + length)) ? length : 0;
}
