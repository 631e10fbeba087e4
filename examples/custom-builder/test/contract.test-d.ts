/**
 * The authoring contracts reject incomplete builders, layer kinds and plugins at compile time. Run by `vitest --typecheck`
 * (this package's `test`) and by `tsc` (its `typecheck`): each `@ts-expect-error` fails the run if the line compiles.
 */

import { type BuilderFactory, defineLayer, definePlugin, type DockerLayerRenderer, type ImageBuilder, type LayerDefinition } from "@imagespec/core/authoring";
import { assertType, test } from "vitest";
import { z } from "zod";

const schema = z.object({ name: z.string() }).strict();

test("a builder needs type, supports and build", () => {
  const complete: ImageBuilder = { type: "mine", supports: () => true, build: async () => ({ uri: "x", pushed: false }) };
  assertType<ImageBuilder>(complete);
  // @ts-expect-error no supports()
  assertType<ImageBuilder>({ type: "mine", build: async () => ({ uri: "x", pushed: false }) });
  // @ts-expect-error no build()
  assertType<ImageBuilder>({ type: "mine", supports: () => true });
  // @ts-expect-error supports() answers true or a reason, not false
  assertType<ImageBuilder>({ type: "mine", supports: () => false, build: async () => ({ uri: "x", pushed: false }) });
  // @ts-expect-error a factory needs create()
  assertType<BuilderFactory>({ type: "mine", priority: 1 });
});

test("a plugin and a layer kind state the contract version", () => {
  definePlugin({ specificationVersion: "v1", name: "mine" });
  // @ts-expect-error no specificationVersion
  definePlugin({ name: "mine" });
  // @ts-expect-error a version this core does not implement
  definePlugin({ specificationVersion: "v2", name: "mine" });
  // @ts-expect-error plugins list no layer kinds
  definePlugin({ specificationVersion: "v1", name: "mine", layers: [] });

  const layer = defineLayer({ specificationVersion: "v1", kind: "mine.thing", schema });
  assertType<LayerDefinition<"mine.thing", { name: string }>>(layer);
  // @ts-expect-error no specificationVersion
  defineLayer({ kind: "mine.thing", schema });
  // @ts-expect-error no schema
  defineLayer({ specificationVersion: "v1", kind: "mine.thing" });
});

test("renderers are typed by builder type, with the layer's own fields", () => {
  const docker: DockerLayerRenderer<{ name: string }> = (layer, ctx) => [ctx.run(`echo ${ctx.quote.shellQuote(layer.name)}`)];
  defineLayer({ specificationVersion: "v1", kind: "mine.thing", schema, renderers: { docker } });
  defineLayer({
    specificationVersion: "v1",
    kind: "mine.thing",
    schema,
    renderers: {
      // @ts-expect-error the layer has no field `missing`
      envd: (fields) => ({ stage: "run", statements: [fields.missing] }),
    },
  });
  // @ts-expect-error a Docker renderer returns instructions, not one string
  defineLayer({ specificationVersion: "v1", kind: "mine.thing", schema, renderers: { docker: () => "RUN true" } });
  // @ts-expect-error no builder type `dokcer` (a builder adds its own key by augmenting LayerRenderers)
  defineLayer({ specificationVersion: "v1", kind: "mine.thing", schema, renderers: { dokcer: docker } });
});
