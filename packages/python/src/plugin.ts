import { definePlugin } from "@imagespec/core";
import { pythonLayers } from "./index.js";
import { poetryLockRequirements, uvLockRequirements } from "./spec-requirements.js";

/**
 * The plugin entry: this package's layer kinds, and what an ImageSpec's `requirements: uv.lock` / `poetry.lock`
 * turns into (core finds them here). It adds no builder.
 */
export default definePlugin({ name: "@imagespec/python", layers: pythonLayers, requirementsFiles: [uvLockRequirements, poetryLockRequirements] });
