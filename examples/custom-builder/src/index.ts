// imagespec-builder-export: writes each image's Dockerfile, context and image.json to `<outDir>/<repository>/<tag>/` for another system to build.
import { createWriteStream } from "node:fs";
import { access, chmod, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Image } from "@imagespec/core";
import {
  type BuiltinLayerKind,
  builtinKindOf,
  type builtinLayers,
  dockerfileImageReference,
  dockerfileJsonArray,
  dockerfileWord,
  errorMessage,
  hashedInput,
  IMAGE_ID_ENV,
  type ImageBuilder,
  type ImageIdentity,
  ImageSpecError,
  type LayerDefinition,
  layerDefinition,
  layerFields,
  readHashedFile,
  shellJoin,
} from "@imagespec/core/authoring";
// A layer package renders its own kinds for this builder with `renderers.export`, typed with its fields as for docker.
declare module "@imagespec/core/authoring" {
  interface LayerRenderers<Fields extends object> {
    export?(fields: Readonly<Fields>): Rendering;
  }
}
type Rendering = readonly string[] | string; // Dockerfile lines, or why the layer cannot be exported
type Fields<K extends BuiltinLayerKind> = (typeof builtinLayers)[K] extends LayerDefinition<string, infer F> ? F : never;
interface Step {
  python: string;
  send(source: string, type: "file" | "folder" | "auto", select?: "all" | "tracked"): string;
} // send: into the context
const run = (command: string) => `RUN ${dockerfileJsonArray(["/bin/sh", "-c", command])}`;
const copy = (from: string, to: string) => `COPY ${dockerfileJsonArray([from, to].map((v) => (/[\\"'$\s]/.test(v) ? dockerfileWord(v) : v)))}`; // COPY expands $ and quotes even here
const CORE_KINDS: { [K in BuiltinLayerKind]: (fields: Fields<K>, step: Step) => Rendering } = {
  // all of core's kinds: a new one will not compile until handled
  aptPackages: (f) => [run(`apt-get update && apt-get install -y --no-install-recommends ${shellJoin(f.packages)} && rm -rf /var/lib/apt/lists/*`)],
  pipPackages: (f, s) =>
    f.indexUrl || f.extraIndexUrls || f.pre || f.extraArgs
      ? "pip options are not handled"
      : [run(shellJoin([s.python, "-m", "pip", "install", "--no-cache-dir", ...f.packages]))],
  copy: (f, s) => [copy(s.send(f.src, f.type), f.dst)],
  codeBundle: (f, s) => [copy(s.send(f.src, "folder", f.select), f.dst)],
  dockerignore: () => [], // already applied: what it ignores is neither hashed nor exported
  env: (f) => Object.entries(f.vars).map(([name, value]) => `ENV ${name}=${dockerfileWord(value)}`),
  workdir: (f) => [`WORKDIR ${dockerfileWord(f.path)}`],
  commands: (f) => f.commands.map(run),
  entrypoint: (f) => [`ENTRYPOINT ${dockerfileJsonArray(f.command)}`],
  requirements: () => "not handled by this example",
  condaPackages: () => "not handled by this example",
  cuda: () => "not handled by this example",
  runtimePackages: () => "not handled by this example",
};
/** The Dockerfile, the files its context holds, and every reason the image cannot be exported (none: it can). */
export function renderDockerfile(image: Image, identity?: ImageIdentity, baseUri = "base") {
  const lines = [`FROM ${image.base.type === "dockerfile" ? "scratch" : dockerfileImageReference(image.base.type === "image" ? baseUri : image.base.uri)}`];
  const refusals = image.base.type === "dockerfile" ? ["the image is built from a Dockerfile of its own; build that one directly"] : [];
  const files: { source: string; type: "file" | "folder"; select?: "all" | "tracked"; target: string }[] = [];
  for (const [i, layer] of image.layers.entries()) {
    const send: Step["send"] = (source, type, select) => {
      const resolved = type === "auto" ? (identity ? hashedInput(image, identity, source).type : "folder") : type; // "auto": what was hashed
      const target = resolved === "file" ? `files/${i}/${path.posix.basename(source)}` : `files/${i}`; // COPY copies a folder's contents, or the file
      files.push({ source, type: resolved, select, target });
      return target;
    };
    try {
      const fields = layerFields(layer);
      const mounts = [fields.secretMounts, fields.sshMounts].flat().filter(Boolean) as { id: string }[];
      const rendering =
        mounts.length > 0
          ? `needs build secrets (${mounts.map((m) => m.id).join(", ")}), which an exported context cannot carry`
          : builtinKindOf(layer)
            ? (CORE_KINDS[builtinKindOf(layer)!] as (fields: object, step: Step) => Rendering)(fields, { python: image.pythonExec ?? "python3", send })
            : (layerDefinition(layer).renderers?.export?.(fields) ?? "a layer kind with no renderer for the export builder");
      if (typeof rendering === "string" || rendering.some((line) => /[\r\n]/.test(line)))
        refusals.push(`layers[${i}] (${layer.kind}): ${typeof rendering === "string" ? rendering : "a rendered line has a newline"}`);
      else lines.push(...rendering);
    } catch (error) {
      refusals.push(`layers[${i}] (${layer.kind}): ${errorMessage(error)}`);
    } // core's quoting throws on what it cannot write
  }
  lines.push(`ENV ${IMAGE_ID_ENV}=${dockerfileWord(identity?.id ?? image.id)}`); // last, so no ENV of the image replaces it
  return { dockerfile: `${lines.join("\n")}\n`, files, refusals };
}
/** Where the export of `uri` goes: `<outDir>/<repository path>/<tag>`. */
export const exportFolder = (outDir: string, uri: string) => path.join(path.resolve(outDir), ...uri.replace(/:([^:/]+)$/, "/$1").split("/"));
const outDirOf = ({ outDir = "imagespec-export" }: Readonly<Record<string, unknown>>): string => {
  if (typeof outDir === "string" && outDir.trim() !== "") return outDir;
  else
    throw new ImageSpecError("CONFIG_ERROR", `Cannot configure the export builder: outDir = ${JSON.stringify(outDir)}: expected a folder path`, {
      field: "builders.export.outDir",
      value: outDir,
    });
};
export function createExportBuilder(): ImageBuilder {
  const rendered = async (image: Image, identity: ImageIdentity, baseUri: string | undefined) => {
    const result = renderDockerfile(image, identity, baseUri ?? (image.base.type === "image" ? await image.base.image.uri() : undefined));
    if (result.refusals.length === 0) return result;
    throw new ImageSpecError("NO_BUILDER", `Cannot export ${image.name}: ${result.refusals.join("; ")}`, {
      field: "builder",
      value: "export",
      hint: "Use another builder for this image.",
    });
  };
  return {
    type: "export",
    supports: (image) => renderDockerfile(image).refusals.join("; ") || true, // true, or every reason at once; never throws
    render: async (image, { identity, baseUri }) => ({ filename: "Dockerfile", content: (await rendered(image, identity, baseUri)).dockerfile }),
    exists: async (uri, { config }) => ({
      status: await access(path.join(exportFolder(outDirOf(config), uri), "image.json")).then(
        () => "present" as const,
        () => "absent" as const,
      ),
    }), // so the engine skips it
    async build(image, context) {
      const { identity, uri, config, push, signal } = context;
      const cancelled = () => new ImageSpecError("CANCELLED", `Cannot export ${image.name}: cancelled`);
      if (signal.aborted) throw cancelled();
      const [outDir, folder] = [outDirOf(config), exportFolder(outDirOf(config), uri)];
      context.report({ type: "step", id: "export", name: `export to ${folder}`, status: "started" });
      const { dockerfile, files } = await rendered(image, identity, context.baseUri);
      await rm(folder, { recursive: true, force: true })
        .then(() => mkdir(folder, { recursive: true }))
        .catch((error) => {
          throw new ImageSpecError("ENVIRONMENT", `Cannot export ${image.name} to ${outDir}: ${errorMessage(error)}`, {
            field: "builders.export.outDir",
            value: outDir,
            hint: "Point it at a folder you can write to.",
          });
        });
      await writeFile(path.join(folder, "Dockerfile"), dockerfile);
      // Ship exactly what the tag was computed from: the entries the identity recorded, each file read through readHashedFile.
      for (const file of files) {
        const { absolutePath, entries } = hashedInput(image, identity, file.source, file);
        if (file.type === "folder") await mkdir(path.join(folder, file.target), { recursive: true }); // even if all is ignored
        for (const entry of entries) {
          if (signal.aborted) throw cancelled();
          const to = path.join(folder, file.target, entry.path);
          await mkdir(entry.type === "dir" ? to : path.dirname(to), { recursive: true });
          if (entry.type === "symlink") await symlink(entry.target!, to);
          else if (entry.type === "file")
            await pipeline(
              readHashedFile(path.join(absolutePath, entry.path), { digest: entry.digest!, size: entry.size! }, { follow: entry.path === "." }),
              createWriteStream(to),
            ).then(() => chmod(to, entry.mode));
        }
      }
      await writeFile(
        path.join(folder, "image.json"),
        `${JSON.stringify({ uri, id: identity.id, tag: identity.tag, platforms: image.platforms, push }, null, 2)}\n`,
      );
      context.report({ type: "step", id: "export", name: `export to ${folder}`, status: "done" });
      return { uri, pushed: false, engine: `export:${path.resolve(outDir)}` };
    },
  };
}
