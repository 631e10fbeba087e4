/**
 * Plugins: a package's way to add builders and layer kinds. A plugin is inert data; nothing is registered until
 * an engine `use`s it (the CLI does so for the plugins discovery finds and the ones the config file imports).
 */

import type { ImageBuilder } from "./builder.js";
import { ImageSpecError, showValue } from "./errors.js";
import { isLayerDefinition, type LayerDefinition } from "./layer.js";

/** A builder type a plugin offers. `create` runs only when the builder is needed, so heavy imports can wait. */
export interface BuilderFactory {
  readonly type: string;
  /** Default priority (higher wins); the config file can pin another. */
  readonly priority: number;
  /** One line for `imagespec builders`. */
  readonly description?: string;
  create(options: { readonly config: Readonly<Record<string, unknown>> }): ImageBuilder | Promise<ImageBuilder>;
}

export interface ImageSpecPlugin {
  readonly name: string;
  readonly builders: readonly BuilderFactory[];
  readonly layers: readonly LayerDefinition[];
}

const PLUGIN_MARKER = Symbol.for("imagespec.plugin");

export function definePlugin(plugin: { name: string; builders?: readonly BuilderFactory[]; layers?: readonly LayerDefinition[] }): ImageSpecPlugin {
  const fail = (why: string, field: string, value: unknown) =>
    new ImageSpecError("PLUGIN_ERROR", `Cannot define plugin ${showValue(plugin?.name)}: ${why}`, { field, value });
  if (typeof plugin?.name !== "string" || plugin.name.length === 0) throw fail("a plugin needs a name (usually its package name)", "name", plugin?.name);
  const builders = plugin.builders ?? [];
  const types = new Set<string>();
  builders.forEach((factory, i) => {
    if (typeof factory?.type !== "string" || !/^[a-z][a-z0-9-]*$/.test(factory.type)) throw fail("a builder type is lowercase letters, digits and '-'", `builders[${i}].type`, factory?.type);
    if (typeof factory.create !== "function") throw fail(`builder ${factory.type} has no create() function`, `builders[${i}].create`, undefined);
    if (typeof factory.priority !== "number" || !Number.isFinite(factory.priority)) throw fail(`builder ${factory.type} needs a numeric priority`, `builders[${i}].priority`, factory.priority);
    if (types.has(factory.type)) throw fail(`builder type ${factory.type} is listed twice`, `builders[${i}].type`, factory.type);
    types.add(factory.type);
  });
  const layers = plugin.layers ?? [];
  layers.forEach((layer, i) => {
    if (!isLayerDefinition(layer)) throw fail("layers must be created with defineLayer()", `layers[${i}]`, layer);
  });
  const result = { name: plugin.name, builders: Object.freeze([...builders]), layers: Object.freeze([...layers]) };
  Object.defineProperty(result, PLUGIN_MARKER, { value: true });
  return Object.freeze(result);
}

export function isPlugin(value: unknown): value is ImageSpecPlugin {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PLUGIN_MARKER] === true;
}
