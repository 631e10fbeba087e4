/**
 * docs/flyte.md covers what a Flyte user brings: every field of flytekit's ImageSpec (which are imagespec's spec
 * fields, by their snake_case names), flytekit's methods and builders, and every public method of flyte-sdk's
 * flyte.Image, each with its imagespec spelling. Its samples are checked with every other doc's (samples.test.ts).
 */

import { SPEC_FIELDS } from "@imagespec/core";
import { describe, expect, it } from "vitest";
import { codeBlocks, readDoc } from "../src/markdown.js";

const doc = readDoc("flyte.md");

/** The first cells of the rows of the table under a heading. */
function firstColumn(heading: string): string[] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start, `flyte.md has a section "${heading}"`).toBeGreaterThan(-1);
  const end = doc.indexOf("\n## ", start + 1);
  return doc
    .slice(start, end === -1 ? undefined : end)
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| ---"))
    .slice(1)
    .map((line) => line.split(" | ")[0]!.slice(2));
}

/** flytekit's ImageSpec fields that imagespec does not have under the same name (none, today). */
const FLYTEKIT_ONLY: readonly string[] = [];
/** imagespec's spec fields that flytekit does not have. */
const IMAGESPEC_ONLY = ["root", "forcePush"];

/** flytekit's ImageSpec methods (flytekit/image_spec/image_spec.py). */
const FLYTEKIT_METHODS = [
  "is_container",
  "image_name",
  "tag",
  "id",
  "exist",
  "with_commands",
  "with_packages",
  "with_apt_packages",
  "with_copy",
  "with_runtime_packages",
  "with_builder_options",
  "force_push",
  "from_env",
];

/** flyte-sdk's flyte.Image public constructors and methods (src/flyte/_image.py). */
const FLYTE_SDK_METHODS = [
  "from_debian_base",
  "from_base",
  "from_dockerfile",
  "from_uv_script",
  "from_ref_name",
  "from_pixi_script",
  "clone",
  "with_pip_packages",
  "with_requirements",
  "with_apt_packages",
  "with_commands",
  "with_env_vars",
  "with_workdir",
  "with_source_folder",
  "with_source_file",
  "with_code_bundle",
  "with_dockerignore",
  "with_uv_project",
  "with_poetry_project",
  "with_pixi_project",
  "with_local_v2",
  "with_local_v2_plugins",
  "with_local_rs_controller",
  "validate",
  "uri",
];

describe("docs/flyte.md", () => {
  it("lists every ImageSpec field by flytekit's name, with its imagespec spelling", () => {
    const rows = firstColumn("flytekit's ImageSpec fields");
    const flytekitNames = rows.flatMap((cell) => [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!));
    const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    for (const field of SPEC_FIELDS.filter((f) => !IMAGESPEC_ONLY.includes(f))) expect(flytekitNames, field).toContain(snake(field));
    for (const field of IMAGESPEC_ONLY) expect(doc).toContain(`| (none) | \`${field}\` |`);
    expect(FLYTEKIT_ONLY).toEqual([]);
  });

  it("maps every flytekit method and every flyte-sdk flyte.Image method", () => {
    const flytekit = firstColumn("flytekit's methods").join(" ");
    for (const method of FLYTEKIT_METHODS) expect(flytekit, method).toMatch(new RegExp(`\`${method}[(\`]`));
    const sdk = firstColumn("flyte-sdk's flyte.Image").join(" ");
    for (const method of FLYTE_SDK_METHODS) expect(sdk, method).toMatch(new RegExp(`\\b${method}\\b`));
  });

  it("names every TypeScript and YAML sample, so the sample checks cover them", () => {
    const blocks = codeBlocks(doc).filter((b) => b.lang === "ts" || b.lang === "yaml");
    expect(blocks.length).toBeGreaterThan(5);
    for (const block of blocks) expect(block.file, `flyte.md:${block.line}`).toBeDefined();
  });
});
