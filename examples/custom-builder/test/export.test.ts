import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Image, ImageBuildEngine } from "@imagespec/core";
import { defineLayer } from "@imagespec/core/authoring";
import { createBuildContext } from "@imagespec/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createExportBuilder, exportFolder } from "../src/index.js";

let root: string;
let outDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "export-root-"));
  outDir = await mkdtemp(path.join(os.tmpdir(), "export-out-"));
  await writeFile(path.join(root, "requirements.txt"), "six\n");
  await writeFile(path.join(root, "notes.txt"), "notes\n");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outDir, { recursive: true, force: true });
});

const SUPPORTED = "aptPackages, env, workdir, commands, entrypoint";

describe("the export builder's Dockerfile", () => {
  it("renders every layer kind it supports, with every value quoted by core", async () => {
    const image = Image.fromDebianBase({ root, name: "app", pythonVersion: "3.12" })
      .withAptPackages("git", "curl")
      .withEnvVars({ GREETING: 'say "hi" to $USER' })
      .withWorkdir("/app")
      .withCommands(["echo 'one' && echo two"])
      .withEntrypoint(["python3", "app.py"]);
    const identity = await image.identity();
    const { content, filename } = await createExportBuilder().render!(image, { identity, baseUri: undefined, config: {} });
    expect(filename).toBe("Dockerfile");
    expect(content).toBe(
      [
        "FROM python:3.12-slim-bookworm",
        'RUN ["/bin/sh","-c","apt-get update && apt-get install -y --no-install-recommends git curl && rm -rf /var/lib/apt/lists/*"]',
        'ENV GREETING="say \\"hi\\" to \\$USER"',
        'WORKDIR "/app"',
        `RUN ["/bin/sh","-c","echo 'one' && echo two"]`,
        'ENTRYPOINT ["python3","app.py"]',
        `ENV IMAGESPEC_IMAGE_ID="${identity.id}"`,
        "",
      ].join("\n"),
    );
  });

  it("refuses by name every core kind it does not support, and what it cannot write", () => {
    const builder = createExportBuilder();
    const debian = Image.fromDebianBase({ root });
    const unsupported = `not supported by this example builder (it exports ${SUPPORTED})`;
    expect(builder.supports(debian.withCondaPackages(["numpy"]))).toBe(`layers[0] (condaPackages): ${unsupported}`);
    expect(builder.supports(debian.withPipPackages("six"))).toBe(`layers[0] (pipPackages): ${unsupported}`);
    expect(builder.supports(debian.withSourceFile("notes.txt", "/app/"))).toBe(`layers[0] (copy): ${unsupported}`);
    expect(builder.supports(debian.withEnvVars({ MULTI: "a\nb" }))).toBe(
      'layers[0] (env): Cannot write "a\\nb" as a Dockerfile word: it contains a newline or NUL',
    );
    expect(builder.supports(debian.withCommands("true", { secretMounts: ["PIP_TOKEN"] }))).toMatch(/needs build secrets \(PIP_TOKEN\)/);
    expect(builder.supports(debian.withCommands("true", { sshMounts: ["default"] }))).toMatch(/needs build secrets \(default\)/);
    // Every reason at once.
    expect(builder.supports(debian.withRequirements("requirements.txt").withEnvVars({ MULTI: "a\nb" }))).toBe(
      `layers[0] (requirements): ${unsupported}; layers[1] (env): Cannot write "a\\nb" as a Dockerfile word: it contains a newline or NUL`,
    );
    expect(builder.supports(Image.fromDockerfile("notes.txt", { root }))).toBe("the image is built from a Dockerfile of its own; build that one directly");
  });

  it("fails render() and build() of a refused image with NO_BUILDER, naming every reason", async () => {
    const image = Image.fromDebianBase({ root, name: "refused" }).withPipPackages("six");
    const context = await createBuildContext(image, { config: { outDir } });
    await expect(createExportBuilder().render!(image, context)).rejects.toMatchObject({
      code: "NO_BUILDER",
      message: expect.stringContaining("(pipPackages)"),
    });
    await expect(createExportBuilder().build(image, context)).rejects.toMatchObject({ code: "NO_BUILDER" });
  });
});

describe("a layer package's kinds", () => {
  const greeting = defineLayer({
    specificationVersion: "v1",
    kind: "example.greeting",
    schema: z.object({ text: z.string() }).strict(),
    // Deliberately unquoted (a layer package should quote with core's functions): the builder still refuses a line break.
    renderers: { export: (f) => (f.text === "" ? "an empty greeting" : [`LABEL greeting=${f.text}`]) },
  });

  it("are rendered through their renderers.export, or refused with its reason", async () => {
    const image = Image.fromDebianBase({ root }).withLayer(greeting, { text: "hi" });
    const { content } = await createExportBuilder().render!(image, { identity: await image.identity(), baseUri: undefined, config: {} });
    expect(content).toContain("LABEL greeting=hi\n");
    expect(createExportBuilder().supports(Image.fromDebianBase({ root }).withLayer(greeting, { text: "" }))).toBe(
      "layers[0] (example.greeting): an empty greeting",
    );
    expect(createExportBuilder().supports(Image.fromDebianBase({ root }).withLayer(greeting, { text: "a\nRUN evil" }))).toBe(
      "layers[0] (example.greeting): a rendered line has a newline",
    );
  });

  it("are refused when they have no export renderer", () => {
    const bare = defineLayer({ specificationVersion: "v1", kind: "example.bare", schema: z.object({}).strict() });
    expect(createExportBuilder().supports(Image.fromDebianBase({ root }).withLayer(bare, {}))).toBe(
      "layers[0] (example.bare): a layer kind with no renderer for the export builder",
    );
  });
});

describe("exporting", () => {
  it("writes the Dockerfile and image.json into <outDir>/<repository>/<tag>", async () => {
    const img = Image.fromDebianBase({ root, name: "team/app" }).withCommands("echo hi");
    const context = await createBuildContext(img, { config: { outDir } });
    const result = await createExportBuilder().build(img, context);
    const folder = exportFolder(outDir, context.uri);
    expect(folder).toBe(path.join(outDir, "team", "app", context.identity.tag));
    expect(result).toEqual({ uri: context.uri, pushed: false, engine: `export:${outDir}` });
    expect((await readdir(folder)).sort()).toEqual(["Dockerfile", "image.json"]);
    expect(await readFile(path.join(folder, "Dockerfile"), "utf8")).toBe((await createExportBuilder().render!(img, context)).content);
    expect(JSON.parse(await readFile(path.join(folder, "image.json"), "utf8"))).toEqual({
      uri: context.uri,
      id: img.id,
      tag: context.identity.tag,
      platforms: ["linux/amd64"],
      push: false,
    });
  });

  it("lets the engine skip a local image already exported, and exports base images first", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "export-engine-"));
    const engine = new ImageBuildEngine({ env: {} }).register(createExportBuilder(), { priority: 10, config: { outDir: dir } });
    const base = Image.fromDebianBase({ root, name: "base" }).withAptPackages("curl");
    const app = Image.fromBase(base, { root, name: "app" }).withWorkdir("/app");
    const first = await engine.build(app);
    expect(first.map((o) => [o.image.name, o.status])).toEqual([
      ["base", "built"],
      ["app", "built"],
    ]);
    const dockerfile = await readFile(path.join(exportFolder(dir, await app.uri()), "Dockerfile"), "utf8");
    expect(dockerfile).toContain(`FROM ${await base.uri()}\n`);
    const second = await engine.build(app);
    expect(second.map((o) => o.status)).toEqual(["skipped", "skipped"]);
    await rm(dir, { recursive: true, force: true });
  });
});
