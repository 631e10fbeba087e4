/**
 * A Node.js workspace on disk: which package manager owns it (by its lockfile), its root manifest, and every package
 * its workspace patterns name (pnpm-workspace.yaml `packages`, or package.json `workspaces` for npm and yarn).
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ImageSpecError } from "@imagespec/core/authoring";
import YAML from "yaml";

export type PackageManager = "npm" | "pnpm" | "yarn";

/** The lockfile of each package manager, at the workspace root. */
export const LOCKFILES: Readonly<Record<PackageManager, string>> = { pnpm: "pnpm-lock.yaml", npm: "package-lock.json", yarn: "yarn.lock" };

/** The dependency maps of a manifest, in the order installs read them. */
export const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] as const;
export type DependencyField = (typeof DEPENDENCY_FIELDS)[number];

export interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly main?: string;
  readonly files?: readonly string[];
  readonly scripts?: Readonly<Record<string, string>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly workspaces?: readonly string[] | { readonly packages?: readonly string[] };
  readonly packageManager?: string;
  readonly engines?: Readonly<Record<string, string>>;
}

export interface WorkspacePackage {
  /** POSIX path relative to the workspace root; `.` for the root package. */
  readonly dir: string;
  readonly name: string | undefined;
  readonly manifest: PackageJson;
}

export interface Workspace {
  /** Absolute path of the workspace root (where the lockfile is). */
  readonly root: string;
  readonly manager: PackageManager;
  /** The lockfile's name at the root. */
  readonly lockfile: string;
  readonly lockText: string;
  /** The version `packageManager` in the root manifest pins, without its hash. */
  readonly managerVersion: string | undefined;
  /** Every package, the root (`.`) first, then by folder. */
  readonly packages: readonly WorkspacePackage[];
  /** Files at the root that every install reads: `package.json`, and `pnpm-workspace.yaml` for pnpm. */
  readonly configFiles: readonly string[];
}

const SKIPPED_FOLDERS = new Set(["node_modules", ".git", ".hg", ".svn"]);

export function readManifest(file: string, what: string): PackageJson {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot read ${what}: ${file} does not exist`, { value: file, cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot read ${what}: ${file} is not valid JSON (${(error as Error).message})`, { value: file, cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot read ${what}: ${file} is not a JSON object`, { value: file });
  }
  return value as PackageJson;
}

/** The nearest folder at or above `start` that holds a lockfile, or undefined. */
export function findWorkspaceRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (Object.values(LOCKFILES).some((file) => existsSync(path.join(dir, file))) || existsSync(path.join(dir, "npm-shrinkwrap.json"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** `pnpm@10.4.1+sha512.abc` → `{ manager: "pnpm", version: "10.4.1" }`. */
export function parsePackageManagerField(value: unknown): { manager: string; version: string } | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(npm|pnpm|yarn|bun)@([0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?)(?:\+.*)?$/.exec(value.trim());
  return match ? { manager: match[1]!, version: match[2]! } : undefined;
}

function detectManager(root: string, manifest: PackageJson): { manager: PackageManager; lockfile: string } {
  const found = (Object.entries(LOCKFILES) as [PackageManager, string][]).filter(([, file]) => existsSync(path.join(root, file)));
  if (existsSync(path.join(root, "npm-shrinkwrap.json")) && !found.some(([m]) => m === "npm")) found.push(["npm", "npm-shrinkwrap.json"]);
  const declared = parsePackageManagerField(manifest.packageManager);
  if (found.length === 0) {
    throw new ImageSpecError(
      "FILE_NOT_FOUND",
      `Cannot use the Node.js project at ${root}: it has no lockfile (pnpm-lock.yaml, package-lock.json or yarn.lock)`,
      {
        field: "workspace",
        value: root,
        hint: "Install once with your package manager (pnpm install, npm install or yarn) and commit the lockfile: the image installs exactly what it locks.",
      },
    );
  }
  if (found.length === 1) {
    const [manager, lockfile] = found[0]!;
    if (declared !== undefined && declared.manager !== manager) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot use the Node.js project at ${root}: package.json declares packageManager ${JSON.stringify(manifest.packageManager)}, but the lockfile is ${lockfile} (${manager})`,
        {
          field: "packageManager",
          value: manifest.packageManager,
          hint: `Install with ${declared.manager} and commit its lockfile, or correct packageManager.`,
        },
      );
    }
    return { manager, lockfile };
  }
  const chosen = found.find(([manager]) => manager === declared?.manager);
  if (chosen === undefined) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot use the Node.js project at ${root}: it has ${found.length} lockfiles (${found.map(([, f]) => f).join(", ")}) and package.json names no packageManager among them`,
      {
        field: "workspace",
        value: root,
        hint: 'Delete the lockfiles of the package managers you do not use, or set "packageManager" in package.json (e.g. "pnpm@10.4.1").',
      },
    );
  }
  return { manager: chosen[0], lockfile: chosen[1] };
}

function workspacePatterns(root: string, manager: PackageManager, manifest: PackageJson): string[] {
  if (manager === "pnpm") {
    const file = path.join(root, "pnpm-workspace.yaml");
    if (!existsSync(file)) return [];
    let parsed: unknown;
    try {
      parsed = YAML.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot read ${file}: ${(error as Error).message}`, { value: file, cause: error });
    }
    const packages = (parsed as { packages?: unknown } | null)?.packages;
    if (packages === undefined) return [];
    if (!Array.isArray(packages) || packages.some((p) => typeof p !== "string")) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot read ${file}: packages must be a list of folder patterns`, { value: packages });
    }
    return packages as string[];
  }
  const workspaces = manifest.workspaces;
  const list = Array.isArray(workspaces) ? workspaces : (workspaces as { packages?: readonly string[] } | undefined)?.packages;
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((p) => typeof p !== "string")) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot read ${path.join(root, "package.json")}: workspaces must be a list of folder patterns`, {
      value: workspaces,
    });
  }
  return [...list];
}

/** A workspace pattern segment (`*`, `pkg-*`, `**`) as a regular expression for one folder name. */
function segmentPattern(segment: string): RegExp {
  const source = segment
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", "[^/]*")
    .replaceAll("?", "[^/]");
  return new RegExp(`^${source}$`);
}

/** Folders below `root` that a pattern names (without `!`), skipping node_modules and VCS folders. */
function expandPattern(root: string, pattern: string): string[] {
  const segments = pattern
    .replace(/^\.\//, "")
    .replace(/\/+$/, "")
    .split("/")
    .filter((s) => s !== "" && s !== ".");
  const out: string[] = [];
  const visit = (rel: string, index: number): void => {
    if (index === segments.length) {
      out.push(rel === "" ? "." : rel);
      return;
    }
    const segment = segments[index]!;
    const abs = path.join(root, rel);
    if (segment === "**") {
      visit(rel, index + 1);
      for (const name of subfolders(abs)) visit(rel === "" ? name : `${rel}/${name}`, index);
      return;
    }
    if (!/[*?]/.test(segment)) {
      if (segment === "..") return;
      const next = rel === "" ? segment : `${rel}/${segment}`;
      if (isFolder(path.join(root, next))) visit(next, index + 1);
      return;
    }
    const matcher = segmentPattern(segment);
    for (const name of subfolders(abs)) if (matcher.test(name)) visit(rel === "" ? name : `${rel}/${name}`, index + 1);
  };
  visit("", 0);
  return out;
}

function isFolder(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

function subfolders(abs: string): string[] {
  try {
    return readdirSync(abs, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !SKIPPED_FOLDERS.has(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function matchesPattern(rel: string, pattern: string): boolean {
  const segments = pattern.replace(/^\.\//, "").replace(/\/+$/, "").split("/");
  const source = segments
    .map((s) =>
      s === "**"
        ? "(?:.*)"
        : s
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replaceAll("*", "[^/]*")
            .replaceAll("?", "[^/]"),
    )
    .join("/");
  return new RegExp(`^${source.replaceAll("(?:.*)/", "(?:.*/)?")}$`).test(rel);
}

/** Reads the workspace whose root is `root`: manager, lock, root manifest and every package. */
export function readWorkspace(root: string): Workspace {
  const rootManifest = readManifest(path.join(root, "package.json"), `the workspace's package.json (${root})`);
  const { manager, lockfile } = detectManager(root, rootManifest);
  const declared = parsePackageManagerField(rootManifest.packageManager);
  const patterns = workspacePatterns(root, manager, rootManifest);
  const positive = patterns.filter((p) => !p.startsWith("!"));
  const negative = patterns.filter((p) => p.startsWith("!")).map((p) => p.slice(1));
  const dirs = new Set<string>();
  for (const pattern of positive) {
    for (const dir of expandPattern(root, pattern)) {
      if (dir === "." || negative.some((n) => matchesPattern(dir, n))) continue;
      if (existsSync(path.join(root, dir, "package.json"))) dirs.add(dir);
    }
  }
  const packages: WorkspacePackage[] = [{ dir: ".", name: rootManifest.name, manifest: rootManifest }];
  for (const dir of [...dirs].sort()) {
    const manifest = readManifest(path.join(root, dir, "package.json"), `the package.json of ${dir}`);
    packages.push({ dir, name: manifest.name, manifest });
  }
  const names = new Map<string, string>();
  for (const pkg of packages) {
    if (pkg.name === undefined) continue;
    const other = names.get(pkg.name);
    if (other !== undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot use the workspace at ${root}: two packages are named ${pkg.name} (${other} and ${pkg.dir})`, {
        value: pkg.name,
        hint: "Give every workspace package its own name.",
      });
    }
    names.set(pkg.name, pkg.dir);
  }
  const configFiles = ["package.json", ...(manager === "pnpm" && existsSync(path.join(root, "pnpm-workspace.yaml")) ? ["pnpm-workspace.yaml"] : [])];
  let lockText: string;
  try {
    lockText = readFileSync(path.join(root, lockfile), "utf8");
  } catch (error) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot read the lockfile ${path.join(root, lockfile)}`, { value: lockfile, cause: error });
  }
  return {
    root,
    manager,
    lockfile,
    lockText,
    managerVersion: declared?.manager === manager ? declared.version : undefined,
    packages,
    configFiles,
  };
}

/** `apps/api (@acme/api)`, for messages. */
export function describePackage(pkg: WorkspacePackage): string {
  const where = pkg.dir === "." ? "the root package" : pkg.dir;
  return pkg.name === undefined ? where : `${where} (${pkg.name})`;
}
