import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The packages a user installs. A new published package must be added here, so this test notices it. */
export const PUBLISHED = [
  "@imagespec/builder-docker",
  "@imagespec/builder-envd",
  "@imagespec/builder-noop",
  "@imagespec/builder-remote",
  "@imagespec/core",
  "@imagespec/docker-build",
  "@imagespec/node",
  "@imagespec/python",
  "@imagespec/testing",
  "imagespec",
] as const;

export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string } | string;
  homepage?: string;
  bugs?: { url?: string } | string;
  type?: string;
  sideEffects?: boolean | string[];
  engines?: Record<string, string>;
  files?: string[];
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  keywords?: string[];
  imagespec?: { plugin?: string };
  publishConfig?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface WorkspacePackage {
  name: string;
  /** Absolute folder. */
  dir: string;
  /** Folder relative to the repository root, with `/`. */
  relDir: string;
  manifest: Manifest;
}

/**
 * Every package of the workspace under `root` (pnpm-workspace.yaml: packages/*, examples/*, tools/*), as pnpm reads
 * those globs: a folder whose name starts with a dot is not matched (examples/node-monorepo's test works in a scratch
 * copy, examples/.node-monorepo-*, while other tests read this list).
 */
export function workspacePackages(root = REPO_DIR): WorkspacePackage[] {
  const out: WorkspacePackage[] = [];
  for (const group of ["packages", "examples", "tools"]) {
    const groupDir = path.join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const entry of readdirSync(groupDir, { withFileTypes: true })) {
      const file = path.join(groupDir, entry.name, "package.json");
      if (!entry.isDirectory() || entry.name.startsWith(".") || !existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
      out.push({ name: manifest.name, dir: path.dirname(file), relDir: `${group}/${entry.name}`, manifest });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function publishedPackages(root = REPO_DIR): WorkspacePackage[] {
  return workspacePackages(root).filter((p) => !p.manifest.private);
}

/** The import specifiers of a package's module entry points (its `exports` map, less the JSON files it exports). */
export function entryPoints(manifest: Manifest): string[] {
  // Data files (package.json, core's image-spec.schema.json) are exported as themselves, not as modules.
  return Object.keys(manifest.exports ?? {})
    .filter((key) => !key.endsWith(".json"))
    .map((key) => (key === "." ? manifest.name : `${manifest.name}/${key.slice(2)}`));
}

export const DEPENDENCY_FIELDS = ["dependencies", "peerDependencies", "optionalDependencies", "devDependencies"] as const;
