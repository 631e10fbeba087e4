/**
 * Layers are plain data: `{ kind, ...fields }`, frozen. What a kind means lives in its LayerDefinition: the zod
 * schema that validates its fields, the files it reads (they enter the tag), and one renderer per builder type.
 * Core defines the built-in kinds (builtin-layers.ts); layer packages define more with `defineLayer`.
 */

import type { z } from "zod";
import type { DockerInstructions, DockerRenderContext } from "./docker-render.js";
import type { EnvdLayerContext, EnvdLayerRendering } from "./envd-render.js";
import { ImageSpecError, showValue } from "./errors.js";
import { illFormedText, invalid, withIllFormed, zodIssuesToValidation } from "./validation.js";

/** A file or folder a layer reads, relative to the image's root. */
export interface FileInput {
  /** The layer field it comes from, for messages and `explain`, e.g. `src` or `file`. */
  readonly field: string;
  /** POSIX path relative to the image root (may start with `../` for the Image API). */
  readonly path: string;
  /** `auto` accepts either and is resolved when hashing. */
  readonly type: "file" | "folder" | "auto";
  /**
   * For folders: `all` copies everything the ignore files leave in; `tracked` only what git tracks.
   * Defaults to `all`.
   */
  readonly select?: "all" | "tracked";
  /**
   * For files: the layer only reads the bytes (a requirements file, a lock it installs from) and copies nothing into
   * the image, so the file's mode does not count, only its contents.
   */
  readonly readOnly?: boolean;
  /**
   * For files: the file keeps its own name in the image (copied into a folder destination), so its name counts. A
   * source path never counts otherwise: what enters the image is the destination, the bytes and the mode.
   */
  readonly keepsName?: boolean;
  /**
   * For folders: .dockerignore-syntax patterns (relative to the folder) this layer always leaves out, on top of the
   * image's ignore rules, e.g. `node_modules`. The builder sends what was selected, so they are left out of both.
   */
  readonly exclude?: readonly string[];
}

/** The version of the plugin and layer contracts this core implements; plugins and layer kinds state the one they were written for. */
export const SPECIFICATION_VERSION = "v1";
export type SpecificationVersion = typeof SPECIFICATION_VERSION;

/**
 * A layer kind's renderers, by builder type, each with the context its builder gives it. Written as methods so that a
 * definition for specific fields is still a `LayerDefinition` (a renderer is only ever called with its own kind's
 * layers). A builder package that renders plugin kinds with a signature of its own adds its key by augmentation:
 *
 *   declare module "@imagespec/core/authoring" {
 *     interface LayerRenderers<Fields extends object> { export?(fields: Readonly<Fields>): readonly string[] | string }
 *   }
 */
export interface LayerRenderers<Fields extends object = object> {
  /** Dockerfile instructions for @imagespec/builder-docker and builder-remote (see `DockerRenderContext`). */
  docker?(layer: Readonly<{ kind: string } & Fields>, context: DockerRenderContext): DockerInstructions | Promise<DockerInstructions>;
  /** build.envd statements for @imagespec/builder-envd, or the reason envd cannot express the layer. */
  envd?(fields: Readonly<Fields>, context: EnvdLayerContext): EnvdLayerRendering | string;
}

export interface LayerDefinition<Kind extends string = string, Fields extends object = object> {
  /** The layer contract this kind is written for: `"v1"`. */
  readonly specificationVersion: SpecificationVersion;
  readonly kind: Kind;
  /** Validates the fields (everything but `kind`). Should be strict so misspelled fields are caught. */
  readonly schema: z.ZodType<Fields>;
  /** The files this layer reads; their bytes enter the tag. */
  inputs?(fields: Fields): readonly FileInput[];
  /**
   * The layer as it enters the hash. Default: the fields as they are. Use it to sort lists whose order means
   * nothing, and to drop what is not part of the image (such as where a secret's value comes from).
   */
  identity?(fields: Fields): unknown;
  /**
   * True for a code bundle: shipped separately in fast mode (`--fast`), so it is dropped from the image
   * and from the tag there.
   */
  readonly codeBundle?: boolean;
  /** Renderers by builder type (`docker`, `envd`, ...). */
  readonly renderers?: LayerRenderers<Fields>;
  /** One line for docs and `explain`. */
  readonly description?: string;
}

const DEFINITION = Symbol.for("imagespec.layer-definition");
const LAYER_DEFINITION_MARKER = Symbol.for("imagespec.layer-definition-marker");

export type Layer = Readonly<{ kind: string; [field: string]: unknown }>;

/**
 * Declares a layer kind. Pure: defining a kind registers nothing anywhere. The fields' type is the schema's output,
 * so `inputs`, `identity` and the renderers are typed from it; or name it: `defineLayer<"uvProject", UvProjectFields>`.
 */
export function defineLayer<Kind extends string, Schema extends z.ZodType<object>>(
  definition: Omit<LayerDefinition<Kind, z.output<Schema>>, "schema"> & { readonly schema: Schema },
): LayerDefinition<Kind, z.output<Schema>>;
export function defineLayer<Kind extends string, Fields extends object>(definition: LayerDefinition<Kind, Fields>): LayerDefinition<Kind, Fields>;
export function defineLayer<Kind extends string, Fields extends object>(definition: LayerDefinition<Kind, Fields>): LayerDefinition<Kind, Fields> {
  return define(definition, false);
}

/**
 * Marks core's own kinds so that a builder recognises them from any copy of core: a project can load two (tsx turns
 * the ESM build into CommonJS for a `"type": "commonjs"` script while plugins import it natively), and comparing
 * with one copy's definitions by identity would then fail.
 */
const BUILTIN_MARKER = Symbol.for("imagespec.builtin-layer-definition");

/** For builtin-layers.ts only: core's kinds are always of core's own contract version. */
export function defineBuiltinLayer<Kind extends string, Fields extends object>(
  definition: Omit<LayerDefinition<Kind, Fields>, "specificationVersion">,
): LayerDefinition<Kind, Fields> {
  return define({ ...definition, specificationVersion: SPECIFICATION_VERSION }, true);
}

/** Whether a layer's definition is one of core's own kinds, from whichever copy of core created it. */
export function hasBuiltinDefinition(layer: Layer): boolean {
  return Object.getOwnPropertyDescriptor(layerDefinition(layer), BUILTIN_MARKER)?.value === true;
}

function define<Kind extends string, Fields extends object>(definition: LayerDefinition<Kind, Fields>, builtin: boolean): LayerDefinition<Kind, Fields> {
  checkSpecificationVersion(definition, `define layer kind ${showValue(definition?.kind)}`);
  if (!/^[a-z][A-Za-z0-9]*(?:[.:/-][a-zA-Z0-9]+)*$/.test(definition.kind)) {
    throw new ImageSpecError(
      "PLUGIN_ERROR",
      `Cannot define layer kind ${showValue(definition.kind)}: a kind is camelCase letters and digits, optionally namespaced with '.', ':', '/' or '-'`,
      {
        field: "kind",
        value: definition.kind,
      },
    );
  }
  const copy = { ...definition };
  Object.defineProperty(copy, LAYER_DEFINITION_MARKER, { value: true });
  if (builtin) Object.defineProperty(copy, BUILTIN_MARKER, { value: true });
  return Object.freeze(copy);
}

/**
 * Refuses a layer definition or plugin written for another contract version (or for none: written by hand, or by a
 * core from before versions), which this core would misread.
 */
export function checkSpecificationVersion(contract: { readonly specificationVersion?: unknown } | undefined, action: string): void {
  const version = contract?.specificationVersion;
  if (version === SPECIFICATION_VERSION) return;
  throw new ImageSpecError(
    "PLUGIN_ERROR",
    version === undefined
      ? `Cannot ${action}: it states no specificationVersion; this @imagespec/core implements "${SPECIFICATION_VERSION}"`
      : `Cannot ${action}: it is written for specificationVersion ${showValue(version)}, and this @imagespec/core implements "${SPECIFICATION_VERSION}"`,
    {
      field: "specificationVersion",
      value: version,
      hint:
        version === undefined
          ? `Add specificationVersion: "${SPECIFICATION_VERSION}" to the definition, written against @imagespec/core/authoring.`
          : "Install versions of @imagespec/core and of the plugin package that implement the same contract version.",
    },
  );
}

/** Why a plugin of another contract version is not used: what it states, what this core implements, what to do. */
export function specificationMismatch(version: unknown): string {
  const stated = version === undefined ? "states no specificationVersion" : `is written for specificationVersion ${showValue(version)}`;
  return `it ${stated}, and this @imagespec/core implements "${SPECIFICATION_VERSION}"; install versions of the plugin and of @imagespec/core that implement the same contract`;
}

export function isLayerDefinition(value: unknown): value is LayerDefinition {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[LAYER_DEFINITION_MARKER] === true;
}

/**
 * Validates fields against a definition and returns the frozen layer, carrying its definition under a
 * `Symbol.for` key so builders and hashing find it without any registry.
 * `context` names the operation for the error message, e.g. `withPipPackages`.
 */
export function createLayer<Fields extends object>(definition: LayerDefinition<string, Fields>, fields: unknown, context: string): Layer {
  checkSpecificationVersion(definition, context);
  const broken = illFormedText(fields);
  const result = definition.schema.safeParse(fields);
  if (!result.success || broken.length > 0)
    throw invalid(context, withIllFormed(broken, result.success ? [] : zodIssuesToValidation(result.error.issues, fields)));
  const layer = { kind: definition.kind, ...(result.data as object) };
  Object.defineProperty(layer, DEFINITION, { value: definition });
  return deepFreeze(layer) as Layer;
}

export function layerDefinition(layer: Layer): LayerDefinition {
  const definition = (layer as Record<symbol, unknown>)[DEFINITION] as LayerDefinition | undefined;
  if (!definition) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot use layer of kind ${showValue(layer.kind)}: it was not created through a layer definition`, {
      hint: "Add layers with Image.withLayer(definition, fields).",
    });
  }
  return definition;
}

/** The layer's fields without `kind`. */
export function layerFields(layer: Layer): Record<string, unknown> {
  const { kind: _kind, ...fields } = layer;
  return fields;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
