/**
 * @imagespec/core's image-spec.schema.json: exactly what the generator writes from today's zod schema, and it
 * accepts and rejects the same YAML files as the loader (for what a JSON Schema can say: structure, not grammars).
 */

import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseImageSpecYaml } from "@imagespec/core";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { generateSpecJsonSchema, SCHEMA_FILE } from "../src/json-schema.js";
import { codeBlocks, docFiles, readDoc } from "../src/markdown.js";
import { REPO_ROOT } from "../src/reference.js";

const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as object;
const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(schema);

const loads = (text: string) => {
  try {
    parseImageSpecYaml(text, { root: REPO_ROOT, source: "sample.yaml" });
    return true;
  } catch {
    return false;
  }
};
const schemaAccepts = (text: string) => validate(parse(text));

/** YAML files people write, good and bad in ways a schema can see; each with what the loader says. */
const SAMPLES: readonly [string, boolean][] = [
  ['name: app\npython_version: 3.10\npackages: ["numpy<2", pandas]\n', true],
  ["name: app\npythonVersion: '3.12'\naptPackages: [git]\n", true],
  ["name: app\nenv:\n  PORT: 8080\n  MODE: prod\n", true],
  ["name:\nregistry: ghcr.io/acme\n", true],
  ["name: child\nbase_image:\n  name: base\n  python_version: '3.12'\n  apt_packages: [git]\ncommands: [git --version]\n", true],
  ["name: app\nbase_image: python:3.12-slim\nplatform: linux/amd64,linux/arm64\n", true],
  ["name: app\npackages: [numpy]\npip_extra_index_url: https://pypi.example.com/simple\n", true],
  ["name: app\nsource_root: src\nsource_copy_mode: tracked\n", true],
  ["name: app\nbuilder_options:\n  target: prod\n  level: 3\nforce_push: true\n", true],
  ["name: app\nsource_root: src\nsource_copy_mode: NO_COPY\nbuilder: default\n", true],
  ["name: app\nsource_root: src\nsource_copy_mode: LOADED_MODULES\nrequirements: uv.lock\nbuilder_config:\n  uv_image: mirror/uv:1\n", true],
  ["name: app\npython_versoin: '3.12'\n", false],
  ["name: app\npackages: numpy\n", false],
  ["name: app\nenv: [MODE=prod]\n", false],
  ["name: app\nforce_push: 'yes'\n", false],
  ["name: app\npython_version: '3.12'\npythonVersion: '3.12'\n", false],
  ["name: child\nbase_image:\n  name: base\n  unknown_field: 1\n", false],
  ["name: app\nsource_root: src\nsource_copy_mode: sometimes\n", false],
  ["name: app\ncommands: {build: make}\n", false],
  ["- name: app\n", false],
];

describe("image-spec.schema.json", () => {
  it("is exactly what the generator writes from today's zod schema (run `pnpm --filter @imagespec/docs gen` when it is not)", async () => {
    expect(await readFile(SCHEMA_FILE, "utf8"), "packages/core/image-spec.schema.json is stale").toBe(generateSpecJsonSchema());
  });

  it("is shipped by @imagespec/core: in its files and its exports map", () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "packages", "core", "package.json"), "utf8")) as {
      files: string[];
      exports: Record<string, unknown>;
    };
    expect(manifest.files).toContain("image-spec.schema.json");
    expect(manifest.exports["./image-spec.schema.json"]).toBe("./image-spec.schema.json");
  });

  it("accepts and rejects the same YAML specs as the loader", () => {
    for (const [text, valid] of SAMPLES) {
      expect(loads(text), `the loader on:\n${text}`).toBe(valid);
      expect(schemaAccepts(text), `the schema on:\n${text}${JSON.stringify(validate.errors)}`).toBe(valid);
    }
  });

  it("accepts every YAML spec in the docs and the examples", () => {
    const specs = docFiles().flatMap((doc) =>
      codeBlocks(readDoc(doc))
        .filter((b) => b.lang === "yaml" && b.file)
        .map((b) => b.text),
    );
    specs.push(readFileSync(path.join(REPO_ROOT, "examples", "yaml", "spec.yaml"), "utf8"));
    expect(specs.length).toBeGreaterThan(2);
    for (const text of specs) {
      expect(loads(text), text).toBe(true);
      expect(schemaAccepts(text), `${text}${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
