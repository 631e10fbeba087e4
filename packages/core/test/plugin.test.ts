import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineLayer, definePlugin, ImageBuildEngine, type ImageSpecError, isImageSpecError, isPlugin } from "../src/index.js";

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
    const layer = defineLayer({ kind: "example.thing", schema: z.object({}).strict() });
    const plugin = definePlugin({
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
      layers: [layer],
    });
    expect(isPlugin(plugin)).toBe(true);
    expect(Object.isFrozen(plugin)).toBe(true);
    expect(Object.isFrozen(plugin.builders)).toBe(true);
    expect(plugin.layers).toEqual([layer]);
    expect(created).toBe(0);
    expect(new ImageBuildEngine({ env: {} }).builders()).toEqual([]);
  });

  it("defaults to no builders and no layers", () => {
    expect(definePlugin({ name: "empty" })).toMatchObject({ name: "empty", builders: [], layers: [] });
  });

  it("refuses malformed plugins, naming the field", () => {
    const make = (create: unknown, rest: Record<string, unknown> = {}) => () => definePlugin({ name: "bad", builders: [{ type: "mine", priority: 1, create, ...rest } as never] });
    expect(pluginError(() => definePlugin({} as never)).field).toBe("name");
    expect(pluginError(make(() => builder, { type: "Not OK" })).field).toBe("builders[0].type");
    expect(pluginError(make(undefined)).field).toBe("builders[0].create");
    expect(pluginError(make(() => builder, { priority: "high" })).field).toBe("builders[0].priority");
    expect(pluginError(make(() => builder, { priority: Number.NaN })).field).toBe("builders[0].priority");
    const twice = pluginError(() =>
      definePlugin({
        name: "twice",
        builders: [
          { type: "mine", priority: 1, create: () => builder },
          { type: "mine", priority: 2, create: () => builder },
        ],
      }),
    );
    expect(twice.message).toBe('Cannot define plugin "twice": builder type mine is listed twice');
    expect(pluginError(() => definePlugin({ name: "layers", layers: [{ kind: "x" } as never] })).field).toBe("layers[0]");
  });

  it("is recognised from another copy of core (the built one), but look-alikes are not plugins", async () => {
    // By URL, so type-checking does not need the build; the tests run after it.
    const dist = (await import(new URL("../dist/index.js", import.meta.url).href)) as typeof import("../src/index.js");
    expect(isPlugin(dist.definePlugin({ name: "from-dist" }))).toBe(true);
    expect(dist.isPlugin(definePlugin({ name: "from-src" }))).toBe(true);
    expect(isPlugin({ name: "fake", builders: [], layers: [] })).toBe(false);
    expect(isPlugin(null)).toBe(false);
  });
});
