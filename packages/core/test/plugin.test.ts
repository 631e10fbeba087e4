import { describe, expect, it } from "vitest";
import { z } from "zod";
import { definePlugin, Image, ImageBuildEngine, type ImageSpecError, isImageSpecError } from "../src/index.js";
import { defineLayer, isPlugin } from "../src/authoring.js";

const builder = { type: "mine", supports: () => true as const, build: async () => ({ uri: "x", pushed: false }) };

function pluginError(define: () => unknown): ImageSpecError {
  let error: unknown;
  try {
    define();
  } catch (caught) {
    error = caught;
  }
  expect(isImageSpecError(error) && error.code).toBe("PLUGIN_ERROR");
  return error as ImageSpecError;
}

describe("definePlugin", () => {
  it("returns inert, frozen data: nothing is created or registered until an engine uses it", () => {
    let created = 0;
    const plugin = definePlugin({
      specificationVersion: "v1",
      name: "example",
      builders: [
        {
          type: "mine",
          priority: 5,
          create: () => {
            created++;
            return builder;
          },
        },
      ],
    });
    expect(isPlugin(plugin)).toBe(true);
    expect(Object.isFrozen(plugin)).toBe(true);
    expect(Object.isFrozen(plugin.builders)).toBe(true);
    expect(plugin.specificationVersion).toBe("v1");
    expect(created).toBe(0);
    expect(new ImageBuildEngine({ env: {} }).builders()).toEqual([]);
  });

  it("defaults to no builders and no requirements files", () => {
    expect(definePlugin({ specificationVersion: "v1", name: "empty" })).toEqual({
      specificationVersion: "v1",
      name: "empty",
      builders: [],
      requirementsFiles: [],
    });
  });

  it("refuses a plugin without a specificationVersion, or of another one, saying which this core implements", () => {
    const missing = pluginError(() => definePlugin({ name: "old" } as never));
    expect(missing.field).toBe("specificationVersion");
    expect(missing.message).toBe('Cannot define plugin "old": it states no specificationVersion; this @imagespec/core implements "v1"');
    const other = pluginError(() => definePlugin({ specificationVersion: "v2", name: "new" } as never));
    expect(other.message).toBe('Cannot define plugin "new": it is written for specificationVersion "v2", and this @imagespec/core implements "v1"');
    expect(other.value).toBe("v2");
  });

  it("refuses a list of layer kinds: a layer carries its definition, nothing reads such a list", () => {
    const layer = defineLayer({ specificationVersion: "v1", kind: "example.thing", schema: z.object({}).strict() });
    expect(pluginError(() => definePlugin({ specificationVersion: "v1", name: "layers", layers: [layer] } as never)).field).toBe("layers");
  });

  it("refuses malformed plugins, naming the field", () => {
    const make =
      (create: unknown, rest: Record<string, unknown> = {}) =>
      () =>
        definePlugin({ specificationVersion: "v1", name: "bad", builders: [{ type: "mine", priority: 1, create, ...rest } as never] });
    expect(pluginError(() => definePlugin({} as never)).field).toBe("name");
    expect(pluginError(make(() => builder, { type: "Not OK" })).field).toBe("builders[0].type");
    expect(pluginError(make(undefined)).field).toBe("builders[0].create");
    expect(pluginError(make(() => builder, { priority: "high" })).field).toBe("builders[0].priority");
    expect(pluginError(make(() => builder, { priority: Number.NaN })).field).toBe("builders[0].priority");
    const twice = pluginError(() =>
      definePlugin({
        specificationVersion: "v1",
        name: "twice",
        builders: [
          { type: "mine", priority: 1, create: () => builder },
          { type: "mine", priority: 2, create: () => builder },
        ],
      }),
    );
    expect(twice.message).toBe('Cannot define plugin "twice": builder type mine is listed twice');
  });

  it("is recognised from another copy of core (the built one), but look-alikes are not plugins", async () => {
    // By URL, so type-checking does not need the build; the tests run after it.
    const dist = (await import(new URL("../dist/authoring.js", import.meta.url).href)) as typeof import("../src/authoring.js");
    expect(isPlugin(dist.definePlugin({ specificationVersion: "v1", name: "from-dist" }))).toBe(true);
    expect(dist.isPlugin(definePlugin({ specificationVersion: "v1", name: "from-src" }))).toBe(true);
    expect(isPlugin({ specificationVersion: "v1", name: "fake", builders: [], requirementsFiles: [] })).toBe(false);
    expect(isPlugin(null)).toBe(false);
  });
});

describe("the layer contract's version", () => {
  const schema = z.object({ n: z.number() }).strict();

  it("defineLayer refuses a definition without a specificationVersion, or of another one", () => {
    const missing = pluginError(() => defineLayer({ kind: "example.old", schema } as never));
    expect(missing.field).toBe("specificationVersion");
    expect(missing.message).toBe('Cannot define layer kind "example.old": it states no specificationVersion; this @imagespec/core implements "v1"');
    expect(missing.hint).toContain('specificationVersion: "v1"');
    expect(pluginError(() => defineLayer({ specificationVersion: "v0", kind: "example.other", schema } as never)).value).toBe("v0");
  });

  it("withLayer refuses a definition of another version, however it was made", () => {
    const made = defineLayer({ specificationVersion: "v1", kind: "example.ok", schema });
    expect(Image.fromBase("debian:bookworm").withLayer(made, { n: 1 }).layers).toEqual([{ kind: "example.ok", n: 1 }]);
    const future = { ...made, specificationVersion: "v2" } as never;
    const error = pluginError(() => Image.fromBase("debian:bookworm").withLayer(future, { n: 1 }));
    expect(error.message).toBe('Cannot add a example.ok layer: it is written for specificationVersion "v2", and this @imagespec/core implements "v1"');
  });
});
