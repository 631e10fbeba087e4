// imagespec-builder-export: writes each image's Dockerfile and image.json to `<outDir>/<repository>/<tag>/` for another system to build.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Image } from "@imagespec/core";
import type { BuiltinLayerKind, builtinLayers, ImageBuilder, ImageIdentity, Layer, LayerDefinition } from "@imagespec/core/authoring";
import { builtinKindOf, dockerfileImageReference, dockerfileJsonArray, dockerfileWord, errorMessage } from "@imagespec/core/authoring";
import { IMAGE_ID_ENV, ImageSpecError, layerDefinition, layerFields, shellJoin } from "@imagespec/core/authoring";
// A layer package renders its own kinds for this builder with `renderers.export`, typed with its fields as for docker.
declare module "@imagespec/core/authoring" {
  interface LayerRenderers<Fields extends object> {
    export?(fields: Readonly<Fields>): Rendering;
  }
}
type Rendering = readonly string[] | string; // Dockerfile lines, or why the layer cannot be exported
type Fields<K extends BuiltinLayerKind> = (typeof builtinLayers)[K] extends LayerDefinition<string, infer F> ? F : never;
const run = (command: string) => `RUN ${dockerfileJsonArray(["/bin/sh", "-c", command])}`;
// The core kinds this example exports, each typed with its own fields. Every other kind is refused by name in supports().
const CORE_KINDS: { [K in BuiltinLayerKind]?: (fields: Fields<K>) => Rendering } = {
  aptPackages: (f) => [run(`apt-get update && apt-get install -y --no-install-recommends ${shellJoin(f.packages)} && rm -rf /var/lib/apt/lists/*`)],
  env: (f) => Object.entries(f.vars).map(([name, value]) => `ENV ${name}=${dockerfileWord(value)}`),
  workdir: (f) => [`WORKDIR ${dockerfileWord(f.path)}`],
  commands: (f) => f.commands.map(run),
  entrypoint: (f) => [`ENTRYPOINT ${dockerfileJsonArray(f.command)}`],
};
function renderLayer(layer: Layer): Rendering {
  const fields = layerFields(layer);
  const mounts = [fields.secretMounts, fields.sshMounts].flat().filter(Boolean) as { id: string }[];
  if (mounts.length > 0) return `needs build secrets (${mounts.map((m) => m.id).join(", ")}), which an exported Dockerfile cannot carry`;
  const kind = builtinKindOf(layer);
  if (!kind) return layerDefinition(layer).renderers?.export?.(fields) ?? "a layer kind with no renderer for the export builder";
  const render = CORE_KINDS[kind] as ((fields: object) => Rendering) | undefined; // the table typed each entry
  return render ? render(fields) : `not supported by this example builder (it exports ${Object.keys(CORE_KINDS).join(", ")})`;
}
/** The Dockerfile, and every reason the image cannot be exported (none: it can). */
export function renderDockerfile(image: Image, identity?: ImageIdentity, baseUri = "base") {
  const lines = [`FROM ${image.base.type === "dockerfile" ? "scratch" : dockerfileImageReference(image.base.type === "image" ? baseUri : image.base.uri)}`];
  const refusals = image.base.type === "dockerfile" ? ["the image is built from a Dockerfile of its own; build that one directly"] : [];
  for (const [i, layer] of image.layers.entries()) {
    try {
      const rendering = renderLayer(layer);
      if (typeof rendering === "string") refusals.push(`layers[${i}] (${layer.kind}): ${rendering}`);
      else if (rendering.some((line) => /[\r\n]/.test(line))) refusals.push(`layers[${i}] (${layer.kind}): a rendered line has a newline`);
      else lines.push(...rendering);
    } catch (error) {
      refusals.push(`layers[${i}] (${layer.kind}): ${errorMessage(error)}`); // core's quoting throws on what it cannot write
    }
  }
  lines.push(`ENV ${IMAGE_ID_ENV}=${dockerfileWord(identity?.id ?? image.id)}`); // last, so no ENV of the image replaces it
  return { dockerfile: `${lines.join("\n")}\n`, refusals };
}
/** Where the export of `uri` goes: `<outDir>/<repository path>/<tag>`. */
export const exportFolder = (outDir: string, uri: string) => path.join(path.resolve(outDir), ...uri.replace(/:([^:/]+)$/, "/$1").split("/"));
function outDirOf({ outDir = "imagespec-export" }: Readonly<Record<string, unknown>>): string {
  if (typeof outDir === "string" && outDir.trim() !== "") return outDir;
  const message = `Cannot configure the export builder: outDir = ${JSON.stringify(outDir)}: expected a folder path`;
  throw new ImageSpecError("CONFIG_ERROR", message, { field: "builders.export.outDir", value: outDir });
}
export function createExportBuilder(): ImageBuilder {
  const rendered = async (image: Image, identity: ImageIdentity, baseUri: string | undefined) => {
    const result = renderDockerfile(image, identity, baseUri ?? (image.base.type === "image" ? await image.base.image.uri() : undefined));
    if (result.refusals.length === 0) return result.dockerfile;
    const hint = "Use another builder for this image.";
    throw new ImageSpecError("NO_BUILDER", `Cannot export ${image.name}: ${result.refusals.join("; ")}`, { field: "builder", value: "export", hint });
  };
  return {
    type: "export",
    supports: (image) => renderDockerfile(image).refusals.join("; ") || true, // true, or every reason at once; never throws
    render: async (image, { identity, baseUri }) => ({ filename: "Dockerfile", content: await rendered(image, identity, baseUri) }),
    exists: async (uri, { config }) => ({ status: existsSync(path.join(exportFolder(outDirOf(config), uri), "image.json")) ? "present" : "absent" }), // written last
    async build(image, context) {
      const { identity, uri, config, push, signal } = context;
      if (signal.aborted) throw new ImageSpecError("CANCELLED", `Cannot export ${image.name}: cancelled`);
      const [outDir, folder] = [outDirOf(config), exportFolder(outDirOf(config), uri)];
      context.report({ type: "step", id: "export", name: `export to ${folder}`, status: "started" });
      const dockerfile = await rendered(image, identity, context.baseUri);
      try {
        await mkdir(folder, { recursive: true });
      } catch (error) {
        const message = `Cannot export ${image.name} to ${outDir}: ${errorMessage(error)}`;
        throw new ImageSpecError("ENVIRONMENT", message, { field: "builders.export.outDir", value: outDir, hint: "Point it at a folder you can write to." });
      }
      await writeFile(path.join(folder, "Dockerfile"), dockerfile);
      const record = { uri, id: identity.id, tag: identity.tag, platforms: image.platforms, push };
      await writeFile(path.join(folder, "image.json"), `${JSON.stringify(record, null, 2)}\n`);
      context.report({ type: "step", id: "export", name: `export to ${folder}`, status: "done" });
      return { uri, pushed: false, engine: `export:${path.resolve(outDir)}` };
    },
  };
}
