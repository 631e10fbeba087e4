import { readFile } from "node:fs/promises";
import { Image, ImageSpec, SPEC_FIELDS } from "@imagespec/core";
import { describe, expect, it } from "vitest";
import { generateReference, REFERENCE_FILE } from "../src/reference.js";

describe("docs/reference.md", () => {
  it("is exactly what the generator writes from today's code (run `pnpm --filter @imagespec/docs gen` when it is not)", async () => {
    const generated = await generateReference();
    const committed = await readFile(REFERENCE_FILE, "utf8");
    expect(committed, "docs/reference.md is stale: run `pnpm --filter @imagespec/docs gen` and commit it").toBe(generated);
  });

  it("covers every spec field and every public method the classes have at run time", async () => {
    const reference = await generateReference();
    for (const field of SPEC_FIELDS) expect(reference).toContain(`| \`${field}\` |`);
    const methods = (cls: { prototype: object }) => Object.getOwnPropertyNames(cls.prototype).filter((name) => name !== "constructor" && !name.startsWith("_"));
    for (const name of methods(Image)) expect(reference, `Image.${name}`).toMatch(new RegExp(`\`image\\.${name}[(:]`));
    for (const name of methods(ImageSpec)) expect(reference, `ImageSpec.${name}`).toMatch(new RegExp(`\`spec\\.${name}[(:]`));
    const statics = (cls: object) => Object.getOwnPropertyNames(cls).filter((name) => typeof (cls as Record<string, unknown>)[name] === "function");
    for (const name of statics(Image)) expect(reference, `Image.${name}`).toContain(`\`Image.${name}(`);
    for (const name of statics(ImageSpec)) expect(reference, `ImageSpec.${name}`).toContain(`\`ImageSpec.${name}(`);
  });
});
