/**
 * Builder settings: every builder declares its settings as a strict zod schema on its factory (a light module, so
 * checking costs no heavy import), and core checks the config file's `builders.<type>` sections when the project
 * loads and each image's `builderConfig` when its builder is selected, before anything builds. A key the schema does
 * not know is a CONFIG_ERROR that names the path and suggests the setting it was probably meant to be.
 *
 * `BuilderSettings` is the typed registry behind `defineConfig({ builders })`: a builder package adds its type by
 * declaration merging, so an editor completes (and tsc checks) each builder's settings:
 *
 *   declare module "@imagespec/core" {
 *     interface BuilderSettings { docker: DockerBuilderConfig }
 *   }
 */

import * as z from "zod";
import type { ValidationIssue } from "./errors.js";
import { closestMatch } from "./suggest.js";
import { formatFieldPath, valueAt, zodIssuesToValidation } from "./validation.js";

/**
 * Settings by builder type. Empty in core; builder packages augment it (see above). Nothing needs to be registered
 * at run time: the schemas travel on the plugins' builder factories.
 */
// biome-ignore lint/suspicious/noEmptyInterface: an augmentation point, filled by declaration merging
export interface BuilderSettings {}

/** A builder's settings schema: a strict zod object (unknown keys are errors), every setting optional. */
export type BuilderSettingsSchema = z.ZodType<object>;

/** The settings of a builder that has none (noop): any key is unknown. */
export const NO_SETTINGS: BuilderSettingsSchema = z.object({}).strict();

/** True for something that can check settings the way a zod schema does. */
export function isSettingsSchema(value: unknown): value is BuilderSettingsSchema {
  return typeof value === "object" && value !== null && typeof (value as { safeParse?: unknown }).safeParse === "function" && "_zod" in value;
}

interface ZodDefinition {
  readonly type: string;
  readonly shape?: Record<string, unknown>;
  readonly innerType?: unknown;
  readonly in?: unknown;
  readonly element?: unknown;
  readonly options?: readonly unknown[];
  readonly valueType?: unknown;
  readonly left?: unknown;
  readonly right?: unknown;
}

function definitionOf(schema: unknown): ZodDefinition | undefined {
  return (schema as { _zod?: { def?: ZodDefinition } } | undefined)?._zod?.def;
}

/** The schema itself and what it wraps (optional, default, pipe, union, intersection): the shapes a value may take. */
function alternatives(schema: unknown, depth = 0): unknown[] {
  const def = definitionOf(schema);
  if (!def || depth > 20) return [];
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      return alternatives(def.innerType, depth + 1);
    case "pipe":
      return alternatives(def.in, depth + 1);
    case "union":
      return (def.options ?? []).flatMap((o) => alternatives(o, depth + 1));
    case "intersection":
      return [...alternatives(def.left, depth + 1), ...alternatives(def.right, depth + 1)];
    default:
      return [schema];
  }
}

/** The setting names an object at `path` inside a value of this schema may have (for "did you mean"). */
export function settingNamesAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let nodes = alternatives(schema);
  for (const part of path) {
    nodes = nodes.flatMap((node) => {
      const def = definitionOf(node)!;
      if (def.type === "object" && typeof part === "string") return def.shape?.[part] === undefined ? [] : alternatives(def.shape[part]);
      if (def.type === "array" && typeof part === "number") return alternatives(def.element);
      if (def.type === "record") return alternatives(def.valueType);
      return [];
    });
  }
  return [...new Set(nodes.flatMap((node) => (definitionOf(node)?.type === "object" ? Object.keys(definitionOf(node)!.shape ?? {}) : [])))];
}

/**
 * Checks one builder's settings. `at` is where they were written (`builders.docker`, `builderConfig`,
 * `builderConfig.remote`), so every issue names the full path, e.g. `builders.docker.netwrk`.
 */
export function checkBuilderSettings(
  schema: BuilderSettingsSchema,
  value: unknown,
  options: { readonly type: string; readonly at: string },
): ValidationIssue[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  const prefix = options.at.split(".");
  const issues: ValidationIssue[] = [];
  const rest: z.core.$ZodIssue[] = [];
  for (const issue of flattenUnions(result.error.issues)) {
    if (issue.code === "invalid_type" && issue.path.length > 0 && valueAt(value, issue.path) === undefined) {
      issues.push({
        field: formatFieldPath([...prefix, ...issue.path]),
        value: undefined,
        message: `is required (${issue.expected === "array" ? "a list" : `a ${issue.expected}`})`,
      });
      continue;
    }
    if (issue.code !== "unrecognized_keys") {
      rest.push(issue);
      continue;
    }
    const known = settingNamesAt(schema, issue.path);
    for (const key of issue.keys) {
      const path = [...issue.path, key];
      const suggestion = closestMatch(key, known);
      const where = issue.path.length === 0 ? `a setting of the ${options.type} builder` : "known here";
      issues.push({
        field: formatFieldPath([...prefix, ...path]),
        value: valueAt(value, path),
        message: `is not ${where}${suggestion ? `; did you mean ${suggestion}?` : known.length > 0 ? ` (its settings: ${known.join(", ")})` : ""}`,
      });
    }
  }
  for (const issue of zodIssuesToValidation(rest, value)) {
    issues.push({ ...issue, field: issue.field ? `${options.at}${issue.field.startsWith("[") ? "" : "."}${issue.field}` : options.at });
  }
  return issues;
}

/** A union's issues as those of the branch that got furthest (an object with a typo, rather than "not a string"). */
function flattenUnions(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
    const depth = (branch: readonly z.core.$ZodIssue[]) => Math.max(0, ...branch.map((i) => i.path.length + (i.code === "invalid_type" ? 0 : 0.5)));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
    return flattenUnions(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })));
  });
}
