/**
 * One package of a Node.js workspace, as an image takes it: the package, the workspace packages it depends on (its
 * closure, in build order), which of them it needs at run time, the lock pruned to them, and the command it runs.
 * Everything is checked here, before any build: a stale lock, an unknown package, `files` entries imagespec cannot
 * copy, an `engines.node` the image's Node.js does not satisfy.
 */

import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { ImageSpecError } from "@imagespec/core/authoring";
import semver from "semver";
import { openLock } from "./lock.js";
import { describePackage, findWorkspaceRoot, type PackageManager, readWorkspace, type Workspace, type WorkspacePackage } from "./workspace.js";

/** pnpm when the root package.json does not pin one with `packageManager` (lockfile format 9). */
export const DEFAULT_PNPM_VERSION = "10.34.9";
/** yarn 1 when the root package.json does not pin one. */
export const DEFAULT_YARN_VERSION = "1.22.22";

/** What an image's folders never take from a workspace: installed packages, and npm credentials. */
export const ALWAYS_EXCLUDED = Object.freeze(["node_modules", "**/node_modules", ".npmrc", "**/.npmrc"]);

export interface NodeProjectRequest {
  /** Absolute path of the image root. */
  readonly root: string;
  /** The package's folder (relative to the root) or its name. */
  readonly package: string;
  /** The workspace root (relative to the root), or undefined to find it from the package. */
  readonly workspace: string | undefined;
  /** The Node.js version the image states, for `engines.node`. */
  readonly nodeVersion: string | undefined;
}

export interface NodeProject {
  readonly workspace: Workspace;
  /** The workspace root relative to the image root (POSIX). */
  readonly workspacePath: string;
  readonly target: WorkspacePackage;
  /** The target and the workspace packages it depends on (any field), dependencies first. */
  readonly closure: readonly string[];
  /** The packages whose files the image runs: the target and what it depends on outside devDependencies. */
  readonly runtimeClosure: readonly string[];
  /** The lock with only the closure (and the root): what the image installs from and what enters the tag. */
  readonly lockText: string;
  readonly lockDigest: string;
  /** The pnpm or yarn version the image installs with; undefined for npm (the image's own npm). */
  readonly managerVersion: string | undefined;
  /** The command from the package's `start` script or `main`, if it has either. */
  readonly command: readonly string[] | undefined;
}

const posix = (p: string) => p.split(path.sep).join("/");

function relativeFrom(root: string, abs: string): string {
  const rel = posix(path.relative(root, abs));
  return rel === "" ? "." : rel;
}

function isFolder(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** Finds the workspace and the package the request names (a folder, or a package name in the workspace). */
function locate(request: NodeProjectRequest): { workspace: Workspace; target: WorkspacePackage } {
  const packageAbs = path.resolve(request.root, request.package);
  const byFolder = isFolder(packageAbs) && existsSync(path.join(packageAbs, "package.json"));
  let workspaceAbs: string | undefined;
  if (request.workspace !== undefined) {
    workspaceAbs = path.resolve(request.root, request.workspace);
    if (!isFolder(workspaceAbs)) {
      throw new ImageSpecError("FILE_NOT_FOUND", `Cannot use the Node.js workspace ${JSON.stringify(request.workspace)}: ${workspaceAbs} is not a folder`, {
        field: "workspace",
        value: request.workspace,
        hint: `Relative paths are relative to ${request.root}.`,
      });
    }
  } else {
    workspaceAbs = findWorkspaceRoot(byFolder ? packageAbs : request.root);
    if (workspaceAbs === undefined) {
      throw new ImageSpecError(
        "FILE_NOT_FOUND",
        `Cannot find the Node.js workspace of ${JSON.stringify(request.package)}: no folder at or above ${byFolder ? packageAbs : request.root} has a lockfile (pnpm-lock.yaml, package-lock.json or yarn.lock)`,
        {
          field: "package",
          value: request.package,
          hint: "Install once with your package manager and commit the lockfile, or say where the workspace root is with `workspace`.",
        },
      );
    }
  }
  const workspace = readWorkspace(workspaceAbs);
  let target: WorkspacePackage | undefined;
  if (byFolder) {
    const dir = relativeFrom(workspaceAbs, packageAbs);
    target = workspace.packages.find((p) => p.dir === dir);
    if (target === undefined) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot build the Node.js package ${JSON.stringify(request.package)}: ${dir} is not a package of the workspace at ${workspaceAbs}`,
        {
          field: "package",
          value: request.package,
          hint: `Its packages: ${listPackages(workspace)}. Add the folder to the workspace's patterns, or point \`workspace\` at its own root.`,
        },
      );
    }
  } else {
    target = workspace.packages.find((p) => p.name === request.package);
    if (target === undefined) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot build the Node.js package ${JSON.stringify(request.package)}: it is neither a folder with a package.json nor the name of a package of the workspace at ${workspaceAbs}`,
        {
          field: "package",
          value: request.package,
          hint: `Its packages: ${listPackages(workspace)}.`,
        },
      );
    }
  }
  if (target.dir === "." && workspace.packages.length > 1) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot build the root of the workspace at ${workspaceAbs}: it has ${workspace.packages.length - 1} packages, and an image takes one of them with what it depends on`,
      {
        field: "package",
        value: request.package,
        hint: `Name the package to build, one of: ${listPackages(workspace)}.`,
      },
    );
  }
  return { workspace, target };
}

function listPackages(workspace: Workspace): string {
  const named = workspace.packages.filter((p) => p.dir !== ".").map((p) => (p.name === undefined ? p.dir : `${p.name} (${p.dir})`));
  return named.length === 0 ? "none" : named.join(", ");
}

/** `node dist/server.js` → exec form; anything else runs through the shell, which `exec`s a single command. */
function commandFrom(pkg: WorkspacePackage): string[] | undefined {
  const start = pkg.manifest.scripts?.start;
  if (typeof start === "string" && start.trim() !== "") {
    const words = start.trim().split(/\s+/);
    if (words[0] === "node" && words.every((w) => /^[A-Za-z0-9_./@:=+,-]+$/.test(w))) return words;
    return ["/bin/sh", "-c", start];
  }
  if (typeof pkg.manifest.main === "string" && pkg.manifest.main.trim() !== "") return ["node", pkg.manifest.main];
  return undefined;
}

/** A `files` entry imagespec can copy: a path inside the package, no pattern, no negation. */
export function checkFilesEntry(entry: unknown): string | undefined {
  if (typeof entry !== "string" || entry.trim() === "") return "an entry is a non-empty path";
  if (entry.startsWith("!")) return "negated entries are not supported";
  if (/[*?[\]{}]/.test(entry)) return "patterns are not supported; list the folders and files themselves";
  if (entry.startsWith("/") || entry.split("/").includes("..")) return "an entry is a path inside the package";
  if (/[\0\r\n]/.test(entry)) return "an entry cannot contain NUL or newlines";
  return undefined;
}

/** What of a package the image runs: `files` (plus package.json and `main`), or everything but node_modules. */
export function runtimeFiles(pkg: WorkspacePackage): readonly string[] | undefined {
  const files = pkg.manifest.files;
  if (files === undefined) return undefined;
  if (!Array.isArray(files)) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot take the files of ${describePackage(pkg)}: "files" in its package.json is not a list`, {
      field: "files",
      value: files,
    });
  }
  const problems = files.map((entry) => [entry, checkFilesEntry(entry)] as const).filter(([, problem]) => problem !== undefined);
  if (problems.length > 0) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot take the files of ${describePackage(pkg)}: ${problems.map(([entry, problem]) => `"files" entry ${JSON.stringify(entry)}: ${problem}`).join("; ")}`,
      {
        field: "files",
        value: files,
        hint: 'List the folders and files the package runs from, e.g. "files": ["dist"]. They are what the image takes from the build.',
      },
    );
  }
  const out = new Set(["package.json", ...files.map((f: string) => f.replace(/^\.\//, "").replace(/\/+$/, ""))]);
  if (typeof pkg.manifest.main === "string" && checkFilesEntry(pkg.manifest.main) === undefined) out.add(pkg.manifest.main.replace(/^\.\//, ""));
  return [...out];
}

/** `engines.node` must allow the image's Node.js. */
function checkEngines(target: WorkspacePackage, nodeVersion: string | undefined): void {
  const range = target.manifest.engines?.node;
  if (nodeVersion === undefined || typeof range !== "string") return;
  const parts = nodeVersion.split(".");
  const version = parts.length === 3 ? nodeVersion : `${nodeVersion}.x`;
  let fits: boolean;
  try {
    fits = semver.intersects(range, version, { includePrerelease: true });
  } catch {
    return; // not a range semver reads: npm itself would warn, not refuse
  }
  if (!fits) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot run ${describePackage(target)} on Node.js ${nodeVersion}: its engines.node is ${JSON.stringify(range)}`, {
      field: "nodeVersion",
      value: nodeVersion,
      hint: "Give fromNodeBase a nodeVersion the package supports, or widen engines.node.",
    });
  }
}

/** Reads and checks everything an image of one workspace package needs. Synchronous: the files are small. */
export function loadNodeProject(request: NodeProjectRequest): NodeProject {
  const { workspace, target } = locate(request);
  const byDir = new Map(workspace.packages.map((p) => [p.dir, p]));
  const lock = openLock(workspace);

  // The closure, dependencies first (a depth-first post-order, folders sorted, so the order is stable).
  const closure: string[] = [];
  const visiting = new Set<string>();
  const visit = (pkg: WorkspacePackage) => {
    if (closure.includes(pkg.dir) || visiting.has(pkg.dir)) return;
    visiting.add(pkg.dir);
    for (const dir of [...new Set(lock.links(pkg).map((l) => l.dir))].sort()) if (dir !== ".") visit(byDir.get(dir)!);
    visiting.delete(pkg.dir);
    closure.push(pkg.dir);
  };
  visit(target);

  const checked = [byDir.get(".")!, ...closure.filter((d) => d !== ".").map((d) => byDir.get(d)!)];
  const problems = lock.staleness(checked);
  if (problems.length > 0) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot use the ${workspace.manager} lock ${workspace.lockfile} for ${describePackage(target)}: it is out of date with ${problems.length === 1 ? problems[0] : `its package.json files:\n  - ${problems.join("\n  - ")}`}`,
      {
        field: "lockfile",
        value: path.join(workspace.root, workspace.lockfile),
        hint: `Run ${installCommand(workspace.manager)} at ${workspace.root} and commit ${workspace.lockfile}: the image installs exactly what the lock says, so a stale lock is refused before any build.`,
      },
    );
  }

  const runtime = new Set<string>();
  const walkRuntime = (pkg: WorkspacePackage) => {
    if (runtime.has(pkg.dir)) return;
    runtime.add(pkg.dir);
    for (const link of lock.links(pkg)) if (link.field !== "devDependencies" && link.dir !== ".") walkRuntime(byDir.get(link.dir)!);
  };
  walkRuntime(target);
  for (const dir of runtime) runtimeFiles(byDir.get(dir)!);
  checkEngines(target, request.nodeVersion);

  const lockText = lock.prune(closure.filter((d) => d !== "."));
  return {
    workspace,
    workspacePath: relativeFrom(request.root, workspace.root),
    target,
    closure,
    runtimeClosure: closure.filter((d) => runtime.has(d)),
    lockText,
    lockDigest: createHash("sha256").update(lockText).digest("hex"),
    managerVersion: managerVersion(workspace),
    command: commandFrom(target),
  };
}

function installCommand(manager: PackageManager): string {
  return manager === "npm" ? "npm install" : manager === "pnpm" ? "pnpm install" : "yarn install";
}

function managerVersion(workspace: Workspace): string | undefined {
  if (workspace.manager === "npm") return undefined;
  const version = workspace.managerVersion ?? (workspace.manager === "pnpm" ? DEFAULT_PNPM_VERSION : DEFAULT_YARN_VERSION);
  if (workspace.manager === "yarn" && !version.startsWith("1.")) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot use the yarn project at ${workspace.root}: package.json pins yarn ${version}, and imagespec installs with yarn 1`,
      {
        field: "packageManager",
        value: version,
        hint: "Use yarn 1 (classic), pnpm or npm for this project, or build it from a Dockerfile.",
      },
    );
  }
  return version;
}
