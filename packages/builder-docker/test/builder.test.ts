/** The builder itself, without an engine: its plugin, its configuration, what supports() refuses, what it loads. */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Image, ImageBuildEngine } from "@imagespec/core";
import { checkBuilderSettings, isImageSpecError } from "@imagespec/core/authoring";
import { renderDockerBuild } from "@imagespec/docker-build";
import { describe, expect, it } from "vitest";
import { createDockerBuilder } from "../src/index.js";
import plugin from "../src/plugin.js";
import { project } from "./support/project.js";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

describe("the docker builder", () => {
  it("is a plugin with type docker and priority 100 whose render() is the shared renderer's Dockerfile", async () => {
    expect(plugin.name).toBe("@imagespec/builder-docker");
    expect(plugin.builders.map((b) => [b.type, b.priority])).toEqual([["docker", 100]]);
    const builder = await plugin.builders[0]!.create({ config: {} });
    expect(builder.type).toBe("docker");
    const image = Image.fromDebianBase({ root: project({ "a.txt": "a\n" }), pythonVersion: "3.11" })
      .withPipPackages("six")
      .withSourceFile("a.txt", "/a.txt");
    const rendered = await builder.render!(image, { identity: await image.identity(), baseUri: undefined, config: {} });
    expect(rendered.filename).toBe("Dockerfile");
    expect(rendered.content).toBe((await renderDockerBuild(image)).dockerfile);
  });

  it("loads neither dockerode nor tar-stream to be created, asked supports() and render()", async () => {
    const script = `
      import { createRequire } from "node:module";
      import { Image } from "@imagespec/core";
      const { default: plugin } = await import(${JSON.stringify(path.join(packageDir, "dist", "plugin.js"))});
      const builder = await plugin.builders[0].create({ config: {} });
      const image = Image.fromBase("127.0.0.1:5000/x:1", { root: process.cwd() }).withEnvVars({ A: "1" });
      if (builder.supports(image) !== true) throw new Error("refused");
      await builder.render(image, { identity: await image.identity(), baseUri: undefined, config: {} });
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /[\\\\/](dockerode|docker-modem|tar-stream)[\\\\/]/.test(f));
      console.log(JSON.stringify(loaded));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: packageDir });
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it("rejects bad configuration naming every bad field, its own and the shared build settings", () => {
    try {
      createDockerBuilder({ network: "bridge-ish" as "host", host: "" });
      expect.unreachable();
    } catch (error) {
      expect(isImageSpecError(error) && error.code).toBe("CONFIG_ERROR");
      expect((error as Error).message).toContain("network");
      expect((error as Error).message).toContain("host");
      expect((error as { issues: unknown[] }).issues).toHaveLength(2);
    }
  });

  it("declares strict settings: a misspelled one is a CONFIG_ERROR with the setting it was meant to be", async () => {
    expect(() => createDockerBuilder({ netwrk: "host" } as never)).toThrow(
      /builders\.docker\.netwrk: is not a setting of the docker builder; did you mean network\?/,
    );
    const settings = plugin.builders[0]!.settings!;
    expect(
      checkBuilderSettings(
        settings,
        { network: "host", labels: { a: "b" }, host: "unix:///x", maxBuilds: 2, pull: true, noCache: false, pushIdleTimeoutMs: 5_000 },
        { type: "docker", at: "builders.docker" },
      ),
    ).toEqual([]);
    // They change what is built, so they are builderOptions (in the tag): as settings they are refused, saying where they go.
    expect(checkBuilderSettings(settings, { micromambaImage: "m:1", cudaImage: "c:{cuda}" }, { type: "docker", at: "builders.docker" })).toEqual([
      expect.objectContaining({ field: "builders.docker.micromambaImage", message: expect.stringMatching(/so it is a builder option/) }),
      expect.objectContaining({ field: "builders.docker.cudaImage", message: expect.stringMatching(/so it is a builder option/) }),
    ]);
    expect(checkBuilderSettings(settings, { micromamba_image: "m:1" }, { type: "docker", at: "builderConfig" })).toEqual([
      { field: "builderConfig.micromamba_image", value: "m:1", message: "is not a setting of the docker builder; did you mean micromambaImage?" },
    ]);
  });

  it("takes cacheFrom and cacheTo inline; a cache exporter the Engine API lacks is refused before anything builds", () => {
    const settings = plugin.builders[0]!.settings!;
    const at = { type: "docker", at: "builders.docker" };
    expect(checkBuilderSettings(settings, { cacheFrom: ["127.0.0.1:5000/app:main"], cacheTo: "inline" }, at)).toEqual([]);
    expect(checkBuilderSettings(settings, { cacheTo: "type=registry,ref=127.0.0.1:5000/app:cache", cacheFrom: ["Bad Ref"] }, at)).toEqual([
      expect.objectContaining({
        field: "builders.docker.cacheFrom[0]",
        value: "Bad Ref",
        message: expect.stringMatching(/is not an image to take cache from/),
      }),
      expect.objectContaining({
        field: "builders.docker.cacheTo",
        message: expect.stringMatching(/registry cache exporter, but the Docker Engine API .* writes only inline cache/),
      }),
    ]);
    expect(() => createDockerBuilder({ cacheTo: "local" as "inline" })).toThrow(/builders\.docker\.cacheTo: asks for the local cache exporter/);
    // In an image's builderConfig, the engine refuses it when it chooses the builder: nothing is built.
    const engine = new ImageBuildEngine({ env: {} }).register(createDockerBuilder(), { priority: 100, settings });
    const image = Image.fromBase("127.0.0.1:5000/x:1", { root: project(), builderConfig: { cacheTo: "type=registry,ref=r:1" } }).withEnvVars({ A: "1" });
    expect(() => engine.select(image)).toThrow(/builderConfig\.cacheTo = "type=registry,ref=r:1": asks for the registry cache exporter/);
  });

  it("refuses what the renderer cannot render, with the reason", () => {
    const builder = createDockerBuilder();
    const root = project();
    expect(builder.supports(Image.fromDebianBase({ root }).withPipPackages("six"))).toBe(true);
    expect(builder.supports(Image.fromBase("ghcr.io/org/py:1", { root }).withCuda({ cuda: "12.4.1" }))).toMatch(/withCuda replaces the Debian base/);
    expect(builder.supports(Image.fromDebianBase({ root, platform: "windows/amd64" }))).toMatch(/Linux images only, not windows\/amd64/);
  });
});
