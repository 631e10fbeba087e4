/**
 * `imagespec.config.ts`: plugins added by import, builder priorities and settings, discovery on or off.
 * Found by walking up from the current directory; TypeScript loads without a build step (through jiti,
 * imported only when a config file exists).
 */

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import * as z from "zod";
import { errorMessage, ImageSpecError, isImageSpecError, showValue } from "./errors.js";
import { checkRegistry } from "./grammar.js";
import type { BuilderSettings } from "./builder-settings.js";
import { SPECIFICATION_VERSION, specificationMismatch } from "./layer.js";
import { type ImageSpecPlugin, isPlugin } from "./plugin.js";
import { grammarString, parseOrThrow } from "./validation.js";

/**
 * `builders` of the config file: each builder type's settings. The types builder packages declare in
 * `BuilderSettings` are checked (and completed by an editor) as that builder's settings; other types are accepted
 * as objects, and checked against the builder's own schema when a plugin offers that type.
 */
export type BuildersConfig = { readonly [Type in keyof BuilderSettings]?: BuilderSettings[Type] } & { readonly [type: string]: object | undefined };

export interface ImageSpecConfig {
  /** Plugins added by import, in addition to (or, with `discovery: false`, instead of) discovered ones. */
  readonly plugins?: readonly ImageSpecPlugin[];
  /** Discover plugins from the dependencies your package.json declares. Default true. */
  readonly discovery?: boolean;
  /** Pins builder priorities by type, e.g. `{ envd: 200 }` to prefer envd over docker. */
  readonly priorities?: Readonly<Record<string, number>>;
  /**
   * Settings per builder type, handed to the builder, e.g. `{ remote: { engines: [...] } }`. Each section is checked
   * against the settings its builder declares when the project loads: an unknown key is a CONFIG_ERROR.
   */
  readonly builders?: BuildersConfig;
  /** Builder type to use when an image names none (IMAGESPEC_BUILDER overrides it). */
  readonly builder?: string;
  /** Registry for images that name none (IMAGESPEC_REGISTRY overrides it). */
  readonly registry?: string;
  /** The Debian Python base, a template with `{python_version}` (IMAGESPEC_DEBIAN_BASE_IMAGE overrides it). */
  readonly debianBaseImage?: string;
}

const configSchema = z
  .object({
    plugins: z
      .array(
        z
          .custom<ImageSpecPlugin>(isPlugin, { message: "expected a plugin made with definePlugin() (import it and list the default export)" })
          .superRefine((plugin, ctx) => {
            if (plugin.specificationVersion !== SPECIFICATION_VERSION)
              ctx.addIssue({ code: "custom", message: specificationMismatch(plugin.specificationVersion) });
          }),
      )
      .optional(),
    discovery: z.boolean().optional(),
    priorities: z.record(z.string(), z.number().finite()).optional(),
    builders: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    builder: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .optional(),
    registry: grammarString(checkRegistry).optional(),
    debianBaseImage: z.string().includes("{python_version}", { message: "must contain {python_version}" }).optional(),
  })
  .strict();

/** Declares the configuration; validates it so a mistake names the field (CONFIG_ERROR, every problem listed). */
export function defineConfig(config: ImageSpecConfig): ImageSpecConfig {
  try {
    return Object.freeze(parseOrThrow(configSchema, config, "read the imagespec configuration", Object.keys(configSchema.shape))) as ImageSpecConfig;
  } catch (error) {
    const invalid = error as ImageSpecError;
    throw new ImageSpecError("CONFIG_ERROR", invalid.message, {
      field: invalid.field,
      value: invalid.value,
      issues: invalid.issues,
      hint: "Fix imagespec.config.ts.",
    });
  }
}

export const CONFIG_FILE_NAMES = ["imagespec.config.ts", "imagespec.config.mts", "imagespec.config.js", "imagespec.config.mjs"] as const;

/** The nearest config file from `startDir` upwards, or undefined. */
export function findConfigFile(startDir: string): string | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Loads a config file (TypeScript or JavaScript), whose default export is `defineConfig({...})`. */
export async function loadConfigFile(file: string): Promise<ImageSpecConfig> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) {
    throw new ImageSpecError("CONFIG_ERROR", `Cannot load config ${showValue(file)}: the file does not exist`, { value: file });
  }
  // defineConfig() usually runs while the file is imported, so its validation errors surface there too.
  const unusable = (error: unknown) =>
    new ImageSpecError(
      "CONFIG_ERROR",
      `Cannot use config ${showValue(file)}: ${errorMessage(error).replace(/^Cannot read the imagespec configuration: /, "")}`,
      {
        value: file,
        cause: error,
        issues: (error as ImageSpecError).issues,
        hint: "Fix the fields named above; the file's default export is defineConfig({...}).",
      },
    );
  let loaded: unknown;
  try {
    loaded = await importModule(absolute);
  } catch (error) {
    if (isImageSpecError(error) && error.code === "CONFIG_ERROR") throw unusable(error);
    throw new ImageSpecError("CONFIG_ERROR", `Cannot load config ${showValue(file)}: ${errorMessage(error)}`, {
      value: file,
      cause: error,
      ...(isImageSpecError(error) && error.hint !== undefined && { hint: error.hint }),
    });
  }
  const config = (loaded as { default?: unknown })?.default;
  if (config === undefined) {
    throw new ImageSpecError("CONFIG_ERROR", `Cannot use config ${showValue(file)}: it has no default export`, {
      value: file,
      hint: "End the file with `export default defineConfig({ ... })`.",
    });
  }
  try {
    return defineConfig(config as ImageSpecConfig);
  } catch (error) {
    throw unusable(error);
  }
}

/**
 * Imports a module by path: TypeScript through jiti, JavaScript natively. Used for config files and, by the
 * CLI, for the user's image definition modules.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    if (/\.(c|m)?tsx?$/.test(file)) {
      // jiti's CommonJS entry, required: importing its ESM entry makes Node scan the whole 190 kB CommonJS bundle
      // for its export names first (a tenth of a second at every start).
      const { createJiti } = createRequire(import.meta.url)("jiti") as typeof import("jiti");
      const jiti = createJiti(import.meta.url, { interopDefault: false, moduleCache: true });
      return (await jiti.import(file)) as Record<string, unknown>;
    }
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw missingImport(error, file) ?? error;
  }
}

/**
 * "Cannot find module 'x'" as a FILE_NOT_FOUND that says which file imports it and, for a package, how to install
 * it; undefined for any other error.
 */
function missingImport(error: unknown, file: string): ImageSpecError | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") return undefined;
  const text = String(message ?? "");
  const specifier = /Cannot find (?:module|package) '([^']+)'/.exec(text)?.[1];
  if (specifier === undefined) return undefined;
  // The first file of Node's "Require stack" (jiti) or "imported from" (ESM) is the one with the import.
  const importer = /Require stack:\n- (.+)/.exec(text)?.[1] ?? /imported from (.+)$/m.exec(text)?.[1] ?? file;
  const where = path.relative(process.cwd(), importer) || importer;
  if (specifier.startsWith(".") || path.isAbsolute(specifier) || specifier.startsWith("file:")) {
    return new ImageSpecError("FILE_NOT_FOUND", `Cannot import ${showValue(specifier)} in ${where}: no such file`, { value: specifier, cause: error });
  }
  const parts = specifier.split("/");
  const pkg = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  return new ImageSpecError("FILE_NOT_FOUND", `Cannot import ${showValue(specifier)} in ${where}: the package ${pkg} is not installed`, {
    value: specifier,
    hint: `Install it: npm install --save-dev ${pkg} (or pnpm add -D ${pkg}).`,
    cause: error,
  });
}
