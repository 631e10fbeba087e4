/** pnpm-lock.yaml (lockfile format 9, pnpm 9 and 10): importers, packages and snapshots. */

import path from "node:path";
import { ImageSpecError } from "@imagespec/core/authoring";
import YAML from "yaml";
import { compareSpecifiers, type LockReader, pick, type WorkspaceLink } from "./lock.js";
import { type DependencyField, describePackage, type Workspace } from "./workspace.js";

const IMPORTER_FIELDS = ["dependencies", "devDependencies", "optionalDependencies"] as const;

interface ImporterDependency {
  readonly specifier: string;
  readonly version: string;
}

type Importer = Partial<Record<(typeof IMPORTER_FIELDS)[number], Record<string, ImporterDependency>>>;

interface Snapshot {
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

interface PnpmLock {
  readonly lockfileVersion: string;
  readonly importers?: Record<string, Importer>;
  readonly packages?: Record<string, unknown>;
  readonly snapshots?: Record<string, Snapshot>;
  readonly patchedDependencies?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

function parse(workspace: Workspace): PnpmLock {
  let lock: unknown;
  try {
    lock = YAML.parse(workspace.lockText);
  } catch (error) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot read the pnpm lock ${workspace.lockfile}: ${(error as Error).message}`, {
      field: "lockfile",
      value: workspace.lockfile,
      cause: error,
    });
  }
  const version = String((lock as { lockfileVersion?: unknown } | null)?.lockfileVersion ?? "");
  if (!/^9\./.test(version)) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot read the pnpm lock ${workspace.lockfile}: its lockfileVersion is ${JSON.stringify(version)}, and imagespec reads version 9 (pnpm 9 and 10)`,
      {
        field: "lockfile",
        value: version,
        hint: "Run pnpm install with pnpm 9 or later to rewrite the lock in format 9, and commit it.",
      },
    );
  }
  const parsed = lock as PnpmLock;
  if (parsed.patchedDependencies !== undefined && Object.keys(parsed.patchedDependencies).length > 0) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot use the pnpm lock ${workspace.lockfile}: it has patchedDependencies (${Object.keys(parsed.patchedDependencies).join(", ")}), which imagespec does not install yet`,
      {
        field: "lockfile",
        value: workspace.lockfile,
        hint: "Build this image from a Dockerfile (Image.fromDockerfile) until patched dependencies are supported.",
      },
    );
  }
  return parsed;
}

/** The key of a package in `snapshots` (`name@version(peers)`) and `packages` (`name@version`), or undefined for links. */
function snapshotKey(name: string, version: string): string | undefined {
  if (version.startsWith("link:")) return undefined;
  const bare = version.replace(/\(.*$/, "");
  // An alias (`npm:other@1.0.0` in the manifest) is locked as `other@1.0.0`.
  return bare.lastIndexOf("@") > 0 ? version : `${name}@${version}`;
}

function packageKey(snapshot: string): string {
  return snapshot.replace(/\(.*$/, "");
}

export function openPnpmLock(workspace: Workspace): LockReader {
  const lock = parse(workspace);
  const importers = lock.importers ?? {};
  const byDir = new Map(workspace.packages.map((p) => [p.dir, p]));

  return {
    staleness(packages) {
      const problems: string[] = [];
      for (const pkg of packages) {
        const importer = importers[pkg.dir];
        const who = `${pkg.dir}/package.json${pkg.name === undefined ? "" : ` (${pkg.name})`}`.replace(/^\.\//, "");
        if (importer === undefined) {
          problems.push(`${describePackage(pkg)} is not in the lock`);
          continue;
        }
        const locked: Partial<Record<DependencyField, Record<string, string>>> = {};
        for (const field of IMPORTER_FIELDS) {
          if (importer[field]) locked[field] = Object.fromEntries(Object.entries(importer[field]!).map(([name, dep]) => [name, dep.specifier]));
        }
        problems.push(...compareSpecifiers(who, pkg.manifest, locked, IMPORTER_FIELDS));
      }
      return problems;
    },

    links(pkg) {
      const out: WorkspaceLink[] = [];
      const importer = importers[pkg.dir] ?? {};
      for (const field of IMPORTER_FIELDS) {
        for (const dep of Object.values(importer[field] ?? {})) {
          const target = dep.version.startsWith("link:") ? dep.version.slice(5) : dep.version.startsWith("file:") ? dep.version.slice(5) : undefined;
          if (target === undefined) continue;
          const dir = path.posix.normalize(path.posix.join(pkg.dir, target)).replace(/\/$/, "") || ".";
          if (byDir.has(dir)) out.push({ dir, field });
        }
      }
      return out;
    },

    prune(dirs) {
      const keepImporters = new Set([".", ...dirs]);
      const snapshots = lock.snapshots ?? {};
      const reached = new Set<string>();
      const queue: string[] = [];
      const reach = (name: string, version: string) => {
        const key = snapshotKey(name, version);
        if (key !== undefined && !reached.has(key)) {
          reached.add(key);
          queue.push(key);
        }
      };
      for (const dir of keepImporters) {
        const importer = importers[dir] ?? {};
        for (const field of IMPORTER_FIELDS) for (const [name, dep] of Object.entries(importer[field] ?? {})) reach(name, dep.version);
      }
      while (queue.length > 0) {
        const snapshot = snapshots[queue.pop()!] ?? {};
        for (const [name, version] of Object.entries({ ...snapshot.dependencies, ...snapshot.optionalDependencies })) reach(name, version);
      }
      const packages = new Set([...reached].map(packageKey));
      const pruned: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(lock)) {
        if (key === "importers") pruned.importers = pick(importers, (dir) => keepImporters.has(dir));
        else if (key === "packages") pruned.packages = pick(lock.packages, (k) => packages.has(k));
        else if (key === "snapshots") pruned.snapshots = pick(snapshots, (k) => reached.has(k));
        else pruned[key] = value;
      }
      return YAML.stringify(pruned, { lineWidth: 0 });
    },
  };
}
