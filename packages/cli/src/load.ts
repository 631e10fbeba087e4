/**
 * From the command line to Images: the configuration (found by walking up, or --config), the project's builders
 * when the command needs them, the user's module (TypeScript through core's importModule, no build step) or
 * YAML spec, and the resolved settings (registry, Debian base) and flags (--platform, --fast) applied to every image.
 */

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  applySettings,
  closestMatch,
  grammar,
  type Image,
  ImageSpecError,
  isImageSpecError,
  loadProject,
  parseImageSpecYaml,
  type Project,
  type ResolvedSettings,
  resolveSettings,
} from "@imagespec/core";
import { UsageError } from "./args.js";
import type { CommandSpec } from "./commands.js";
import type { Invocation as CommandInvocation } from "./main.js";

/** What loading needs of any command's invocation: the options several commands share. */
export interface Invocation extends Omit<CommandInvocation, "command" | "options"> {
  readonly command: CommandSpec;
  readonly options: {
    readonly config?: string;
    readonly builder?: string;
    readonly concurrency?: string;
    readonly image?: string[];
    readonly platform?: string[];
    readonly fast?: boolean;
  };
}
import { importImages, type ModuleImages } from "./module.js";

export { importImages } from "./module.js";

/** The settings resolved once (core's `resolveSettings`: --builder, the environment, the config file) and, for commands that need builders, the project. */
export interface Settings extends ResolvedSettings {
  /** Loaded only for commands that need builders. */
  readonly project: Project | undefined;
}

export interface Target {
  /** The export name (a module), or the image name (a YAML spec). */
  readonly name: string;
  /** The module or spec file it came from, as given on the command line. */
  readonly file: string;
  /** The same file, absolute. */
  readonly absolute: string;
  readonly image: Image;
  /** What an ImageSpec changed or ignored on the way (a name lower-cased, ...): printed as warnings. */
  readonly warnings?: readonly string[];
}

/**
 * The settings, resolved once from --builder, the invocation's environment and the config file, and with
 * `project` the builders, assembled from the same settings. Nothing is written to `process.env`: the settings
 * reach the images through `prepare` (core's `applySettings`), as they do for `loadProject()` users.
 */
export async function loadSettings(
  inv: Invocation,
  options: { project: boolean; warnPluginFailures?: boolean; deferBuilders?: boolean; settings?: ResolvedSettings },
): Promise<Settings> {
  const explicit = inv.options.config !== undefined ? path.resolve(inv.cwd, inv.options.config) : undefined;
  const flag = inv.options.builder;
  const resolved =
    options.settings ??
    (await resolveSettings({ cwd: inv.cwd, env: inv.env, ...(explicit !== undefined && { configFile: explicit }), flags: { builder: flag } }));
  if (!options.project) return { ...resolved, project: undefined };
  const project = await loadProject({ cwd: inv.cwd, env: inv.env, settings: resolved, ...(options.deferBuilders && { deferBuilders: true }) });
  if (options.warnPluginFailures !== false) {
    for (const failure of project.failures) inv.out.warn(`plugin ${failure.packageName} was not loaded: ${failure.reason}`);
    for (const warning of project.warnings) inv.out.warn(warning);
  }
  return { ...resolved, project };
}

/** The builder type for images that name none: --builder, IMAGESPEC_BUILDER, then the config's `builder`. */
export function builderOverride(_inv: Invocation, settings: Settings): string | undefined {
  return settings.builder;
}

/** `--concurrency` (else IMAGESPEC_CONCURRENCY): a whole number of at least 1, or undefined for the engine's default. */
export function concurrency(inv: Invocation): number | undefined {
  const flag = inv.options.concurrency;
  const text = flag ?? (inv.env.IMAGESPEC_CONCURRENCY || undefined);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    const source = flag !== undefined ? "--concurrency" : "IMAGESPEC_CONCURRENCY";
    throw new UsageError(`${source} must be a whole number of at least 1 (got ${JSON.stringify(text)})`, { command: inv.command.name });
  }
  return value;
}

/** One file named on the command line: a module with the export names that follow it, or a YAML spec. */
export interface Source {
  readonly kind: "module" | "spec";
  readonly file: string;
  readonly names: string[];
}

const isYaml = (file: string) => /\.ya?ml$/i.test(file);
/** An export name is an identifier; anything else (a dot, a slash) is a file. */
const isExportName = (arg: string) => /^[A-Za-z_$][\w$]*$/.test(arg);

/**
 * The files of the command line, in order: `<file> [name...]` any number of times (a module's export names follow
 * it; a YAML spec takes none), then each `--image <spec.yaml>`.
 */
export function sources(inv: Invocation): Source[] {
  const command = inv.command.name;
  const list: Source[] = [];
  for (const [i, arg] of inv.positionals.entries()) {
    const last = list.at(-1);
    if (i > 0 && isExportName(arg) && last !== undefined) {
      if (last.kind === "spec") {
        throw new UsageError(
          `a YAML spec holds one image; ${JSON.stringify(arg)} after ${last.file} is not a file (modules end in .ts, .js, ...; specs in .yaml)`,
          { command },
        );
      }
      last.names.push(arg);
      continue;
    }
    list.push({ kind: isYaml(arg) ? "spec" : "module", file: arg, names: [] });
  }
  const specFiles = inv.options.image ?? [];
  for (const file of specFiles) list.push({ kind: "spec", file, names: [] });
  return list;
}

/**
 * The images the command works on, from every file given, prepared (registry default, platforms, fast mode) and
 * validated. `one`: the command takes a single image; a module with one image needs no name.
 */
export async function loadTargets(inv: Invocation, settings: Settings, mode: "many" | "one"): Promise<Target[]> {
  const command = inv.command.name;
  const files = sources(inv);
  if (files.length === 0) {
    throw new UsageError(`${command} needs a module or a spec file: ${inv.command.usage.join("  or  ")}`, { command });
  }
  const targets: Target[] = [];
  for (const source of files) {
    const absolute = path.resolve(inv.cwd, source.file);
    if (source.kind === "spec") {
      targets.push(await loadSpecTarget(absolute, source.file));
      continue;
    }
    const module = await importImages(absolute, source.file);
    for (const { name, image } of selectExports(module, source.file, source.names, mode === "one" && files.length === 1, command)) {
      targets.push({ name, file: source.file, absolute, image, warnings: module.warnings.get(name) ?? [] });
    }
  }
  for (const target of targets) {
    // A single-label registry is a Docker Hub namespace (as Docker reads it), whichever door set it: said, not silent.
    const hub = target.image.registry === undefined ? undefined : grammar.registryWarning(target.image.registry);
    const warnings = [...(target.warnings ?? []), ...(hub !== undefined && !(target.warnings ?? []).includes(hub) ? [hub] : [])];
    for (const warning of warnings) inv.out.warn(`${target.name}: ${warning}`);
  }
  if (mode === "one" && targets.length > 1) {
    throw new UsageError(`${command} works on one image; the files given hold ${targets.length} (${targets.map((t) => t.name).join(", ")}): name one`, {
      command,
    });
  }
  const prepared = prepare(targets, inv, settings);
  for (const target of prepared) {
    try {
      target.image.validate();
    } catch (error) {
      throw isImageSpecError(error) ? located(error, target) : error;
    }
  }
  return resolveNativePlatforms(prepared, inv, settings);
}

/**
 * Images whose platform is `native` (their own or an Image base's) get the platform of the engine their builder
 * builds on, before anything is hashed. Commands that load no builders load them for this.
 */
export async function resolveNativePlatforms(targets: readonly Target[], inv: Invocation, settings: Settings): Promise<Target[]> {
  const hasNative = (image: Image): boolean => image.hasNativePlatform || (image.base.type === "image" && hasNative(image.base.image));
  if (!targets.some((t) => hasNative(t.image))) return [...targets];
  const project = settings.project ?? (await loadSettings(inv, { project: true, warnPluginFailures: false, settings })).project!;
  const builder = builderOverride(inv, settings);
  return Promise.all(targets.map(async (target) => ({ ...target, image: await project.engine.resolvePlatforms(target.image, { builder }) })));
}

/** An error about one target, led by the file and export it came from. */
export function located(error: ImageSpecError, target: Pick<Target, "file" | "name">, isSpec = isYaml(target.file)): ImageSpecError {
  const where = isSpec ? target.file : `${target.file} (export ${target.name})`;
  if (error.message.includes(target.file)) return error;
  return new ImageSpecError(error.code, `${where}: ${error.message}`, {
    ...(error.field !== undefined && { field: error.field }),
    ...(error.value !== undefined && { value: error.value }),
    ...(error.hint !== undefined && { hint: error.hint }),
    issues: error.issues,
    cause: error,
  });
}

/**
 * The exports to use. With no names: every image, and any broken definition is an error (nothing is skipped
 * silently). `oneImage`: the command needs exactly one image from this module.
 */
function selectExports(module: ModuleImages, file: string, names: readonly string[], oneImage: boolean, command: string): { name: string; image: Image }[] {
  const available = [...module.images.keys()];
  if (names.length === 0) {
    const problems = [...module.problems.values()];
    if (problems.length === 1) throw problems[0]!;
    if (problems.length > 1) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot use ${file}: ${problems.length} exports are not usable images:\n${problems.map((p) => `  - ${p.message.split("\n")[0]}`).join("\n")}`,
        {
          value: file,
          hint: problems[0]!.hint ?? "Export Images or ImageSpecs (or Promises of them).",
          issues: problems.map((p) => ({ field: p.field ?? "", value: p.value, message: p.message.split("\n")[0]! })),
        },
      );
    }
    if (available.length === 0) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot find images in ${JSON.stringify(file)}: it exports no Image or ImageSpec`, {
        value: file,
        hint: `Export them, e.g. export const app = Image.fromDebianBase().withPipPackages("requests");${module.others.size > 0 ? ` (it exports ${[...module.others.keys()].join(", ")})` : ""}`,
      });
    }
    if (oneImage && available.length > 1) {
      throw new UsageError(`${file} exports several images (${available.join(", ")}); name one: imagespec ${command} ${file} ${available[0]}`, { command });
    }
    return available.map((name) => ({ name, image: module.images.get(name)! }));
  }
  const targets: { name: string; image: Image }[] = [];
  for (const name of new Set(names)) {
    const image = module.images.get(name);
    if (image) {
      targets.push({ name, image });
      continue;
    }
    const problem = module.problems.get(name);
    if (problem) throw problem;
    const other = module.others.get(name);
    if (other !== undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot use export ${JSON.stringify(name)} of ${file}: it is ${other}, not an Image or ImageSpec`, {
        field: name,
        value: name,
      });
    }
    const suggestion = closestMatch(name, available);
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot find image ${JSON.stringify(name)} in ${file}: ${suggestion ? `did you mean ${suggestion}? ` : ""}it exports ${available.join(", ") || "no images"}`,
      { field: name, value: name, hint: "Name an exported Image or ImageSpec, or give no name to use all of them." },
    );
  }
  return targets;
}

async function loadSpecTarget(absolute: string, shown: string): Promise<Target> {
  if (!existsSync(absolute)) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot load image spec ${JSON.stringify(shown)}: no such file`, { value: shown });
  }
  const spec = parseImageSpecYaml(await readFile(absolute, "utf8"), { root: path.dirname(absolute), source: shown });
  try {
    return { name: spec.name, file: shown, absolute, image: spec.toImage(), warnings: spec.warnings ?? [] };
  } catch (error) {
    throw isImageSpecError(error) ? located(error, { file: shown, name: spec.name }, true) : error;
  }
}

/**
 * Applies what the settings and the command line add to the definitions: the resolved settings (core's
 * `applySettings`: the registry for images that name none, the Debian base template), fast mode (code bundles left
 * out) and --platform. They apply to base Images too, so a base shared by two targets stays one image (one URI).
 */
export function prepare(targets: readonly Target[], inv: Invocation, settings: Settings): Target[] {
  const platforms = inv.options.platform !== undefined && inv.options.platform.length > 0 ? inv.options.platform : undefined;
  const fast = inv.options.fast === true;
  for (const platform of platforms ?? []) {
    const problem = grammar.checkPlatform(platform);
    if (problem !== undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot use --platform ${JSON.stringify(platform)}: ${problem}`, { field: "--platform", value: platform });
    }
  }
  const applied = new WeakMap<Image, Image>();
  const change = (image: Image): Image => (platforms !== undefined ? image.clone({ platform: platforms }) : image);
  const cache = new WeakMap<Image, Image>();
  return targets.map((target) => ({
    ...target,
    image: mapChain(applySettings(fast ? target.image.forFastRegistration() : target.image, settings, applied), change, cache),
  }));
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
