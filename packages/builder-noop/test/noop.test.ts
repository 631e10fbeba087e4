import { Image, ImageBuildEngine, ImageSpec } from "@imagespec/core";
import { isImageSpecError } from "@imagespec/core/authoring";
import { describe, expect, it } from "vitest";
import { createNoopBuilder } from "../src/index.js";
import plugin from "../src/plugin.js";

const context = (signal = new AbortController().signal) => ({
  uri: "unused",
  identity: undefined as never,
  push: false,
  baseUri: undefined,
  credentials: async () => undefined,
  config: {},
  signal,
  report: () => {},
});

describe("the noop builder", () => {
  it("returns the base image's reference unchanged", async () => {
    const image = Image.fromBase("ghcr.io/acme/prebuilt:1.2", { name: "prebuilt" });
    const builder = createNoopBuilder();
    expect(builder.supports(image)).toBe(true);
    expect(await builder.build(image, context())).toEqual({ uri: "ghcr.io/acme/prebuilt:1.2", pushed: false, cached: true });
  });

  it("refuses layers it would silently ignore, naming them", () => {
    const verdict = createNoopBuilder().supports(Image.fromBase("x:1").withAptPackages("git").withEnvVars({ A: "1" }));
    expect(verdict).toMatch(/ignore this image's 2 layer\(s\) \(aptPackages, env\)/);
  });

  it("an Image or ImageSpec base is a clear error", async () => {
    const child = Image.fromBase(Image.fromBase("x:1").withAptPackages("git"));
    const builder = createNoopBuilder();
    expect(builder.supports(child)).toMatch(/another Image that would have to be built/);
    const fromSpec = new ImageSpec({ baseImage: new ImageSpec({ name: "parent" }) }).toImage();
    try {
      await builder.build(fromSpec, context());
      throw new Error("expected a throw");
    } catch (error) {
      expect(isImageSpecError(error)).toBe(true);
      expect(error).toMatchObject({ code: "INVALID_SPEC", field: "baseImage" });
      expect((error as Error).message).toMatch(/^Cannot build imagespec with the noop builder: /);
    }
  });

  it("refuses Dockerfile images", () => {
    expect(createNoopBuilder().supports(Image.fromDockerfile("Dockerfile"))).toMatch(/Dockerfile/);
  });

  it("honours cancellation", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(createNoopBuilder().build(Image.fromBase("x:1"), context(controller.signal))).rejects.toMatchObject({ code: "CANCELLED" });
  });

  it("is a plugin with the lowest priority, chosen by the engine when named", async () => {
    expect(plugin.builders.map((b) => [b.type, b.priority])).toEqual([["noop", 0]]);
    const engine = new ImageBuildEngine({ env: {} });
    engine.register(await plugin.builders[0]!.create({ config: {} }), { priority: 0 });
    const [outcome] = await engine.build(new ImageSpec({ baseImage: "python:3.12-slim", builder: "noop" }));
    expect(outcome).toMatchObject({ status: "built", uri: "python:3.12-slim", builder: "noop" });
  });
});
