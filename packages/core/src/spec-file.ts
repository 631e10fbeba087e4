/**
 * ImageSpec from a YAML file, through the same schema as `new ImageSpec`. Fields may be camelCase or the
 * snake_case Flyte users write. Numbers where a string is expected keep the text as written, so
 * `python_version: 3.10` is "3.10", not 3.1. Relative paths are relative to the YAML file's folder.
 */

import { readFile } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import type { Node } from "yaml";
import { ImageSpecError, isImageSpecError, showValue, type ValidationIssue } from "./errors.js";
import { definitionFileName } from "./image.js";
import { ImageSpec, type ImageSpecFields, SPEC_FIELDS } from "./spec.js";
import { closestMatch } from "./suggest.js";
import { invalid } from "./validation.js";

type YamlModule = typeof import("yaml");
let yamlModule: YamlModule | undefined;
/** The YAML parser, loaded on first use, so that importing core (starting the CLI) does not pay for it. */
function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)("yaml") as YamlModule;
  return yamlModule;
}

/** Free-form mappings whose numbers stay numbers. */
const FREE_FORM = new Set(["builderOptions", "builderConfig"]);

const toSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const FIELD_BY_KEY = new Map<string, string>(SPEC_FIELDS.flatMap((f) => [[f, f] as const, [toSnake(f), f] as const]));

export async function loadImageSpecFile(file: string): Promise<ImageSpec> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (error) {
    throw new ImageSpecError(
      "FILE_NOT_FOUND",
      `Cannot load image spec ${showValue(file)}: the file cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      {
        value: file,
        cause: error,
      },
    );
  }
  return parseImageSpecYaml(text, { root: path.dirname(absolute), source: file });
}

/** Parses YAML text into an ImageSpec; `root` is the folder relative paths are relative to. */
export function parseImageSpecYaml(text: string, options: { root: string; source?: string }): ImageSpec {
  const source = options.source ?? "YAML";
  const doc = yaml().parseDocument(text, { keepSourceTokens: true, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The parser's message ends with "at line 3, column 1:" and the lines it points at: keep all of it, led by
    // file:line:column as compilers write it.
    const where = (e: (typeof doc.errors)[number]) => `${source}:${e.linePos?.[0]?.line ?? "?"}:${e.linePos?.[0]?.col ?? "?"}`;
    const describe = (e: (typeof doc.errors)[number]) => {
      const [first = "", ...frame] = e.message.split("\n");
      return { text: first.replace(/ at line \d+, column \d+:?$/, ""), frame: frame.join("\n").replace(/^\n+|\n+$/g, "") };
    };
    const first = describe(doc.errors[0]!);
    const more = doc.errors.length > 1 ? `\n(and ${doc.errors.length - 1} more YAML error${doc.errors.length > 2 ? "s" : ""})` : "";
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot load image spec ${where(doc.errors[0]!)}: ${first.text}${first.frame ? `\n\n${first.frame}` : ""}${more}`,
      {
        value: source,
        hint: "Fix the YAML syntax at that line; strings with ':', '#', '[' or '{' in them need quotes.",
        issues: doc.errors.map((e) => ({ field: where(e), value: undefined, message: describe(e).text })),
      },
    );
  }
  if (!yaml().isMap(doc.contents)) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot load image spec ${source}: the top level must be a mapping of spec fields (name, python_version, packages, ...)`,
      { value: source },
    );
  }
  return mappingToSpec(doc.contents, options.root, source, "");
}

function mappingToSpec(map: Node, root: string, source: string, prefix: string): ImageSpec {
  if (!yaml().isMap(map)) throw invalid(`load image spec ${source}`, [{ field: prefix || "(top level)", value: undefined, message: "expected a mapping" }]);
  const fields: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  const seenAs = new Map<string, string>();
  for (const pair of map.items) {
    const key = yaml().isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const field = FIELD_BY_KEY.get(key);
    if (!field) {
      const suggestion = closest(key);
      issues.push({
        field: prefix + key,
        value: pair.value ? toJS(pair.value as Node, false) : null,
        message: `is not a spec field${suggestion ? `; did you mean ${suggestion}?` : ""}`,
      });
      continue;
    }
    const earlier = seenAs.get(field);
    if (earlier !== undefined) {
      issues.push({ field: prefix + key, value: undefined, message: `is the same field as ${earlier}; write it once` });
      continue;
    }
    seenAs.set(field, key);
    const node = pair.value as Node | null;
    // `key:` with no value (or `~`, `null`) means unset, as in docker-compose.
    if (node === null || (yaml().isScalar(node) && node.value === null)) continue;
    if (field === "baseImage" && yaml().isMap(node)) {
      fields.baseImage = mappingToSpec(node, root, source, `${prefix}${key}.`);
      continue;
    }
    if (field === "baseImage" && yaml().isScalar(node) && typeof node.value === "string" && definitionFileName(node.value) !== undefined) {
      issues.push({
        field: prefix + key,
        value: node.value,
        message: `names a ${definitionFileName(node.value)} file, not an image; nest the base spec's fields as a mapping under ${key} (or give the image a tag, e.g. ${node.value}:latest)`,
      });
      continue;
    }
    fields[field] = toJS(node, !FREE_FORM.has(field));
  }
  // Relative paths in the file are relative to the file's folder.
  fields.root = typeof fields.root === "string" ? path.resolve(root, fields.root) : root;
  // Validate here, so every problem — unknown keys and bad values — is reported at once, named as the file names it.
  let spec: ImageSpec | undefined;
  try {
    spec = new ImageSpec(fields as ImageSpecFields);
  } catch (error) {
    if (!isImageSpecError(error) || error.code !== "INVALID_SPEC") throw error;
    issues.push(...error.issues.map((i) => ({ ...i, field: prefix + asWritten(i.field, seenAs) })));
  }
  if (issues.length > 0 || spec === undefined) throw invalid(`load image spec ${source}`, issues);
  return spec;
}

/** Node to plain JS; with `numbersAsText`, numeric scalars keep their source text (3.10 stays "3.10"). */
function toJS(node: Node, numbersAsText: boolean): unknown {
  if (yaml().isScalar(node)) {
    if (numbersAsText && typeof node.value === "number") return node.srcToken && "source" in node.srcToken ? node.srcToken.source : String(node.value);
    return node.value;
  }
  if (yaml().isSeq(node)) return node.items.map((item) => toJS(item as Node, numbersAsText));
  if (yaml().isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items)
      out[yaml().isScalar(pair.key) ? String(pair.key.value) : String(pair.key)] = pair.value == null ? null : toJS(pair.value as Node, numbersAsText);
    return out;
  }
  return (node as { toJSON?: () => unknown }).toJSON?.();
}

/** A field path as the user wrote its first key: `aptPackages[1]` is `apt_packages[1]` in a snake_case file. */
function asWritten(field: string, seenAs: ReadonlyMap<string, string>): string {
  const match = /^([A-Za-z]+)(.*)$/.exec(field);
  if (!match) return field;
  const written = seenAs.get(match[1]!);
  return written === undefined ? field : `${written}${match[2]}`;
}

function closest(key: string): string | undefined {
  // Suggest in the style the user wrote: snake_case for snake_case keys.
  const candidates = [...FIELD_BY_KEY.keys()].filter((k) => (key.includes("_") ? !/[A-Z]/.test(k) : !k.includes("_")));
  return closestMatch(key, candidates);
}
