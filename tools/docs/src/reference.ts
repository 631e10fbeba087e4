/**
 * Writes docs/reference.md from the code itself, so it cannot drift:
 *
 * - the ImageSpec fields from core's schema (`SPEC_FIELDS`, the zod schema's grammar checks), their types and TSDoc
 *   from `ImageSpecFields`, their YAML keys by loading each one through the YAML loader, and what each compiles
 *   into by compiling a spec with it and comparing the Image with one without it;
 * - the layer order an ImageSpec compiles to, by compiling a spec with every field set;
 * - the methods and options of `Image` and `ImageSpec` from their TSDoc (every public method must have some);
 * - the built-in layer kinds from their definitions (description, zod schema as JSON Schema);
 * - `imagespec.config.ts` from `ImageSpecConfig`; the CLI's commands and options from its command table; the error
 *   codes from `ErrorCode`, with the exit code the CLI gives each.
 *
 * Anything new that the generator cannot place (a spec field without a sample below, a method without TSDoc, an
 * unknown grammar check) is an error that says what to add.
 */

import path from "node:path";
import { fileURLToPath } from "node:url";
import * as core from "@imagespec/core/authoring";
import { type Image, ImageSpec, type ImageSpecFields, parseImageSpecYaml, SPEC_FIELDS } from "@imagespec/core";
import type { LayerDefinition } from "@imagespec/core/authoring";
import ts from "typescript";
import { z } from "zod";
import { COMMAND_LIST, type OptionSpec } from "../../../packages/cli/src/commands.js";
import { EXIT, exitCodeFor } from "../../../packages/cli/src/exit.js";
import { identifiersIn, type Member, SourceSet } from "./source.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const REFERENCE_FILE = path.join(REPO_ROOT, "docs", "reference.md");

const src = (pkg: string, file: string) => path.join(REPO_ROOT, "packages", pkg, "src", file);
const SPEC_TS = src("core", "spec.ts");
const IMAGE_TS = src("core", "image.ts");
const CONFIG_TS = src("core", "config.ts");
const ERRORS_TS = src("core", "errors.ts");
const rel = (file: string) => path.relative(REPO_ROOT, file).split(path.sep).join("/");

/**
 * A value for every spec field, used to find what the field compiles into. Fields that only make sense with
 * others carry them along (pip options need packages or requirements). A new spec field needs a line here.
 */
const SAMPLES: Readonly<Record<string, ImageSpecFields>> = {
  name: { name: "app" },
  registry: { registry: "ghcr.io/acme" },
  tagFormat: { tagFormat: "{spec_hash}-dev" },
  pythonVersion: { pythonVersion: "3.11" },
  pythonExec: { pythonExec: "/usr/bin/python3" },
  packages: { packages: ["numpy"] },
  requirements: { requirements: "requirements.txt" },
  condaPackages: { condaPackages: ["numpy"] },
  condaChannels: { condaPackages: ["numpy"], condaChannels: ["conda-forge"] },
  aptPackages: { aptPackages: ["git"] },
  baseImage: { baseImage: "python:3.11-slim" },
  builder: { builder: "docker" },
  sourceRoot: { sourceRoot: "src" },
  sourceCopyMode: { sourceRoot: "src", sourceCopyMode: "tracked" },
  copy: { copy: ["data"] },
  env: { env: { MODE: "prod", PIP_INDEX_URL: "https://pypi.example.com/simple" } },
  commands: { commands: ["true"] },
  entrypoint: { entrypoint: ["python"] },
  cuda: { cuda: "12.4.1" },
  cudnn: { cuda: "12.4.1", cudnn: "9" },
  platform: { platform: "linux/arm64" },
  pipIndex: { packages: ["numpy"], requirements: "requirements.txt", pipIndex: "https://pypi.example.com/simple" },
  pipExtraIndexUrl: { packages: ["numpy"], requirements: "requirements.txt", pipExtraIndexUrl: ["https://pypi.example.com/simple"] },
  pipSecretMounts: { packages: ["numpy"], requirements: "requirements.txt", pipSecretMounts: ["PIP_TOKEN"] },
  pipExtraArgs: { packages: ["numpy"], requirements: "requirements.txt", pipExtraArgs: "--no-deps" },
  runtimePackages: { runtimePackages: ["numpy"] },
  builderOptions: { builderOptions: { target: "prod" } },
  builderConfig: { builderConfig: { network: "host" } },
  registryConfig: { registryConfig: "docker-config.json" },
  forcePush: { forcePush: true },
  root: { root: "/srv/project" },
};

/** What each grammar check in the spec schema accepts, in a few words. A new check needs a line here. */
const CHECKS: Readonly<Record<string, string>> = {
  checkImageName: "an image name (lowercase path components)",
  checkRegistry:
    "`host[:port][/namespace]`, lowercase, no scheme; a single label without `.` or `:` (not `localhost`) is a Docker Hub namespace, as Docker reads it (a warning says so)",
  checkTagFormat: "contains `{spec_hash}` and nothing else in braces, and makes a valid tag",
  checkPythonVersion: "`3.<minor>[.<patch>]`",
  checkPep508: "PEP 508 requirements",
  checkPipRequirement: "PEP 508 requirements, or a bare VCS or archive URL pip installs (`git+https://host/org/repo@rev`)",
  checkCondaPackage: "conda match specs",
  checkCondaChannel: "a channel name or an http(s) URL",
  checkAptPackage: "Debian package names (with optional `:arch`, `=version`, `/release`)",
  checkContainedRelativePath:
    "relative paths inside the root, separated by `/` (no `..`, no backslash, not absolute; a symbolic link leading out of the root is refused)",
  checkEnvValue: "any text without NUL, at most 61,439 bytes as written in a Dockerfile",
  checkCommand: "non-empty, no NUL, at most 61,439 bytes as written in a Dockerfile",
  checkCudaVersion: "`<major>.<minor>[.<patch>]`",
  checkCudnnVersion: "a major or dotted version",
  checkPlatform: "`os/arch[/variant]`",
  checkIndexUrl: "an absolute http, https or file URL",
  checkShellArgument: "no NUL or newlines",
  checkPythonExec: "an interpreter path, no NUL or newlines, at most 4096 characters",
  checkMountTarget: "a path in printable ASCII without `$`, quotes or backslashes (it is written into a `RUN --mount` flag)",
};

export async function generateReference(): Promise<string> {
  const sources = new SourceSet([SPEC_TS, IMAGE_TS, CONFIG_TS, ERRORS_TS]);
  const out: string[] = [];
  const missing: string[] = [];
  const requireDoc = (what: string, m: { doc: string }) => {
    if (!m.doc) missing.push(what);
  };

  out.push(
    "# Reference",
    "",
    "<!-- Generated by tools/docs from the code: `pnpm --filter @imagespec/docs gen`. Do not edit by hand; change the TSDoc",
    "     or the schemas in packages/core/src (or the CLI's command table) and regenerate. A test fails when this file is stale. -->",
    "",
    "Every ImageSpec field and every `Image` method, as the code defines them. The same image can be written with the",
    "fluent `Image` API, an `ImageSpec`, or a YAML file: see [the two APIs](apis.md).",
    "",
    "- [ImageSpec fields](#imagespec-fields)",
    "- [How an ImageSpec compiles into layers](#how-an-imagespec-compiles-into-layers)",
    "- [ImageSpec methods](#imagespec-methods)",
    "- [Image](#image): [constructors](#constructors), [options](#image-options), [with* methods](#with-methods), [other methods](#other-methods), [properties](#properties)",
    "- [Layer kinds](#layer-kinds)",
    "- [imagespec.config.ts](#imagespecconfigts)",
    "- [The imagespec command](#the-imagespec-command)",
    "- [Error codes](#error-codes)",
    "",
  );

  // ------------------------------------------------------------------------------------------------ spec fields
  const fields = sources.interfaceMembers(SPEC_TS, "ImageSpecFields");
  const byName = new Map(fields.map((f) => [f.name, f]));
  const schemaChecks = specSchemaChecks();
  for (const name of SPEC_FIELDS) {
    if (!byName.has(name)) missing.push(`ImageSpecFields.${name} (in the schema, not in the interface)`);
    if (!SAMPLES[name]) missing.push(`a sample value for the spec field ${name} in tools/docs/src/reference.ts (SAMPLES)`);
  }
  for (const f of fields) {
    if (!SPEC_FIELDS.includes(f.name)) missing.push(`${f.name} in the spec schema (it is in ImageSpecFields only)`);
    requireDoc(`TSDoc for ImageSpecFields.${f.name} (${rel(SPEC_TS)})`, f);
  }
  const imageProperties = sources.classMembers(IMAGE_TS, "Image").filter((m) => m.kind === "property" && !m.isStatic);
  const compiled = SPEC_FIELDS.filter((f) => SAMPLES[f]).map((f) => ({ field: f, effect: compileEffect(f, imageProperties) }));
  const effects = new Map(compiled.map((c) => [c.field, c.effect]));

  out.push(
    "## ImageSpec fields",
    "",
    `\`new ImageSpec({...})\`, \`ImageSpec\`'s \`with*\` helpers and YAML files take these fields (\`ImageSpecFields\` in`,
    `[${rel(SPEC_TS)}](../${rel(SPEC_TS)}); \`SPEC_FIELDS\` lists the names). All are optional. Unknown fields are errors`,
    "(with a suggestion), and validation reports every problem at once. YAML files accept the camelCase name or the",
    "snake_case one; `null` there means unset.",
    "",
    "| Field | YAML | Type | Description | Compiles into |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const name of SPEC_FIELDS) {
    const f = byName.get(name);
    if (!f) continue;
    const snake = yamlKey(name);
    const checks = schemaChecks.get(name) ?? [];
    const checked = checks.length > 0 ? ` Checked: ${checks.map((c) => CHECKS[c]).join("; ")}.` : "";
    out.push(`| \`${name}\` | \`${snake}\` | ${code(f.signature)} | ${cell(f.doc + checked)} | ${cell(effects.get(name) ?? "")} |`);
  }
  for (const [name, checks] of schemaChecks)
    for (const c of checks) if (!CHECKS[c]) missing.push(`a description of ${c} (used by ${name}) in tools/docs/src/reference.ts (CHECKS)`);
  out.push("", ...specRules(), "");

  // ------------------------------------------------------------------------------------------------ compile order
  out.push(
    "## How an ImageSpec compiles into layers",
    "",
    "`spec.toImage()` turns the flat fields into the same layered `Image` the fluent API builds, always in this order",
    "(system packages before Python packages before your files, so that a change to your code leaves the expensive",
    "layers cached). Fields that are not set add no layer; every other field is an option of the Image itself.",
    "",
    "| # | Layer kind | From the fields |",
    "| --- | --- | --- |",
  );
  const all = new ImageSpec(
    Object.assign({}, ...SPEC_FIELDS.filter((f) => f !== "baseImage" && f !== "root").map((f) => SAMPLES[f])) as ImageSpecFields,
  ).toImage();
  const fieldsByKind = new Map<string, string[]>();
  for (const c of compiled) {
    for (const kind of c.effect.match(/layer `([^`]+)`/g) ?? []) {
      const k = kind.slice(7, -1);
      fieldsByKind.set(k, [...(fieldsByKind.get(k) ?? []), c.field]);
    }
  }
  all.layers.forEach((layer, i) => {
    out.push(`| ${i + 1} | \`${layer.kind}\` | ${(fieldsByKind.get(layer.kind) ?? []).map((f) => `\`${f}\``).join(", ")} |`);
  });
  out.push(
    "",
    "`env` makes two layers: the variables package installers read (`PIP_*`, `UV_*`, `POETRY_*`, `CONDA_*`, proxies, CA",
    "bundles) before the installs, so they apply to them as in flytekit, and the rest after your files. `requirements`",
    "naming a `uv.lock` or `poetry.lock` adds `@imagespec/python`'s `uvProject` / `poetryProject` layer instead of",
    "`requirements`.",
    "",
    "`copy` adds one `copy` layer per entry, each to `/root/<path>`. `forcePush` is not a layer: it marks the Image",
    "(`image.forcePush()`). See [the two APIs](apis.md) for the same image written both ways.",
    "",
  );

  // ------------------------------------------------------------------------------------------------ spec methods
  const specMembers = sources.classMembers(SPEC_TS, "ImageSpec");
  out.push(
    "## ImageSpec methods",
    "",
    "An `ImageSpec` is immutable: every `with*` helper returns a new, validated spec. Identity is the compiled Image's.",
    "",
    "| Member | Description |",
    "| --- | --- |",
  );
  for (const m of specMembers) {
    requireDoc(`TSDoc for ImageSpec.${m.name} (${rel(SPEC_TS)})`, m);
    out.push(`| ${memberCode("ImageSpec", "spec", m)} | ${cell(m.doc)} |`);
  }
  const isImageSpecDoc = sources.declarationDoc(SPEC_TS, "isImageSpec");
  requireDoc(`TSDoc for isImageSpec (${rel(SPEC_TS)})`, { doc: isImageSpecDoc });
  out.push(`| \`isImageSpec(value)\` | ${cell(isImageSpecDoc)} |`, "");

  // ------------------------------------------------------------------------------------------------ Image
  const imageMembers = sources.classMembers(IMAGE_TS, "Image");
  const layerKindsByExport = layerExports();
  const methodRow = (m: Member) => {
    requireDoc(`TSDoc for Image.${m.name} (${rel(IMAGE_TS)})`, m);
    const kinds = [...new Set(identifiersIn(m.node).flatMap((id) => layerKindsByExport.get(id) ?? []))];
    const adds = kinds.length > 0 ? ` Layer: \`${kinds.join("`, `")}\`.` : "";
    return `| ${memberCode("Image", "image", m)} | ${cell(m.doc + adds)} |`;
  };
  out.push(
    "## Image",
    "",
    `The fluent API ([${rel(IMAGE_TS)}](../${rel(IMAGE_TS)})). An \`Image\` is a base plus an ordered list of frozen`,
    "layers; every `with*` method returns a new Image with one more layer (or another setting), and nothing mutates.",
    "",
    "### Constructors",
    "",
    "| Constructor | Description |",
    "| --- | --- |",
    ...imageMembers.filter((m) => m.isStatic && m.kind === "method").map(methodRow),
    "",
    "### Image options",
    "",
    "Every constructor takes these options (`ImageOptions`).",
    "",
    "| Option | Type | Description |",
    "| --- | --- | --- |",
  );
  for (const o of sources.interfaceMembers(IMAGE_TS, "ImageOptions")) {
    requireDoc(`TSDoc for ImageOptions.${o.name} (${rel(IMAGE_TS)})`, o);
    out.push(`| \`${o.name}\` | ${code(o.signature)} | ${cell(o.doc)} |`);
  }
  const instanceMethods = imageMembers.filter((m) => !m.isStatic && m.kind !== "property");
  const isLayerMethod = (m: Member) => m.name.startsWith("with");
  out.push(
    "",
    "### with* methods",
    "",
    "Each returns a new Image. Paths are relative to the image's `root` (default: the current directory) and stored that",
    "way, so a moved checkout gets the same tag. *Layer* names the layer kind a method appends.",
    "",
    "| Method | Description |",
    "| --- | --- |",
    ...instanceMethods.filter(isLayerMethod).map(methodRow),
    "",
    "### Other methods",
    "",
    "| Method | Description |",
    "| --- | --- |",
    ...instanceMethods.filter((m) => !isLayerMethod(m)).map(methodRow),
  );
  for (const fn of ["isImage", "isContainer", "debianBaseImage"]) {
    const doc = sources.declarationDoc(IMAGE_TS, fn);
    requireDoc(`TSDoc for ${fn} (${rel(IMAGE_TS)})`, { doc });
    out.push(`| \`${fn}(${fn === "isContainer" ? "" : fn === "isImage" ? "value" : "pythonVersion"})\` (a function) | ${cell(doc)} |`);
  }
  out.push("", "### Properties", "", "Read-only, frozen.", "", "| Property | Type | Description |", "| --- | --- | --- |");
  for (const p of imageProperties) {
    requireDoc(`TSDoc for the Image property ${p.name} (${rel(IMAGE_TS)})`, p);
    out.push(`| \`${p.name}\` | ${code(p.signature)} | ${cell(p.doc)} |`);
  }
  out.push("");

  // ------------------------------------------------------------------------------------------------ layer kinds
  out.push(
    "## Layer kinds",
    "",
    "A layer is plain data, `{ kind, ...fields }`, validated by its kind's zod schema (strict: unknown fields are errors).",
    "These are core's kinds (`builtinLayers`); layer packages such as `@imagespec/python` add their own with",
    "`defineLayer` and `image.withLayer(definition, fields)`. *Reads files*: the fields whose files or folders enter the",
    "tag (see [the hash contract](hashing.md)).",
    "",
  );
  for (const [kind, definition] of Object.entries(core.builtinLayers) as [string, LayerDefinition][]) {
    if (!definition.description) missing.push(`a description for the ${kind} layer definition (packages/core/src/builtin-layers.ts)`);
    const schema = z.toJSONSchema(definition.schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
    const required = new Set(schema.required ?? []);
    const reads = readsFiles(definition, schema);
    out.push(
      `### \`${kind}\``,
      "",
      `${definition.description ?? ""}${definition.codeBundle ? " A code bundle: left out of the image and the tag in fast mode." : ""}`,
      "",
    );
    out.push("| Field | Type | Required |", "| --- | --- | --- |");
    for (const [field, fieldSchema] of Object.entries(schema.properties ?? {})) {
      out.push(`| \`${field}\` | ${code(jsonType(fieldSchema))} | ${required.has(field) ? "yes" : "no"}${reads.includes(field) ? " (reads files)" : ""} |`);
    }
    out.push("");
  }

  // ------------------------------------------------------------------------------------------------ config
  out.push(
    "## imagespec.config.ts",
    "",
    "`export default defineConfig({...})` in `imagespec.config.ts` (or `.mts`, `.js`, `.mjs`), found by walking up from the",
    "current directory (or given with `--config`). See [configuration](configuration.md) for examples.",
    "",
    "| Field | Type | Description |",
    "| --- | --- | --- |",
  );
  for (const c of sources.interfaceMembers(CONFIG_TS, "ImageSpecConfig")) {
    requireDoc(`TSDoc for ImageSpecConfig.${c.name} (${rel(CONFIG_TS)})`, c);
    out.push(`| \`${c.name}\` | ${code(c.signature)} | ${cell(c.doc)} |`);
  }
  out.push("");

  // ------------------------------------------------------------------------------------------------ CLI
  out.push(
    "## The imagespec command",
    "",
    "Every command also takes `--help`. `<file>` is a TypeScript or JavaScript module (every exported `Image` or",
    "`ImageSpec`, or the named exports) or a YAML spec; `--image <spec.yaml>` names a YAML spec explicitly. More in",
    "[the CLI's README](../packages/cli/README.md).",
    "",
  );
  for (const command of COMMAND_LIST) {
    out.push(`### \`imagespec ${command.name}\``, "", `${command.summary}.`, "", "```", ...command.usage, "```", "", command.description, "");
    out.push("| Option | Description |", "| --- | --- |");
    for (const o of Object.values(command.options) as OptionSpec[]) {
      const flag = `--${o.flag}${o.value ? ` ${o.value}` : ""}${o.short ? `, -${o.short}` : ""}`;
      out.push(`| ${code(flag)} | ${cell(o.description)}${o.multiple && !/repeat/.test(o.description) ? " (repeatable)" : ""} |`);
    }
    out.push("", "```sh", ...command.examples, "```", "");
  }
  out.push("Exit codes:", "", "| Code | Meaning |", "| --- | --- |");
  const EXIT_MEANING: Record<keyof typeof EXIT, string> = {
    ok: "success (skipped images count as success)",
    failed: "a build failed (for `exists`: the tag is absent)",
    usage: "usage error or invalid definition",
    environment: "environment: no engine, registry unreachable when it must be reached (for `exists`: unknown)",
    cancelled: "cancelled (Ctrl-C)",
  };
  for (const [key, value] of Object.entries(EXIT) as [keyof typeof EXIT, number][]) out.push(`| ${value} | ${EXIT_MEANING[key]} |`);
  out.push("");

  // ------------------------------------------------------------------------------------------------ errors
  out.push(
    "## Error codes",
    "",
    "Every error imagespec raises on purpose is an `ImageSpecError` with a stable `code`, a message",
    '"Cannot <do what>: <why>", and where it applies the `field`, the `value` and a `hint`. Recognise one with',
    "`isImageSpecError(error)` (it works across two copies of core, where `instanceof` does not). The CLI prints",
    "`error: <message>` and the hint, and exits with the code below; `--json` prints",
    '`{ "error": { "code", "message", "field", "value", "hint" } }`, and `build --json` gives each failed image its',
    "`error` in that form. [Troubleshooting](troubleshooting.md) lists the common ones with their fixes.",
    "",
    "| Code | Meaning | CLI exit code |",
    "| --- | --- | --- |",
  );
  for (const { value, doc } of sources.stringUnion(ERRORS_TS, "ErrorCode")) {
    requireDoc(`TSDoc for the error code ${value} (${rel(ERRORS_TS)})`, { doc });
    const exit = exitCodeFor(new core.ImageSpecError(value as core.ErrorCode, "x"));
    out.push(`| \`${value}\` | ${cell(doc.replace(/\s*\(CLI exit \d+\)/, ""))} | ${exit} |`);
  }
  out.push("");

  if (missing.length > 0) throw new Error(`Cannot generate docs/reference.md: missing\n  - ${missing.join("\n  - ")}`);
  return `${out
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()}\n`;
}

// ------------------------------------------------------------------------------------------------ helpers

/** What setting `field` changes in the compiled Image, compared with the same spec without it. */
function compileEffect(field: string, properties: readonly Member[]): string {
  const sample = SAMPLES[field]!;
  const { [field as keyof ImageSpecFields]: _dropped, ...companions } = sample;
  const root = "/srv/probe";
  const withField = new ImageSpec({ root, ...sample }).toImage();
  const without = new ImageSpec({ root, ...companions }).toImage();
  const parts: string[] = [];
  const before = without.layers.map((l) => JSON.stringify(l));
  const added = withField.layers.filter((l) => !before.includes(JSON.stringify(l)));
  const newKinds = added.filter((l) => !without.layers.some((w) => w.kind === l.kind));
  const changedKinds = added.filter((l) => without.layers.some((w) => w.kind === l.kind));
  for (const kind of new Set(newKinds.map((l) => l.kind))) parts.push(`layer \`${kind}\``);
  if (changedKinds.length > 0) {
    const keys = new Set<string>();
    for (const layer of changedKinds) {
      const old = without.layers.find((w) => w.kind === layer.kind)!;
      for (const key of Object.keys(layer)) if (JSON.stringify(layer[key]) !== JSON.stringify(old[key])) keys.add(key);
    }
    parts.push(`${[...keys].map((k) => `\`${k}\``).join(", ")} of ${[...new Set(changedKinds.map((l) => `\`${l.kind}\``))].join(", ")}`);
  }
  const changedProps = properties.filter(
    (p) => p.name !== "layers" && JSON.stringify(withField[p.name as keyof Image]) !== JSON.stringify(without[p.name as keyof Image]),
  );
  if (changedProps.length > 0) parts.push(`Image ${changedProps.map((p) => `\`${p.name}\``).join(", ")}`);
  if (parts.length === 0) throw new Error(`Cannot tell what the spec field ${field} compiles into: its sample changes nothing`);
  return parts.join("; ");
}

/** The YAML key of a field: snake_case, checked by loading it through the YAML loader. */
function yamlKey(field: string): string {
  const snake = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const yaml = Object.entries(SAMPLES[field] ?? {})
    .map(([k, v]) => `${k === field ? snake : k}: ${JSON.stringify(v)}`)
    .join("\n");
  parseImageSpecYaml(yaml, { root: "/srv/project" }); // throws when the key is not a spec field
  return snake;
}

/** For each spec field, the grammar checks its zod schema runs (`grammarString(checkX)`, `strings(checkX)`). */
function specSchemaChecks(): Map<string, string[]> {
  const source = ts.createSourceFile(SPEC_TS, ts.sys.readFile(SPEC_TS) ?? "", ts.ScriptTarget.Latest, true);
  let object: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === "specSchema") {
      const find = (n: ts.Node) => {
        if (
          !object &&
          ts.isCallExpression(n) &&
          ts.isPropertyAccessExpression(n.expression) &&
          n.expression.name.text === "object" &&
          n.arguments[0] &&
          ts.isObjectLiteralExpression(n.arguments[0])
        )
          object = n.arguments[0];
        ts.forEachChild(n, find);
      };
      find(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (!object) throw new Error(`Cannot find the z.object({...}) of specSchema in ${SPEC_TS}`);
  const checks = new Map<string, string[]>();
  for (const property of object.properties) {
    if (!ts.isPropertyAssignment(property)) continue;
    const found = [...new Set(identifiersIn(property.initializer).filter((id) => /^check[A-Z]/.test(id)))];
    if (found.length > 0) checks.set(property.name.getText(), found);
  }
  return checks;
}

/** The rules the spec schema checks across fields: each field that needs another one, given alone, and the error it gets. */
function specRules(): string[] {
  const lines: string[] = [];
  for (const field of SPEC_FIELDS) {
    const sample = SAMPLES[field];
    if (!sample || Object.keys(sample).length === 1) continue;
    try {
      new ImageSpec({ [field]: sample[field as keyof ImageSpecFields] } as ImageSpecFields);
    } catch (error) {
      const issue = core.isImageSpecError(error) ? error.issues.find((i) => i.field === field) : undefined;
      if (issue) lines.push(`- \`${field}\`: ${issue.message}.`);
    }
  }
  if (lines.length === 0) throw new Error("Cannot find any cross-field rule of the spec schema: every sample was accepted alone");
  return ["Fields that would have no effect are errors, never silently ignored:", "", ...lines];
}

/** Layer definitions by the name core exports them under (`pipPackagesLayer` → `pipPackages`). */
function layerExports(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [name, value] of Object.entries(core)) if (core.isLayerDefinition(value)) map.set(name, [value.kind]);
  return map;
}

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  additionalProperties?: JsonSchema | boolean;
  minItems?: number;
}

function jsonType(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.anyOf) return schema.anyOf.map(jsonType).join(" | ");
  if (schema.type === "array") {
    const item = jsonType(schema.items ?? {});
    return `${item.includes(" ") ? `(${item})` : item}[]${schema.minItems ? " (at least one)" : ""}`;
  }
  if (schema.type === "object" && schema.properties) {
    const required = new Set(schema.required ?? []);
    return `{ ${Object.entries(schema.properties)
      .map(([k, v]) => `${k}${required.has(k) ? "" : "?"}: ${jsonType(v)}`)
      .join(", ")} }`;
  }
  if (schema.type === "object") return `Record<string, ${typeof schema.additionalProperties === "object" ? jsonType(schema.additionalProperties) : "unknown"}>`;
  return schema.type ?? "unknown";
}

/** The fields of a layer whose files enter the tag: asked of the definition with a sample of every string field. */
function readsFiles(definition: LayerDefinition, schema: JsonSchema): string[] {
  if (!definition.inputs) return [];
  const sample: Record<string, unknown> = {};
  for (const [field, s] of Object.entries(schema.properties ?? {}))
    sample[field] = s.enum ? s.enum[0] : s.type === "string" ? `sample-${field}.txt` : undefined;
  return definition.inputs(sample as never).map((input) => input.field);
}

function memberCode(owner: string, instance: string, m: Member): string {
  if (m.kind === "method") return code(`${m.isStatic ? `${owner}.` : `${instance}.`}${m.signature}`);
  return code(`${m.isStatic ? owner : instance}.${m.name}: ${m.signature}`);
}

/** Inline code that survives a table: pipes escaped. */
function code(text: string): string {
  return `\`${text.replace(/\|/g, "\\|")}\``;
}

/** Table cell text: pipes escaped, on one line. */
function cell(text: string): string {
  return text
    .replace(/\|/g, "\\|")
    .replace(/\s*\n\s*/g, " ")
    .trim();
}
