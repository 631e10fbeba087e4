/** Platforms, `native`, and how an image's `native` is resolved before hashing (the builder is a fake here; the real engines are in the builders' tests). */
import { describe, expect, it } from "vitest";
import { type BuildContext, Image, ImageBuildEngine, type ImageBuilder } from "../src/index.js";
import { formatPlatform, parsePlatform, platformTagSuffix, samePlatform } from "../src/authoring.js";
import { findPlatformEntry, parseIndexEntries } from "../src/registry/index.js";

function nativeBuilder(type: string, platform?: string): ImageBuilder & { asked: number; built: Image[] } {
  const builder = {
    type,
    asked: 0,
    built: [] as Image[],
    supports: () => true as const,
    async build(image: Image, context: BuildContext) {
      builder.built.push(image);
      return { uri: context.uri, pushed: false };
    },
    ...(platform !== undefined && {
      async nativePlatform() {
        builder.asked++;
        return { platform, source: `${type} engine` };
      },
    }),
  };
  return builder;
}

describe("platforms", () => {
  it("normalise the default variants: linux/arm64/v8 is linux/arm64, linux/amd64/v1 is linux/amd64; others stay", () => {
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64" });
    expect(formatPlatform({ os: "linux", architecture: "amd64", variant: "v1" })).toBe("linux/amd64");
    expect(formatPlatform(parsePlatform("linux/arm/v7"))).toBe("linux/arm/v7");
    expect(samePlatform("linux/arm64", { os: "linux", architecture: "arm64", variant: "v8" })).toBe(true);
    expect(samePlatform("linux/arm/v7", "linux/arm/v6")).toBe(false);
    expect(platformTagSuffix("linux/arm/v7")).toBe("linux-arm-v7");
  });

  it("find an index's entry for a platform, and tell an index from a single manifest", () => {
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
      manifests: [
        { mediaType: "m", digest: "sha256:a", size: 1, platform: { os: "linux", architecture: "amd64" } },
        { mediaType: "m", digest: "sha256:b", size: 2, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { mediaType: "m", digest: "sha256:c", size: 3, platform: { os: "unknown", architecture: "unknown" } },
      ],
    });
    const entries = parseIndexEntries(index, null)!;
    expect(findPlatformEntry(entries, "linux/arm64")?.digest).toBe("sha256:b");
    expect(findPlatformEntry(entries, "linux/s390x")).toBeUndefined();
    // An OCI index may leave mediaType out; a manifest is not an index.
    expect(parseIndexEntries(JSON.stringify({ schemaVersion: 2, manifests: [] }), "application/vnd.oci.image.index.v1+json")).toEqual([]);
    expect(parseIndexEntries(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [] }), null)).toBeUndefined();
  });
});

describe("the native platform", () => {
  const native = () =>
    Image.fromBase("python:3.12-slim", { name: "app", registry: "127.0.0.1:5000", platform: ["native", "linux/amd64"] }).withEnvVars({ A: "1" });

  it("is accepted as a platform, and has no tag until it is resolved", async () => {
    const image = native();
    expect(image.platforms).toEqual(["native", "linux/amd64"]);
    expect(image.hasNativePlatform).toBe(true);
    await expect(image.tag()).rejects.toMatchObject({
      code: "INVALID_SPEC",
      field: "platform",
      message: expect.stringMatching(/^Cannot compute the tag of app: its platform "native"/),
    });
  });

  it("resolves to a concrete platform: the tag is that platform's, the id stays the definition's, explain says where it came from", async () => {
    const image = native();
    const resolved = image.resolveNativePlatform("linux/arm64", "docker unix:///var/run/docker.sock");
    expect(resolved.platforms).toEqual(["linux/arm64", "linux/amd64"]);
    expect(resolved.declaredPlatforms).toEqual(["native", "linux/amd64"]);
    expect(resolved.id).toBe(image.id);
    const explicit = Image.fromBase("python:3.12-slim", { name: "app", registry: "127.0.0.1:5000", platform: ["linux/arm64", "linux/amd64"] }).withEnvVars({
      A: "1",
    });
    expect(await resolved.tag()).toBe(await explicit.tag());
    const platforms = (await resolved.identity()).inputs.find((i) => i.name === "platforms");
    expect(platforms?.detail).toBe("linux/arm64,linux/amd64 (native: linux/arm64 of docker unix:///var/run/docker.sock)");
    // Resolving to the platform already listed keeps one entry.
    expect(image.resolveNativePlatform("linux/amd64", "x").platforms).toEqual(["linux/amd64"]);
    expect(() => image.resolveNativePlatform("native", "x")).toThrow(/must be a concrete os\/arch/);
  });

  it("is resolved by the engine through the chosen builder, once per builder, for the image and its Image bases", async () => {
    const builder = nativeBuilder("fake", "linux/arm64");
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const base = Image.fromBase("python:3.12-slim", { name: "base", platform: "native" });
    const child = Image.fromBase(base, { name: "child", platform: "native" }).withEnvVars({ B: "2" });
    const outcomes = await engine.build(child, { push: false });
    expect(builder.asked).toBe(1);
    expect(outcomes.map((o) => [o.image.name, o.image.platforms])).toEqual([
      ["base", ["linux/arm64"]],
      ["child", ["linux/arm64"]],
    ]);
    expect(builder.built.map((i) => i.platforms)).toEqual([["linux/arm64"], ["linux/arm64"]]);
    const resolved = await engine.resolvePlatforms(child);
    expect(resolved.base.type === "image" && resolved.base.image.platforms).toEqual(["linux/arm64"]);
    expect(await resolved.uri()).toBe(outcomes[1]!.uri);
  });

  it("needs a builder that can tell its engine's platform", async () => {
    const engine = new ImageBuildEngine({ env: {} }).register(nativeBuilder("blind"));
    await expect(engine.build(Image.fromBase("python:3.12-slim", { platform: "native" }))).rejects.toMatchObject({
      code: "NO_BUILDER",
      message: 'Cannot resolve the platform "native" of imagespec: the blind builder cannot tell which platform its engine runs',
    });
  });
});
