/**
 * Real plugin packages in real temporary projects, installed by npm or pnpm (offline: every dependency is a local
 * folder, a local tarball, or this workspace's @imagespec/core), for the discovery and project tests.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { write } from "./project.js";

/** This workspace's core, which the temporary projects link to (its dist is what plugins import). */
export const CORE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface BuilderSpec {
  readonly type: string;
  readonly priority: number;
  /** supports() refuses images that have layers (to show fallback). */
  readonly refusesLayers?: boolean;
  /** create() throws this message. */
  readonly createThrows?: string;
}

export interface PluginPackageSpec {
  readonly name: string;
  readonly version?: string;
  readonly builders?: readonly BuilderSpec[];
  /** The `imagespec.plugin` field; default `./plugin.js`. `null` leaves the field out (not a plugin). */
  readonly entry?: unknown;
  /** The entry module's source, instead of a definePlugin() of `builders`. */
  readonly source?: string;
  /** The plugin's name inside definePlugin(); default the package name. */
  readonly pluginName?: string;
}

/** The source of a plugin module offering `builders`, each recording the config it was created with. */
export function pluginSource(name: string, builders: readonly BuilderSpec[]): string {
  const factories = builders.map(
    (b) => `{
    type: ${JSON.stringify(b.type)},
    priority: ${b.priority},
    description: ${JSON.stringify(`the ${b.type} builder from ${name}`)},
    create({ config }) {
      ${b.createThrows ? `throw new Error(${JSON.stringify(b.createThrows)});` : ""}
      return {
        type: ${JSON.stringify(b.type)},
        createdWith: config,
        supports: (image) => (${b.refusesLayers ? "image.layers.length > 0" : "false"} ? ${JSON.stringify(`${b.type} takes no layers`)} : true),
        build: async (image, context) => ({ uri: context.uri, pushed: false }),
      };
    },
  }`,
  );
  return `import { definePlugin } from "@imagespec/core";\nexport default definePlugin({ specificationVersion: "v1", name: ${JSON.stringify(name)}, builders: [${factories.join(", ")}] });\n`;
}

/** Writes a plugin package (package.json with the `imagespec.plugin` field, the keyword, a peer dependency on core). */
export function writePluginPackage(dir: string, spec: PluginPackageSpec): void {
  mkdirSync(dir, { recursive: true });
  const manifest: Record<string, unknown> = {
    name: spec.name,
    version: spec.version ?? "1.0.0",
    type: "module",
    keywords: ["imagespec-plugin"],
    peerDependencies: { "@imagespec/core": "^0.1.0" },
  };
  if (spec.entry !== null) manifest.imagespec = { plugin: spec.entry ?? "./plugin.js" };
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const source = spec.source ?? pluginSource(spec.pluginName ?? spec.name, spec.builders ?? []);
  if (typeof spec.entry === "string" && spec.entry !== "./plugin.js") return; // a missing or odd entry: leave it missing
  write(dir, { "plugin.js": source });
}

export type Manager = "npm" | "pnpm";

/**
 * Installs the project's declared dependencies with npm or pnpm, offline. npm links `file:` folders (symlinks)
 * and extracts `file:` tarballs (real folders); pnpm copies `file:` folders into node_modules/.pnpm and links them.
 */
export async function install(projectDir: string, manager: Manager): Promise<void> {
  const args =
    manager === "npm"
      ? ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", "--ignore-scripts"]
      : ["install", "--offline", "--ignore-scripts", "--config.confirmModulesPurge=false"];
  const result = await execa(manager, args, { cwd: projectDir, reject: false, env: { CI: "1" }, timeout: 120_000 });
  if (result.failed) throw new Error(`${manager} install failed in ${projectDir}:\n${result.stdout}\n${result.stderr}`);
}

/** Packs a folder into a tarball with npm (as a registry would serve it) and returns the tarball's path. */
export async function pack(packageDir: string, into: string): Promise<string> {
  mkdirSync(into, { recursive: true });
  const result = await execa("npm", ["pack", "--pack-destination", into, "--loglevel=error"], { cwd: packageDir, env: { CI: "1" } });
  return path.join(into, result.stdout.trim().split("\n").at(-1)!);
}
