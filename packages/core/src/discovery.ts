/**
 * Plugin discovery: the dependencies the user's package.json declares (never a scan of node_modules), each
 * resolved from the user's project, loaded when its package.json has `"imagespec": { "plugin": "./dist/plugin.js" }`.
 * A plugin that fails to load is a warning naming the package, never a crash.
 */

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { errorMessage } from "./errors.js";
import { SPECIFICATION_VERSION, specificationMismatch } from "./layer.js";
import { type ImageSpecPlugin, isPlugin } from "./plugin.js";

export interface DiscoveredPlugin {
  readonly plugin: ImageSpecPlugin;
  readonly packageName: string;
  readonly version: string | undefined;
  /** The package's folder. */
  readonly packageDir: string;
  /** The package.json that declared the dependency. */
  readonly declaredIn: string;
}

export interface PluginFailure {
  readonly packageName: string;
  readonly reason: string;
}

export interface DiscoveryResult {
  /** The package.json whose dependencies were read, if any was found. */
  readonly packageJson: string | undefined;
  readonly plugins: readonly DiscoveredPlugin[];
  readonly failures: readonly PluginFailure[];
}

const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies"] as const;

/** The nearest package.json from `startDir` upwards. */
export function findPackageJson(startDir: string): string | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, "package.json");
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export async function discoverPlugins(startDir: string): Promise<DiscoveryResult> {
  const packageJson = findPackageJson(startDir);
  if (!packageJson) return { packageJson: undefined, plugins: [], failures: [] };
  const projectDir = path.dirname(packageJson);
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(readFileSync(packageJson, "utf8")) as Record<string, unknown>;
  } catch (error) {
    return { packageJson, plugins: [], failures: [{ packageName: packageJson, reason: `cannot read it: ${errorMessage(error)}` }] };
  }
  const names = new Set<string>();
  for (const field of DEPENDENCY_FIELDS) {
    const deps = manifest[field];
    if (deps && typeof deps === "object") for (const name of Object.keys(deps)) names.add(name);
  }

  const plugins: DiscoveredPlugin[] = [];
  const failures: PluginFailure[] = [];
  await Promise.all(
    [...names].sort().map(async (name) => {
      const packageDir = resolvePackageDir(name, projectDir);
      if (!packageDir) return; // declared but not installed: not ours to judge unless it is a plugin, which we cannot know
      let pkg: { version?: string; imagespec?: { plugin?: unknown } };
      try {
        pkg = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8"));
      } catch {
        return;
      }
      const entry = pkg.imagespec?.plugin;
      if (entry === undefined) return;
      if (typeof entry !== "string") {
        failures.push({ packageName: name, reason: `"imagespec.plugin" in its package.json must be a path such as "./dist/plugin.js"` });
        return;
      }
      const modulePath = path.resolve(packageDir, entry);
      const inside = path.relative(packageDir, modulePath);
      if (inside === "" || inside.startsWith("..") || path.isAbsolute(inside)) {
        failures.push({
          packageName: name,
          reason: `"imagespec.plugin" (${entry}) points outside its package; it must be a file inside it, such as "./dist/plugin.js"`,
        });
        return;
      }
      try {
        const mod = (await import(pathToFileURL(modulePath).href)) as { default?: unknown };
        if (!isPlugin(mod.default)) {
          failures.push({ packageName: name, reason: `${entry} does not default-export a plugin made with definePlugin()` });
          return;
        }
        if (mod.default.specificationVersion !== SPECIFICATION_VERSION) {
          failures.push({ packageName: name, reason: specificationMismatch(mod.default.specificationVersion) });
          return;
        }
        plugins.push({ plugin: mod.default, packageName: name, version: pkg.version, packageDir, declaredIn: packageJson });
      } catch (error) {
        failures.push({ packageName: name, reason: `loading ${entry} failed: ${errorMessage(error).split("\n")[0]}` });
      }
    }),
  );
  // Sorted by package name: the order builders are registered in, which breaks priority ties.
  plugins.sort((a, b) => (a.packageName < b.packageName ? -1 : 1));
  failures.sort((a, b) => (a.packageName < b.packageName ? -1 : 1));
  return { packageJson, plugins, failures };
}

/** Finds `node_modules/<name>` from the project folder upwards, as Node's resolution does (pnpm and npm layouts). */
function resolvePackageDir(name: string, fromDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
