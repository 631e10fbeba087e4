/**
 * `requirements: uv.lock` and `requirements: poetry.lock` in an ImageSpec (flytekit accepts both). Core installs
 * `.txt` files itself; a lock file becomes the layers of the layer package that understands it: the plugin that
 * declares a `requirementsFiles` handler for that file name (`@imagespec/python` for both locks).
 *
 * A spec compiles synchronously and owes nothing to global state, so the plugin is found the way discovery would
 * find it, without a registry: the package is resolved from the spec's root with Node's own resolution (so from the
 * project the definition is in), its `imagespec.plugin` module loaded, and its handler asked. Not installed, it is a
 * PLUGIN_ERROR saying which package to add; core never depends on the layer package.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { errorMessage, ImageSpecError, showValue } from "./errors.js";
import { SPECIFICATION_VERSION, specificationMismatch } from "./layer.js";
import { isPlugin, type RequirementsFileHandler } from "./plugin.js";

/** Lock files a spec's `requirements` may name, and the layer package whose plugin installs each. */
export const REQUIREMENTS_FILE_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  "uv.lock": "@imagespec/python",
  "poetry.lock": "@imagespec/python",
});

/** True for a `requirements` value that names a lock file rather than a `.txt` file. */
export function isLockFile(file: string): boolean {
  return Object.hasOwn(REQUIREMENTS_FILE_PACKAGES, path.posix.basename(file.replaceAll("\\", "/")));
}

const cache = new Map<string, RequirementsFileHandler>();

/** The handler for a lock file's name, from the package that provides it, resolved from `root` (the spec's root). */
export function requirementsFileHandler(fileName: string, root: string): RequirementsFileHandler {
  const packageName = REQUIREMENTS_FILE_PACKAGES[fileName];
  if (packageName === undefined) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot install requirements from ${showValue(fileName)}: it is neither a .txt file nor a known lock file`, {
      field: "requirements",
      value: fileName,
      hint: `Name a requirements .txt file, or one of ${Object.keys(REQUIREMENTS_FILE_PACKAGES).join(", ")}.`,
    });
  }
  const from = path.resolve(root);
  const key = `${from}\0${fileName}`;
  const known = cache.get(key);
  if (known) return known;
  const manifest = resolvePackageJson(packageName, from);
  if (manifest === undefined) {
    throw new ImageSpecError(
      "PLUGIN_ERROR",
      `Cannot install requirements from ${fileName}: ${packageName}, which turns it into layers, is not installed in the project at ${from}`,
      {
        field: "requirements",
        value: fileName,
        hint: `Add it to your project: npm install ${packageName} (or pnpm add ${packageName}).`,
      },
    );
  }
  const handler = loadHandler(packageName, manifest, fileName);
  cache.set(key, handler);
  return handler;
}

function resolvePackageJson(packageName: string, from: string): string | undefined {
  try {
    return createRequire(path.join(from, "package.json")).resolve(`${packageName}/package.json`);
  } catch {
    return undefined;
  }
}

function loadHandler(packageName: string, manifest: string, fileName: string): RequirementsFileHandler {
  const fail = (why: string, cause?: unknown) =>
    new ImageSpecError("PLUGIN_ERROR", `Cannot install requirements from ${fileName} with ${packageName} (${path.dirname(manifest)}): ${why}`, {
      field: "requirements",
      value: fileName,
      hint: `Install a version of ${packageName} that handles ${fileName}.`,
      ...(cause !== undefined && { cause }),
    });
  let entry: unknown;
  try {
    entry = (JSON.parse(readFileSync(manifest, "utf8")) as { imagespec?: { plugin?: unknown } }).imagespec?.plugin;
  } catch (error) {
    throw fail(`its package.json cannot be read (${errorMessage(error)})`, error);
  }
  if (typeof entry !== "string") throw fail('its package.json declares no "imagespec": { "plugin": ... } module');
  let loaded: unknown;
  try {
    // require() of an ES module (Node 20.19+): the spec compiles synchronously, and the plugin module has no top-level await.
    loaded = createRequire(manifest)(path.resolve(path.dirname(manifest), entry));
  } catch (error) {
    throw fail(`its plugin module failed to load: ${errorMessage(error)}`, error);
  }
  const plugin = (loaded as { default?: unknown })?.default ?? loaded;
  if (!isPlugin(plugin)) throw fail("its plugin module does not default-export definePlugin({...})");
  if (plugin.specificationVersion !== SPECIFICATION_VERSION) throw fail(specificationMismatch(plugin.specificationVersion));
  const handler = (plugin.requirementsFiles ?? []).find((h) => h.fileName === fileName);
  if (!handler) throw fail(`its plugin has no handler for ${fileName}`);
  return handler;
}
