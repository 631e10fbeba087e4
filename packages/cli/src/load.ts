/**
 * From the command line to Images: the configuration (found by walking up, or --config), the project's builders
 * when the command needs them, the user's module (TypeScript through core's importModule, no build step) or
 * YAML spec, and the environment's defaults (IMAGESPEC_REGISTRY, --platform, --fast) applied to every image.
 */

import { existsSync, statSync } from "node:fs";
import path from "node:path";
import {
  closestMatch,
  findConfigFile,
  grammar,
  type Image,
  ImageSpecError,
  type ImageSpecConfig,
  importModule,
  isImage,
  isImageSpec,
  isImageSpecError,
  loadConfigFile,
  loadImageSpecFile,
  loadProject,
  type Project,
} from "@imagespec/core";
import { UsageError } from "./args.js";
import type { Invocation } from "./main.js";

export interface Settings {
  readonly config: ImageSpecConfig;
  readonly configFile: string | undefined;
  /** Loaded only for commands that need builders. */
  readonly project: Project | undefined;
}

export interface Target {
  /** The export name (a module), or the image name (a YAML spec). */
  readonly name: string;
  readonly image: Image;
}

/**
 * The configuration and, with `project`, the builders. Applies the config's Debian base to the environment
 * before any user module is imported, because `Image.fromDebianBase` reads it when the module runs.
 */
export async function loadSettings(inv: Invocation, options: { project: boolean; warnPluginFailures?: boolean }): Promise<Settings> {
  const explicit = typeof inv.options.config === "string" ? path.resolve(inv.cwd, inv.options.config) : undefined;
  let settings: Settings;
  if (options.project) {
    const project = await loadProject({ cwd: inv.cwd, ...(explicit !== undefined && { configFile: explicit }) });
    if (options.warnPluginFailures !== false) {
      for (const failure of project.failures) inv.out.warn(`plugin ${failure.packageName} was not loaded: ${failure.reason}`);
      for (const warning of project.warnings) inv.out.warn(warning);
    }
    settings = { config: project.config, configFile: project.configFile, project };
  } else {
    const configFile = explicit ?? findConfigFile(inv.cwd);
    settings = { config: configFile ? await loadConfigFile(configFile) : {}, configFile, project: undefined };
  }
  if (!process.env.IMAGESPEC_DEBIAN_BASE_IMAGE && settings.config.debianBaseImage) {
    process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = settings.config.debianBaseImage;
  }
  return settings;
}

/** The builder type for images that name none: --builder, IMAGESPEC_BUILDER, then the config's `builder`. */
export function builderOverride(inv: Invocation, settings: Settings): string | undefined {
  const flag = typeof inv.options.builder === "string" ? inv.options.builder : undefined;
  return flag ?? (inv.env.IMAGESPEC_BUILDER || undefined) ?? settings.config.builder;
}

/** `--concurrency` (else IMAGESPEC_CONCURRENCY): a whole number of at least 1, or undefined for the engine's default. */
export function concurrency(inv: Invocation): number | undefined {
  const flag = typeof inv.options.concurrency === "string" ? inv.options.concurrency : undefined;
  const text = flag ?? (inv.env.IMAGESPEC_CONCURRENCY || undefined);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    const source = flag !== undefined ? "--concurrency" : "IMAGESPEC_CONCURRENCY";
    throw new UsageError(`${source} must be a whole number of at least 1 (got ${JSON.stringify(text)})`, { command: inv.command.name });
  }
  return value;
}

/**
 * The images the command works on, prepared (registry default, platforms, fast mode) and validated.
 * `one`: the command takes a single image (`<file> [name]`); a module with one image needs no name.
 */
export async function loadTargets(inv: Invocation, settings: Settings, mode: "many" | "one"): Promise<Target[]> {
  const specFiles = Array.isArray(inv.options.image) ? inv.options.image : [];
  const command = inv.command.name;
  let targets: Target[];
  if (specFiles.length > 0) {
    if (inv.positionals.length > 0) {
      throw new UsageError(`give either a module or --image, not both (got ${inv.positionals.join(" ")} and --image ${specFiles.join(",")})`, { command });
    }
    if (mode === "one" && specFiles.length > 1) throw new UsageError(`${command} works on one image; give --image once`, { command });
    targets = await Promise.all(specFiles.map((file) => loadSpecTarget(path.resolve(inv.cwd, file), file)));
  } else {
    const [file, ...names] = inv.positionals;
    if (file === undefined) {
      throw new UsageError(`${command} needs a module or a spec file: ${inv.command.usage.join("  or  ")}`, { command });
    }
    if (/\.ya?ml$/i.test(file)) {
      if (names.length > 0) throw new UsageError(`a YAML spec holds one image; drop ${names.map((n) => JSON.stringify(n)).join(" ")}`, { command });
      targets = [await loadSpecTarget(path.resolve(inv.cwd, file), file)];
    } else {
      const images = await importImages(path.resolve(inv.cwd, file), file);
      targets = selectExports(images, file, names, mode, command);
    }
  }
  const prepared = prepare(targets, inv, settings);
  for (const target of prepared) target.image.validate();
  return resolveNativePlatforms(prepared, inv, settings);
}

/**
 * Images whose platform is `native` (their own or an Image base's) get the platform of the engine their builder
 * builds on, before anything is hashed. Commands that load no builders load them for this.
 */
export async function resolveNativePlatforms(targets: readonly Target[], inv: Invocation, settings: Settings): Promise<Target[]> {
  const hasNative = (image: Image): boolean => image.hasNativePlatform || (image.base.type === "image" && hasNative(image.base.image));
  if (!targets.some((t) => hasNative(t.image))) return [...targets];
  const project = settings.project ?? (await loadSettings(inv, { project: true, warnPluginFailures: false })).project!;
  const builder = builderOverride(inv, settings);
  return Promise.all(targets.map(async ({ name, image }) => ({ name, image: await project.engine.resolvePlatforms(image, { builder }) })));
}

/** A module's exported Images and ImageSpecs (as Images), by export name; plus what else it exports, for messages. */
export interface ModuleImages {
  readonly images: Map<string, Image>;
  readonly others: Map<string, string>;
}

export async function importImages(absolute: string, shown: string): Promise<ModuleImages> {
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot load ${JSON.stringify(shown)}: no such file`, {
      value: shown,
      hint: "Give the module that exports your images, e.g. imagespec build images.ts (relative to the current folder).",
    });
  }
  let module: Record<string, unknown>;
  try {
    module = await importModule(absolute);
  } catch (error) {
    // A definition that does not validate says which field and value itself; anything else is about the module.
    if (isImageSpecError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ImageSpecError("INVALID_SPEC", `Cannot load ${JSON.stringify(shown)}: ${message.split("\n")[0]}`, {
      value: shown,
      hint: "Fix the module so that it runs (node or tsx would show the same error); --debug prints the stack.",
      cause: error,
    });
  }
  const images = new Map<string, Image>();
  const others = new Map<string, string>();
  const seen = new Set<unknown>();
  // Named exports first, so an image that is also the default export is reported under its name.
  const entries = Object.entries(module).sort(([a], [b]) => Number(a === "default") - Number(b === "default"));
  for (const [name, value] of entries) {
    if (name === "__esModule") continue;
    if (isImage(value) || isImageSpec(value)) {
      if (name === "default" && seen.has(value)) continue;
      seen.add(value);
      images.set(name, isImageSpec(value) ? value.toImage() : value);
    } else {
      others.set(name, value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "function" ? "a function" : `a ${typeof value}`);
    }
  }
  return { images, others };
}

function selectExports(module: ModuleImages, file: string, names: readonly string[], mode: "many" | "one", command: string): Target[] {
  const available = [...module.images.keys()];
  if (available.length === 0) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot find images in ${JSON.stringify(file)}: it exports no Image or ImageSpec`, {
      value: file,
      hint: `Export them, e.g. export const app = Image.fromDebianBase().withPipPackages("requests");${module.others.size > 0 ? ` (it exports ${[...module.others.keys()].join(", ")})` : ""}`,
    });
  }
  if (names.length === 0) {
    if (mode === "one" && available.length > 1) {
      throw new UsageError(`${file} exports several images (${available.join(", ")}); name one: imagespec ${command} ${file} ${available[0]}`, { command });
    }
    return available.map((name) => ({ name, image: module.images.get(name)! }));
  }
  const targets: Target[] = [];
  for (const name of new Set(names)) {
    const image = module.images.get(name);
    if (image) {
      targets.push({ name, image });
      continue;
    }
    const other = module.others.get(name);
    if (other !== undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot use export ${JSON.stringify(name)} of ${file}: it is ${other}, not an Image or ImageSpec`, { field: name, value: name });
    }
    const suggestion = closestMatch(name, available);
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot find image ${JSON.stringify(name)} in ${file}: ${suggestion ? `did you mean ${suggestion}? ` : ""}it exports ${available.join(", ")}`,
      { field: name, value: name, hint: "Name an exported Image or ImageSpec, or give no name to use all of them." },
    );
  }
  return targets;
}

async function loadSpecTarget(absolute: string, shown: string): Promise<Target> {
  if (!existsSync(absolute)) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot load image spec ${JSON.stringify(shown)}: no such file`, { value: shown });
  }
  const spec = await loadImageSpecFile(absolute);
  return { name: spec.name, image: spec.toImage() };
}

/**
 * Applies what the command line and environment add to the definitions: fast mode (code bundles left out),
 * IMAGESPEC_REGISTRY / config `registry` for images that name none, and --platform. Registry and platforms
 * apply to base Images too, so a base shared by two targets stays one image (one URI).
 */
export function prepare(targets: readonly Target[], inv: Invocation, settings: Settings): Target[] {
  const registry = inv.env.IMAGESPEC_REGISTRY || settings.config.registry;
  const platforms = Array.isArray(inv.options.platform) && inv.options.platform.length > 0 ? inv.options.platform : undefined;
  const fast = inv.options.fast === true;
  if (registry !== undefined) checkRegistry(registry, inv.env.IMAGESPEC_REGISTRY ? "IMAGESPEC_REGISTRY" : "registry in the config file");
  for (const platform of platforms ?? []) {
    const problem = grammar.checkPlatform(platform);
    if (problem !== undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot use --platform ${JSON.stringify(platform)}: ${problem}`, { field: "--platform", value: platform });
    }
  }
  const change = (image: Image): Image => {
    let next = image;
    if (registry !== undefined && next.registry === undefined) next = next.clone({ registry });
    if (platforms !== undefined) next = next.clone({ platform: platforms });
    return next;
  };
  const cache = new WeakMap<Image, Image>();
  return targets.map(({ name, image }) => ({ name, image: mapChain(fast ? image.forFastRegistration() : image, change, cache) }));
}

function checkRegistry(registry: string, source: string): void {
  const problem = grammar.checkRegistry(registry);
  if (problem === undefined) return;
  throw new ImageSpecError("CONFIG_ERROR", `Cannot use ${source} = ${JSON.stringify(registry)}: ${problem}`, {
    field: source,
    value: registry,
    hint: "Give a registry host with an optional port and path, e.g. ghcr.io/acme or 127.0.0.1:5000.",
  });
}

/** Applies `change` to an image and every Image it is based on; the child is rebuilt on the changed base. */
export function mapChain(image: Image, change: (image: Image) => Image, cache = new WeakMap<Image, Image>()): Image {
  const cached = cache.get(image);
  if (cached) return cached;
  let current = image;
  if (image.base.type === "image") {
    const base = mapChain(image.base.image, change, cache);
    if (base !== image.base.image) current = image.withBase(base);
  }
  const result = change(current);
  cache.set(image, result);
  return result;
}

/** Every Image a target is built on, nearest first. */
export function baseChain(image: Image): Image[] {
  const chain: Image[] = [];
  for (let current = image; current.base.type === "image"; current = current.base.image) chain.push(current.base.image);
  return chain;
}
