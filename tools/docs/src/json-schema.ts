/**
 * The JSON Schema of a YAML image spec, generated from core's zod schema (`specSchema`, through zod's
 * `toJSONSchema`) and the TSDoc of `ImageSpecFields`, and shipped in @imagespec/core as `image-spec.schema.json`
 * for editors (`# yaml-language-server: $schema=...`). It describes what the YAML loader accepts:
 *
 * - every field in camelCase and in Flyte's snake_case, not both;
 * - a number wherever text is expected (the loader keeps `python_version: 3.10` as the text "3.10");
 * - `key:` with no value (null) means unset;
 * - `base_image`: a reference, or a nested mapping of spec fields (the same schema).
 *
 * It checks structure: field names, types, lists, enums, nesting. The grammars (PEP 508, Debian names, image
 * references, ...) and the rules between fields are checked when the file is loaded, with messages that say why.
 */

import path from "node:path";
import { z } from "zod";
import { specSchema } from "../../../packages/core/src/spec.js";
import { REPO_ROOT } from "./reference.js";
import { SourceSet } from "./source.js";

export const SCHEMA_FILE = path.join(REPO_ROOT, "packages", "core", "image-spec.schema.json");
const SPEC_TS = path.join(REPO_ROOT, "packages", "core", "src", "spec.ts");

type Schema = { [key: string]: unknown };

/** Fields the YAML loader leaves as written (numbers stay numbers). */
const FREE_FORM = new Set(["builderOptions", "builderConfig"]);

const toSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The schema file's text: stable key order, two-space indentation, a final newline. */
export function generateSpecJsonSchema(): string {
  const generated = z.toJSONSchema(specSchema, { io: "input", unrepresentable: "any" }) as Schema;
  const fields = generated.properties as Record<string, Schema>;
  const docs = new Map(new SourceSet([SPEC_TS]).interfaceMembers(SPEC_TS, "ImageSpecFields").map((m) => [m.name, m.doc.replace(/\s+/g, " ").trim()]));

  const properties: Record<string, Schema> = {};
  const exclusive: Schema[] = [];
  for (const [name, schema] of Object.entries(fields)) {
    const value = name === "baseImage" ? { anyOf: [{ type: "string" }, { $ref: "#" }] } : FREE_FORM.has(name) ? schema : numbersAsText(schema);
    const description = docs.get(name);
    // `key:` with no value is null in YAML, and means unset.
    const property = { ...(description && { description }), anyOf: [value, { type: "null" }] };
    properties[name] = property;
    const snake = toSnake(name);
    if (snake !== name) {
      properties[snake] = property;
      exclusive.push({ not: { required: [name, snake] } });
    }
  }
  const schema = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "imagespec image spec (YAML)",
    description:
      "An ImageSpec as a YAML file, as @imagespec/core's loadImageSpecFile and `imagespec build --image` read it. Fields in camelCase or snake_case; " +
      "relative paths are relative to the file's folder. Generated from the spec's zod schema by tools/docs.",
    type: "object",
    properties,
    additionalProperties: false,
    allOf: exclusive,
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Where the schema wants text, YAML may write a number: the loader keeps its source text. */
function numbersAsText(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(numbersAsText);
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    // Keys are always text; values may be written as numbers.
    out[key] = key === "propertyNames" ? value : key === "type" && value === "string" ? ["string", "number"] : numbersAsText(value);
  }
  return out;
}
