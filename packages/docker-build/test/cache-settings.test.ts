/**
 * The cache settings without an engine: what `cacheFrom` and `cacheTo` accept, the refusal of cache exporters the
 * Engine API does not have, what reaches the engine's `/build` query (a fake `modem.dial` records it), and that
 * neither setting changes the Dockerfile or the tag. The real cross-engine build is builder-remote's
 * test/cross-engine-cache.test.ts.
 */
import { PassThrough } from "node:stream";
import { Image } from "@imagespec/core";
import { describe, expect, it } from "vitest";
import { BuildProgress, type EngineConnection, engineBuild } from "../src/engine.js";
import { readDockerBuildSettings, renderDockerBuild } from "../src/index.js";
import { MAX_CACHE_FROM } from "../src/settings.js";
import { project } from "./support/project.js";

describe("cacheFrom", () => {
  it("takes image references and passes them on as written", () => {
    const cacheFrom = ["127.0.0.1:5000/app:abc123", "ghcr.io/acme/app@sha256:" + "a".repeat(64), "python:3.12-slim"];
    expect(readDockerBuildSettings({ cacheFrom })).toEqual({ settings: { cacheFrom }, issues: [] });
  });

  it("refuses what is not an image reference, naming the entry and the value", () => {
    const { issues } = readDockerBuildSettings({ cacheFrom: ["ok:1", "Not A Reference", "type=registry,ref=x:1"] });
    expect(issues).toEqual([
      expect.objectContaining({
        field: "cacheFrom[1]",
        value: "Not A Reference",
        message: expect.stringMatching(/^is not an image to take cache from: an image reference is/),
      }),
      expect.objectContaining({ field: "cacheFrom[2]", value: "type=registry,ref=x:1" }),
    ]);
  });

  it("refuses a value that is not a list, and more than MAX_CACHE_FROM images", () => {
    expect(readDockerBuildSettings({ cacheFrom: "app:1" }).issues).toEqual([expect.objectContaining({ field: "cacheFrom", value: "app:1" })]);
    const many = Array.from({ length: MAX_CACHE_FROM + 1 }, (_, i) => `app:${i}`);
    expect(readDockerBuildSettings({ cacheFrom: many }).issues).toEqual([expect.objectContaining({ field: "cacheFrom" })]);
  });
});

describe("cacheTo", () => {
  it('takes "inline"', () => {
    expect(readDockerBuildSettings({ cacheTo: "inline" })).toEqual({ settings: { cacheTo: "inline" }, issues: [] });
  });

  it("refuses the registry and local exporters, saying the Engine API writes only inline cache and what to do", () => {
    for (const value of ["type=registry,ref=127.0.0.1:5000/app:cache,mode=max", "registry", "type=local,dest=/tmp/cache", "gha"]) {
      const { issues } = readDockerBuildSettings({ cacheTo: value });
      expect(issues, value).toEqual([
        {
          field: "cacheTo",
          value,
          message: expect.stringMatching(
            /cache exporter, but the Docker Engine API .* writes only inline cache .*; use "inline" and push the image, then name it in cacheFrom$/,
          ),
        },
      ]);
    }
  });

  it("refuses any other value, naming it", () => {
    for (const value of ["max", true, { type: "inline" }, ["inline"]]) {
      const { issues } = readDockerBuildSettings({ cacheTo: value });
      expect(issues, JSON.stringify(value)).toEqual([{ field: "cacheTo", value, message: expect.stringMatching(/^must be "inline"/) }]);
    }
  });
});

/** A connection whose `modem.dial` records the request and answers with an image id, as dockerd does at the end. */
function recordingConnection(): { connection: EngineConnection; requests: { path: string; options: Record<string, unknown> }[] } {
  const requests: { path: string; options: Record<string, unknown> }[] = [];
  const modem = {
    dial(request: { path: string; options: Record<string, unknown> }, callback: (error: unknown, stream: unknown) => void) {
      requests.push({ path: request.path, options: request.options });
      const stream = new PassThrough();
      stream.end(`${JSON.stringify({ id: "moby.image.id", aux: { ID: "sha256:1" } })}\n`);
      callback(null, stream);
    },
  };
  return { connection: { docker: { modem } as never, endpoint: "fake" }, requests };
}

const base = {
  tag: "127.0.0.1:5000/app:1",
  dockerfile: "Dockerfile",
  buildArgs: { VALUE: "a\nb" },
  labels: {},
  platform: undefined,
  network: undefined,
  pull: false,
  noCache: false,
  session: "s",
  signal: new AbortController().signal,
};

describe("the engine's /build request", () => {
  it("carries cachefrom as one JSON array and the inline export as BUILDKIT_INLINE_CACHE=1", async () => {
    const { connection, requests } = recordingConnection();
    const result = await engineBuild(
      connection,
      { ...base, cacheFrom: ["127.0.0.1:5000/app:old", "127.0.0.1:5000/base:1"], inlineCache: true },
      new BuildProgress(() => {}, []),
    );
    expect(result).toEqual({ imageId: "sha256:1", error: undefined });
    expect(requests[0]!.options).toMatchObject({
      cachefrom: '["127.0.0.1:5000/app:old","127.0.0.1:5000/base:1"]',
      buildargs: { VALUE: "a\nb", BUILDKIT_INLINE_CACHE: "1" },
    });
  });

  it("carries neither without the settings", async () => {
    const { connection, requests } = recordingConnection();
    await engineBuild(connection, { ...base, cacheFrom: [], inlineCache: false }, new BuildProgress(() => {}, []));
    expect(requests[0]!.options).not.toHaveProperty("cachefrom");
    expect(requests[0]!.options.buildargs).toEqual({ VALUE: "a\nb" });
  });
});

describe("what the cache settings do not change", () => {
  it("the Dockerfile and the tag: they say how to build, not what", async () => {
    process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = "127.0.0.1:5000/imagespec/python:{python_version}-slim-bookworm";
    const root = project({});
    const plain = Image.fromDebianBase({ root, registry: "127.0.0.1:5000", name: "cache" }).withCommands("echo hi > /hi");
    const cached = Image.fromDebianBase({
      root,
      registry: "127.0.0.1:5000",
      name: "cache",
      builderConfig: { cacheFrom: ["127.0.0.1:5000/cache:old"], cacheTo: "inline" },
    }).withCommands("echo hi > /hi");
    expect(await cached.tag()).toBe(await plain.tag());
    const settings = { cacheFrom: ["127.0.0.1:5000/cache:old"], cacheTo: "inline" as const };
    expect((await renderDockerBuild(cached, { config: settings })).dockerfile).toBe((await renderDockerBuild(plain)).dockerfile);
  });
});
