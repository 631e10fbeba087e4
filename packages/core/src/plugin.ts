/**
 * Plugins: a package's way to add builders and layer kinds. A plugin is inert data; nothing is registered until
 * an engine `use`s it (the CLI does so for the plugins discovery finds and the ones the config file imports).
 */

import type { ImageBuilder } from "./builder.js";
import { type BuilderSettingsSchema, isSettingsSchema } from "./builder-settings.js";
import type { PipOptions } from "./builtin-layers.js";
import { ImageSpecError, showValue } from "./errors.js";
import type { Image } from "./image.js";
import { checkSpecificationVersion, type SpecificationVersion } from "./layer.js";

/** A builder type a plugin offers. `create` runs only when the builder is needed, so heavy imports can wait. */
export interface BuilderFactory {
  readonly type: string;
  /** Default priority (higher wins); the config file can pin another. */
  readonly priority: number;
  /** One line for `imagespec builders`. */
  readonly description?: string;
  /**
   * The builder's settings as a strict zod object schema (every setting optional). Core checks the config file's
   * `builders.<type>` and each image's `builderConfig` against it before anything builds, so a misspelled setting
   * is an error instead of being ignored. Keep it in a light module: it is read without creating the builder.
   */
  readonly settings?: BuilderSettingsSchema;
  create(options: { readonly config: Readonly<Record<string, unknown>> }): ImageBuilder | Promise<ImageBuilder>;
}

/**
 * A file an ImageSpec's `requirements` may name besides a `.txt` file, e.g. `uv.lock`: the plugin turns it into its
 * own layers. Core finds the plugin that handles a file name without a registry (see `requirements-files.ts`).
 */
export interface RequirementsFileHandler {
  /** The file's exact name, e.g. `uv.lock` or `poetry.lock`. */
  readonly fileName: string;
  /** One line for docs and errors, e.g. "a uv project's lock, installed with uv sync --locked". */
  readonly description?: string;
  /**
   * Adds the layers that install the file. `file` is relative to `image.root`; `pip` holds the spec's pip options
   * (index URLs, extra arguments, secret mounts) and `builderConfig` the spec's builder settings, for the handler
   * to apply or refuse with a clear error; never to ignore.
   */
  apply(image: Image, options: { readonly file: string; readonly pip: PipOptions; readonly builderConfig: Readonly<Record<string, unknown>> }): Image;
}

/**
 * What a plugin module default-exports. Layer kinds are not listed here: a layer carries its own definition, so a
 * package's kinds work as soon as its `with*` functions (or `withLayer`) are called, with no registration.
 */
export interface ImageSpecPlugin {
  /** The plugin contract this plugin is written for: `"v1"`. Discovery refuses another. */
  readonly specificationVersion: SpecificationVersion;
  readonly name: string;
  readonly builders: readonly BuilderFactory[];
  readonly requirementsFiles: readonly RequirementsFileHandler[];
}

const PLUGIN_MARKER = Symbol.for("imagespec.plugin");

export function definePlugin(plugin: {
  specificationVersion: SpecificationVersion;
  name: string;
  builders?: readonly BuilderFactory[];
  requirementsFiles?: readonly RequirementsFileHandler[];
}): ImageSpecPlugin {
  const fail = (why: string, field: string, value: unknown) =>
    new ImageSpecError("PLUGIN_ERROR", `Cannot define plugin ${showValue(plugin?.name)}: ${why}`, { field, value });
  if (typeof plugin?.name !== "string" || plugin.name.length === 0) throw fail("a plugin needs a name (usually its package name)", "name", plugin?.name);
  checkSpecificationVersion(plugin, `define plugin ${showValue(plugin.name)}`);
  if ("layers" in plugin) {
    throw fail("plugins do not list layer kinds: a layer carries its definition, so withLayer(definition, fields) is all a kind needs", "layers", undefined);
  }
  const builders = plugin.builders ?? [];
  const types = new Set<string>();
  builders.forEach((factory, i) => {
    if (typeof factory?.type !== "string" || !/^[a-z][a-z0-9-]*$/.test(factory.type))
      throw fail("a builder type is lowercase letters, digits and '-'", `builders[${i}].type`, factory?.type);
    if (typeof factory.create !== "function") throw fail(`builder ${factory.type} has no create() function`, `builders[${i}].create`, undefined);
    if (typeof factory.priority !== "number" || !Number.isFinite(factory.priority))
      throw fail(`builder ${factory.type} needs a numeric priority`, `builders[${i}].priority`, factory.priority);
    if (factory.settings !== undefined && !isSettingsSchema(factory.settings)) {
      throw fail(`builder ${factory.type} declares settings that are not a zod schema`, `builders[${i}].settings`, undefined);
    }
    if (types.has(factory.type)) throw fail(`builder type ${factory.type} is listed twice`, `builders[${i}].type`, factory.type);
    types.add(factory.type);
  });
  const requirementsFiles = plugin.requirementsFiles ?? [];
  requirementsFiles.forEach((handler, i) => {
    if (typeof handler?.fileName !== "string" || !/^[\w.-]+$/.test(handler.fileName))
      throw fail("a requirements file handler names a file (e.g. uv.lock)", `requirementsFiles[${i}].fileName`, handler?.fileName);
    if (typeof handler.apply !== "function")
      throw fail(`the handler of ${handler.fileName} has no apply() function`, `requirementsFiles[${i}].apply`, undefined);
  });
  const result = {
    specificationVersion: plugin.specificationVersion,
    name: plugin.name,
    builders: Object.freeze([...builders]),
    requirementsFiles: Object.freeze([...requirementsFiles]),
  };
  Object.defineProperty(result, PLUGIN_MARKER, { value: true });
  return Object.freeze(result);
}

export function isPlugin(value: unknown): value is ImageSpecPlugin {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PLUGIN_MARKER] === true;
}
