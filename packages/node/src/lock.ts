/**
 * What imagespec needs from a lockfile, for each package manager: whether it is stale against the manifests (the
 * check runs before any build), which workspace packages a package links to, and the lock pruned to the packages an
 * image takes (the way `pnpm deploy` and `turbo prune` do), so an unrelated package's dependencies never enter its
 * tag. The pruned text is what enters the tag and what the image installs from.
 */

import type { Workspace, WorkspacePackage, DependencyField } from "./workspace.js";
import { openNpmLock } from "./lock-npm.js";
import { openPnpmLock } from "./lock-pnpm.js";
import { openYarnLock } from "./lock-yarn.js";

export interface WorkspaceLink {
  /** The linked workspace package's folder. */
  readonly dir: string;
  /** The manifest field the dependency is in. */
  readonly field: DependencyField;
}

export interface LockReader {
  /** What is out of date, one line each (`apps/api (@acme/api): dependencies.ms is ...`); empty when current. */
  staleness(packages: readonly WorkspacePackage[]): string[];
  /** The workspace packages a package depends on through the workspace (links, not registry versions). */
  links(pkg: WorkspacePackage): WorkspaceLink[];
  /** The lock for these packages (the root always comes along) and everything they install. */
  prune(dirs: readonly string[]): string;
}

export function openLock(workspace: Workspace): LockReader {
  switch (workspace.manager) {
    case "pnpm":
      return openPnpmLock(workspace);
    case "npm":
      return openNpmLock(workspace);
    case "yarn":
      return openYarnLock(workspace);
  }
}

/** Compares a manifest's dependency maps with the lock's record of them. */
export function compareSpecifiers(
  who: string,
  manifest: Readonly<Partial<Record<DependencyField, Readonly<Record<string, string>>>>>,
  locked: Readonly<Partial<Record<DependencyField, Readonly<Record<string, string>>>>>,
  fields: readonly DependencyField[],
): string[] {
  const problems: string[] = [];
  for (const field of fields) {
    const want = manifest[field] ?? {};
    const have = locked[field] ?? {};
    for (const [name, spec] of Object.entries(want)) {
      if (!(name in have)) problems.push(`${who}: ${field}.${name} (${JSON.stringify(spec)}) is not in the lock`);
      else if (have[name] !== spec)
        problems.push(`${who}: ${field}.${name} is ${JSON.stringify(spec)} in package.json but ${JSON.stringify(have[name])} in the lock`);
    }
    for (const name of Object.keys(have)) if (!(name in want)) problems.push(`${who}: the lock has ${field}.${name}, which package.json no longer lists`);
  }
  return problems;
}

/** Keeps the keys of `source` that `keep` accepts, in their order. */
export function pick<T>(source: Readonly<Record<string, T>> | undefined, keep: (key: string) => boolean): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of Object.entries(source ?? {})) if (keep(key)) out[key] = value;
  return out;
}
