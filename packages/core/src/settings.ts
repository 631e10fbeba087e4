/**
 * The project's settings resolved once — flags, environment, config file, defaults, in that order — into one value
 * that is passed down, never written back into `process.env`. `loadProject()` resolves them and the CLI uses the
 * same function, so both compute the same tag for the same config: `project.prepare(image)` applies the settings
 * that change what is built (the registry of images that name none, the Debian base template) to an image and the
 * Images it is based on.
 */

import { type ImageSpecConfig, findConfigFile, loadConfigFile } from "./config.js";
import { ImageSpecError } from "./errors.js";
import { checkRegistry } from "./grammar.js";
import { DEFAULT_DEBIAN_BASE_TEMPLATE, debianBaseImage, type Image } from "./image.js";

export interface ResolvedSettings {
  readonly config: ImageSpecConfig;
  readonly configFile: string | undefined;
  /** Registry for images that name none: `IMAGESPEC_REGISTRY`, then the config's `registry`. */
  readonly registry: string | undefined;
  /** Builder type for images that name none: the `builder` flag, `IMAGESPEC_BUILDER`, then the config's `builder`. */
  readonly builder: string | undefined;
  /** The Debian Python base template (`{python_version}`): `IMAGESPEC_DEBIAN_BASE_IMAGE`, the config's `debianBaseImage`, the default. */
  readonly debianBaseImage: string;
}

export interface ResolveSettingsOptions {
  /** Where to start looking for imagespec.config.*. Default: the current directory. */
  readonly cwd?: string;
  /** An explicit config file (skips the search); `false` uses none. */
  readonly configFile?: string | false;
  /** The environment the `IMAGESPEC_*` settings are read from. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** What the command line gives; wins over the environment and the config. */
  readonly flags?: { readonly builder?: string | undefined };
}

export async function resolveSettings(options: ResolveSettingsOptions = {}): Promise<ResolvedSettings> {
  const env = options.env ?? process.env;
  const configFile = options.configFile === false ? undefined : (options.configFile ?? findConfigFile(options.cwd ?? process.cwd()));
  const config: ImageSpecConfig = configFile ? await loadConfigFile(configFile) : {};

  const envRegistry = env.IMAGESPEC_REGISTRY || undefined;
  const registry = envRegistry ?? config.registry;
  if (registry !== undefined) checkRegistrySetting(registry, envRegistry !== undefined ? "IMAGESPEC_REGISTRY" : "registry in the config file");

  const flagBuilder = options.flags?.builder;
  const envBuilder = env.IMAGESPEC_BUILDER || undefined;
  const builder = flagBuilder ?? envBuilder ?? config.builder;

  const envDebian = env.IMAGESPEC_DEBIAN_BASE_IMAGE || undefined;
  const debian = envDebian ?? config.debianBaseImage ?? DEFAULT_DEBIAN_BASE_TEMPLATE;
  // Checked now, so a broken template fails before any module is loaded, naming where it was set.
  debianBaseImage("3.12", debian, envDebian !== undefined ? "IMAGESPEC_DEBIAN_BASE_IMAGE" : "debianBaseImage in the config file");

  return Object.freeze({
    config,
    configFile,
    registry,
    builder,
    debianBaseImage: debian,
  });
}

/**
 * The image as these settings build it: the settings' registry where it (or an Image it is based on) names none,
 * and a Debian base taken from the settings' template. Returns the same Image when nothing changes, and a base
 * shared by two images stays one Image when the same `cache` is passed for both.
 */
export function applySettings(image: Image, settings: Pick<ResolvedSettings, "registry" | "debianBaseImage">, cache = new WeakMap<Image, Image>()): Image {
  const cached = cache.get(image);
  if (cached) return cached;
  let current = image;
  if (image.base.type === "image") {
    const base = applySettings(image.base.image, settings, cache);
    if (base !== image.base.image) current = image.withBase(base);
  }
  if (current.base.type === "debian") {
    const uri = debianBaseImage(current.base.pythonVersion, settings.debianBaseImage, "debianBaseImage");
    if (uri !== current.base.uri) current = current.clone({ debianBaseImage: settings.debianBaseImage });
  }
  if (settings.registry !== undefined && current.registry === undefined) current = current.clone({ registry: settings.registry });
  cache.set(image, current);
  return current;
}

function checkRegistrySetting(registry: string, source: string): void {
  const problem = checkRegistry(registry);
  if (problem === undefined) return;
  throw new ImageSpecError("CONFIG_ERROR", `Cannot use ${source} = ${JSON.stringify(registry)}: ${problem}`, {
    field: source,
    value: registry,
    hint: "Give a registry host with an optional port and path, e.g. ghcr.io/acme or 127.0.0.1:5000.",
  });
}
