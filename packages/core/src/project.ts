/**
 * Puts a project's engine together: its config file, the plugins it imports, the plugins discovered from its
 * package.json, each builder created with its settings and registered with its (possibly pinned) priority.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { checkBuilderSettings } from "./builder-settings.js";
import type { ImageSpecConfig } from "./config.js";
import { discoverPlugins, type PluginFailure } from "./discovery.js";
import { ImageBuildEngine, type EngineOptions } from "./engine.js";
import { errorMessage, ImageSpecError, isImageSpecError, showValue, type ValidationIssue } from "./errors.js";
import type { Image } from "./image.js";
import type { ImageSpecPlugin } from "./plugin.js";
import { applySettings, type ResolvedSettings, resolveSettings } from "./settings.js";
import { closestMatch } from "./suggest.js";

export interface LoadedPlugin {
  readonly plugin: ImageSpecPlugin;
  /** `config` (imported by imagespec.config.ts) or `dependency` (found in package.json). */
  readonly via: "config" | "dependency";
  readonly packageName?: string;
  readonly version?: string;
  readonly declaredIn?: string;
}

export interface RegisteredBuilderInfo {
  readonly type: string;
  readonly priority: number;
  readonly plugin: string;
  readonly packageName?: string;
  readonly version?: string;
  readonly via: "config" | "dependency";
  readonly from?: string;
  readonly description?: string;
}

export interface Project {
  readonly engine: ImageBuildEngine;
  readonly config: ImageSpecConfig;
  readonly configFile: string | undefined;
  /** The settings resolved once from the environment and the config file (registry, builder, Debian base). */
  readonly settings: ResolvedSettings;
  /**
   * The image as this project builds it: the settings' registry where it names none and its Debian base from the
   * settings' template (for it and the Images it is based on). The CLI prepares every image this way, so an image
   * prepared here has the tag the CLI gives it.
   */
  prepare(image: Image): Image;
  readonly packageJson: string | undefined;
  readonly plugins: readonly LoadedPlugin[];
  readonly builders: readonly RegisteredBuilderInfo[];
  /** Plugins (or builders of plugins) that could not be used, each naming its package: warnings, not errors. */
  readonly failures: readonly PluginFailure[];
  /** Settings in the config file that had no effect, e.g. a priority for a builder type nothing offers. */
  readonly warnings: readonly string[];
}

export interface LoadProjectOptions extends EngineOptions {
  /** Where to start looking for imagespec.config.* and package.json. Default: the current directory. */
  readonly cwd?: string;
  /** An explicit config file (skips the search); `false` uses none. */
  readonly configFile?: string | false;
  /**
   * Create each builder only when an image needs it (`engine.registerFactory`), so a build where every tag exists
   * imports no builder code. A factory that throws then shows as a warning of the build that needed it, not in
   * `failures`; `engine.select()` needs `await engine.loadBuilders()` first.
   */
  readonly deferBuilders?: boolean;
  /** Settings resolved already (`resolveSettings`), e.g. with command-line flags; default: resolved here from `env`. */
  readonly settings?: ResolvedSettings;
}

export async function loadProject(options: LoadProjectOptions = {}): Promise<Project> {
  const cwd = options.cwd ?? process.cwd();
  const settings =
    options.settings ??
    (await resolveSettings({
      cwd,
      ...(options.configFile !== undefined && { configFile: options.configFile }),
      ...(options.env !== undefined && { env: options.env }),
    }));
  const { config, configFile } = settings;
  const discovered = config.discovery === false ? { packageJson: undefined, plugins: [], failures: [] } : await discoverPlugins(cwd);

  // A plugin imported by the config file wins over the same plugin found as a dependency.
  const plugins: LoadedPlugin[] = (config.plugins ?? []).map((plugin) => ({
    plugin,
    via: "config" as const,
    ...(configFile && installedPackage(plugin.name, configFile)),
  }));
  const byName = new Set(plugins.map((p) => p.plugin.name));
  for (const found of discovered.plugins) {
    if (byName.has(found.plugin.name)) continue;
    byName.add(found.plugin.name);
    plugins.push({ plugin: found.plugin, via: "dependency", packageName: found.packageName, version: found.version, declaredIn: found.declaredIn });
  }

  const engine = new ImageBuildEngine(options);
  const failures: PluginFailure[] = [...discovered.failures];
  const builders: RegisteredBuilderInfo[] = [];
  // Each builder's section of the config file against the settings it declares, all of them before any is created.
  const configName = configFile ? path.basename(configFile) : "the config";
  const settingIssues: ValidationIssue[] = [];
  const checked = new Set<string>();
  for (const loaded of plugins) {
    for (const factory of loaded.plugin.builders) {
      if (checked.has(factory.type)) continue;
      checked.add(factory.type);
      const section = config.builders?.[factory.type];
      if (section !== undefined && factory.settings !== undefined)
        settingIssues.push(...checkBuilderSettings(factory.settings, section, { type: factory.type, at: `builders.${factory.type}` }));
    }
  }
  if (settingIssues.length > 0) {
    const lines = settingIssues.map((i) => `${i.field} = ${showValue(i.value)}: ${i.message}`);
    throw new ImageSpecError(
      "CONFIG_ERROR",
      `Cannot use config ${configName}: ${lines.length === 1 ? lines[0] : `${lines.length} invalid settings:\n  - ${lines.join("\n  - ")}`}`,
      {
        field: settingIssues[0]!.field,
        value: settingIssues[0]!.value,
        issues: settingIssues,
        hint: `Fix builders in ${configName}; \`imagespec builders\` lists the builders and the packages whose README lists their settings.`,
      },
    );
  }

  // Registration order breaks priority ties: config plugins in the order listed, then dependencies by package name.
  const offeredBy = new Map<string, string>();
  for (const loaded of plugins) {
    const source = loaded.packageName ?? loaded.plugin.name;
    for (const factory of loaded.plugin.builders) {
      const first = offeredBy.get(factory.type);
      if (first !== undefined) {
        failures.push({
          packageName: source,
          reason: `its ${factory.type} builder was not registered: ${first} already offers the builder type ${factory.type} (the first one found is kept)`,
        });
        continue;
      }
      offeredBy.set(factory.type, source);
      const settings = (config.builders?.[factory.type] ?? {}) as Readonly<Record<string, unknown>>;
      const priority = config.priorities?.[factory.type] ?? factory.priority;
      const info: RegisteredBuilderInfo = {
        type: factory.type,
        priority,
        plugin: loaded.plugin.name,
        via: loaded.via,
        ...(loaded.packageName !== undefined && { packageName: loaded.packageName }),
        ...(loaded.version !== undefined && { version: loaded.version }),
        ...(loaded.declaredIn !== undefined && { from: loaded.declaredIn }),
        ...(factory.description !== undefined && { description: factory.description }),
      };
      const registration = {
        priority,
        source: loaded.packageName ?? loaded.plugin.name,
        config: settings,
        ...(factory.settings !== undefined && { settings: factory.settings }),
      };
      if (options.deferBuilders) {
        engine.registerFactory(factory.type, () => factory.create({ config: settings }), registration);
        builders.push(info);
        continue;
      }
      try {
        const builder = await factory.create({ config: settings });
        engine.register(builder, registration);
        builders.push(info);
      } catch (error) {
        // The user's settings are wrong: an error to fix, not a plugin to skip (which would send builds elsewhere).
        if (isImageSpecError(error) && error.code === "CONFIG_ERROR") throw error;
        failures.push({ packageName: loaded.packageName ?? loaded.plugin.name, reason: `creating the ${factory.type} builder failed: ${errorMessage(error)}` });
      }
    }
  }
  builders.sort((a, b) => b.priority - a.priority);

  const warnings: string[] = [];
  const offered = [...offeredBy.keys()].sort().join(", ") || "none";
  for (const field of ["priorities", "builders"] as const) {
    for (const type of Object.keys(config[field] ?? {})) {
      if (offeredBy.has(type)) continue;
      const suggestion = closestMatch(type, offeredBy.keys());
      warnings.push(
        `${field}.${type} in ${configName} has no effect: no plugin offers a builder of type ${type} (offered: ${offered})${suggestion ? `; did you mean ${field}.${suggestion}?` : ""}`,
      );
    }
  }
  const prepared = new WeakMap<Image, Image>();
  const prepare = (image: Image) => applySettings(image, settings, prepared);
  return { engine, config, configFile, settings, prepare, packageJson: discovered.packageJson, plugins, builders, failures, warnings };
}

/**
 * The package a config-imported plugin comes from, by the plugin's name (a plugin is named after its package),
 * resolved from the config file as its import was: its name and version, or nothing when no such package is found.
 */
function installedPackage(name: string, configFile: string): { packageName: string; version: string } | undefined {
  try {
    const manifest = JSON.parse(readFileSync(createRequire(configFile).resolve(`${name}/package.json`), "utf8")) as { name?: unknown; version?: unknown };
    return manifest.name === name && typeof manifest.version === "string" ? { packageName: name, version: manifest.version } : undefined;
  } catch {
    return undefined;
  }
}
