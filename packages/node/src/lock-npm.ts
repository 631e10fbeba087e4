/** package-lock.json (and npm-shrinkwrap.json), lockfile versions 2 and 3: the `packages` map npm 7 and later read. */

import path from "node:path";
import { ImageSpecError } from "@imagespec/core/authoring";
import { compareSpecifiers, type LockReader, type WorkspaceLink } from "./lock.js";
import { DEPENDENCY_FIELDS, describePackage, type Workspace } from "./workspace.js";

interface NpmLockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly resolved?: string;
  readonly link?: boolean;
  readonly dev?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly [key: string]: unknown;
}

interface NpmLock {
  readonly lockfileVersion: number;
  readonly packages?: Record<string, NpmLockEntry>;
  readonly [key: string]: unknown;
}

const PROD_FIELDS = ["dependencies", "optionalDependencies", "peerDependencies"] as const;

/** The lock's key for a workspace folder: `` for the root, the folder otherwise. */
const keyOf = (dir: string) => (dir === "." ? "" : dir);

function parse(workspace: Workspace): NpmLock {
  let lock: unknown;
  try {
    lock = JSON.parse(workspace.lockText);
  } catch (error) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot read the npm lock ${workspace.lockfile}: ${(error as Error).message}`, {
      field: "lockfile",
      value: workspace.lockfile,
      cause: error,
    });
  }
  const version = (lock as { lockfileVersion?: unknown } | null)?.lockfileVersion;
  if ((version !== 2 && version !== 3) || typeof (lock as NpmLock).packages !== "object") {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot read the npm lock ${workspace.lockfile}: its lockfileVersion is ${JSON.stringify(version)}, and imagespec reads versions 2 and 3 (npm 7 and later)`,
      {
        field: "lockfile",
        value: version,
        hint: "Run npm install with npm 7 or later to rewrite the lock, and commit it.",
      },
    );
  }
  return lock as NpmLock;
}

/** Where node would find `name` from the package at `from` (a lock key): its own node_modules, then each parent's. */
function resolve(packages: Readonly<Record<string, NpmLockEntry>>, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = path.posix.dirname(dir)) {
    const base = dir === "." ? "" : dir;
    const candidate = base === "" ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (candidate in packages) return candidate;
    if (base === "") return undefined;
  }
}

export function openNpmLock(workspace: Workspace): LockReader {
  const lock = parse(workspace);
  const packages = lock.packages ?? {};
  const byDir = new Map(workspace.packages.map((p) => [p.dir, p]));

  const links = (dir: string): WorkspaceLink[] => {
    const entry = packages[keyOf(dir)];
    const out: WorkspaceLink[] = [];
    for (const field of DEPENDENCY_FIELDS) {
      for (const name of Object.keys(entry?.[field] ?? {})) {
        const key = resolve(packages, keyOf(dir), name);
        const target = key === undefined ? undefined : packages[key];
        if (target?.link === true && typeof target.resolved === "string" && byDir.has(target.resolved || ".")) out.push({ dir: target.resolved || ".", field });
      }
    }
    return out;
  };

  return {
    staleness(list) {
      const problems: string[] = [];
      for (const pkg of list) {
        const entry = packages[keyOf(pkg.dir)];
        const who = `${pkg.dir}/package.json${pkg.name === undefined ? "" : ` (${pkg.name})`}`.replace(/^\.\//, "");
        if (entry === undefined) {
          problems.push(`${describePackage(pkg)} is not in the lock`);
          continue;
        }
        problems.push(...compareSpecifiers(who, pkg.manifest, entry, DEPENDENCY_FIELDS));
      }
      return problems;
    },

    links: (pkg) => links(pkg.dir),

    prune(dirs) {
      const roots = ["", ...dirs.map(keyOf).filter((k) => k !== "")];
      const rootSet = new Set(roots);
      const kept = new Set<string>(roots);
      // Links from node_modules to the workspace packages that come along (`node_modules/@acme/shared` → packages/shared).
      for (const [key, entry] of Object.entries(packages))
        if (entry.link === true && typeof entry.resolved === "string" && rootSet.has(entry.resolved)) kept.add(key);
      // Everything each kept package needs, resolved the way node resolves it; which of it only the dev tree needs.
      const prod = new Set<string>();
      const dev = new Set<string>();
      const walk = (key: string, isDev: boolean, seen: Set<string>) => {
        if (seen.has(key)) return;
        seen.add(key);
        const entry = packages[key];
        if (entry === undefined) return;
        kept.add(key);
        if (entry.link === true && typeof entry.resolved === "string") return walk(entry.resolved, isDev, seen);
        (isDev ? dev : prod).add(key);
        // devDependencies count for the workspace's own packages only (below); a dependency's are never installed.
        for (const field of PROD_FIELDS) {
          for (const name of Object.keys(entry[field] ?? {})) {
            const found = resolve(packages, key, name);
            if (found !== undefined) walk(found, isDev, seen);
          }
        }
      };
      const prodSeen = new Set<string>();
      for (const root of roots) walk(root, false, prodSeen);
      const devSeen = new Set<string>(prodSeen);
      for (const root of roots) {
        for (const name of Object.keys(packages[root]?.devDependencies ?? {})) {
          const found = resolve(packages, root, name);
          if (found !== undefined) walk(found, true, devSeen);
        }
      }
      const pruned: Record<string, NpmLockEntry> = {};
      for (const [key, entry] of Object.entries(packages)) {
        if (!kept.has(key)) continue;
        if (rootSet.has(key) || entry.link === true) {
          pruned[key] = entry;
          continue;
        }
        // A package only the dev tree reaches is dev in this lock, whatever the whole workspace made of it.
        const isDev = dev.has(key) && !prod.has(key);
        if (entry.dev === true && !isDev) {
          const { dev: _dev, ...rest } = entry;
          pruned[key] = rest;
        } else pruned[key] = isDev && entry.dev !== true ? { ...entry, dev: true } : entry;
      }
      // Version 2 also carries the version-1 `dependencies` tree for old npm; the pruned lock is version 3 (npm 7+).
      const { dependencies: _legacy, ...head } = lock;
      return `${JSON.stringify({ ...head, lockfileVersion: 3, packages: pruned }, null, 2)}\n`;
    },
  };
}
