/**
 * @imagespec/python: Python projects as imagespec layers. uv projects (pyproject.toml + uv.lock), poetry projects
 * (pyproject.toml + poetry.lock) and PEP 723 scripts, each lock checked against its pyproject.toml before any build.
 * The layer kinds render for the docker builder (and, for scripts, envd) through their own renderers: core and the
 * builders know nothing of uv or poetry.
 */

export { type PoetryProjectFields, type PoetryProjectOptions, poetryProjectLayer, withPoetryProject } from "./poetry-project.js";
export { DEFAULT_PROJECT_DST, DEFAULT_UV_IMAGE } from "./render-common.js";
export { fromUvScript, PYTHON_VERSIONS, type UvIndexSettings, type UvScriptFields, type UvScriptOptions, uvScriptLayer } from "./uv-script.js";
export { type UvProjectFields, type UvProjectOptions, uvProjectLayer, withUvProject } from "./uv-project.js";
export { readScriptMetadata, type ScriptMetadata } from "./pep723.js";
export { poetryLockRequirements, uvLockRequirements } from "./spec-requirements.js";
export { parseUvLock, type UvLock, type UvLockPackage, exportRequirements, type ExportedRequirements } from "./uv-lock.js";
export { parsePoetryLock, type PoetryLock, type PoetryLockPackage, poetryContentHashes } from "./poetry-lock.js";
export { parseSpecifierSet, parseVersion, pythonFits, type Specifier, type Version } from "./pep440.js";

import { poetryProjectLayer } from "./poetry-project.js";
import { uvProjectLayer } from "./uv-project.js";
import { uvScriptLayer } from "./uv-script.js";

/** Every layer kind of this package. */
export const pythonLayers = [uvProjectLayer, poetryProjectLayer, uvScriptLayer] as const;
