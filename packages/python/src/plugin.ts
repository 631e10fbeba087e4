import { definePlugin } from "@imagespec/core/authoring";
import { poetryLockRequirements, uvLockRequirements } from "./spec-requirements.js";

/**
 * The plugin entry: what an ImageSpec's `requirements: uv.lock` / `poetry.lock` turns into (core finds them here).
 * It adds no builder, and lists no layer kinds: each layer carries its definition.
 */
export default definePlugin({ specificationVersion: "v1", name: "@imagespec/python", requirementsFiles: [uvLockRequirements, poetryLockRequirements] });
