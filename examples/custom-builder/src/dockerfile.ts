/**
 * The export builder's own Dockerfile renderer. A builder never depends on another builder package, so this is
 * written here, against @imagespec/core only: every value goes through core's quoting functions, and whatever
 * this renderer cannot write faithfully is refused by name.
 */

import path from "node:path";
import type { Image } from "@imagespec/core";
import { dockerfileJsonArray, dockerfileWord, fitsDockerfileWord, IMAGE_ID_ENV, layerDefinition, layerFields, shellJoin } from "@imagespec/core/authoring";

/** A file or folder the exported context holds: the identity input it comes from and where it goes. */
export interface ExportInput {
  /** Identity input name, e.g. `layers[2].copy.src`: its recorded entries are what is exported. */
  readonly input: string;
  /** Relative to the image root. */
  readonly source: string;
  /** POSIX path inside the exported context. */
  readonly target: string;
}

export interface RenderedExport {
  readonly dockerfile: string;
  readonly inputs: readonly ExportInput[];
}

/** A layer package can render its kinds for this builder with `renderers.export`: Dockerfile lines, or a refusal. */
export type ExportLayerRenderer<Fields extends object = Record<string, unknown>> = (fields: Readonly<Fields>) => readonly string[] | string;

// Declares the `export` key of a layer definition's renderers, typed with the layer's fields, as docker and envd are.
declare module "@imagespec/core/authoring" {
  interface LayerRenderers<Fields extends object> {
    export?(fields: Readonly<Fields>): readonly string[] | string;
  }
}

const REFERENCE = /^[a-z0-9][a-z0-9._:/@-]*$/i;

export interface RenderOptions {
  /** The image's definition id, carried as IMAGESPEC_IMAGE_ID. */
  readonly id: string;
  /** The base reference (for a base that is another Image: its URI). */
  readonly baseUri: string;
  /** Whether a copied path is a file or a folder (copies from an ImageSpec say `auto`). */
  readonly typeOf: (input: string, source: string) => "file" | "folder";
}

export function renderDockerfile(image: Image, options: RenderOptions): RenderedExport | { readonly refusals: readonly string[] } {
  const refusals: string[] = [];
  const lines: string[] = ["# syntax=docker/dockerfile:1", `# Exported by imagespec-builder-export.`];
  const inputs: ExportInput[] = [];

  if (image.base.type === "dockerfile") refusals.push(`the image is built from its own Dockerfile (${image.base.dockerfile}); build that one directly`);
  else if (!REFERENCE.test(options.baseUri)) refusals.push(`the base ${JSON.stringify(options.baseUri)} is not a plain image reference`);
  lines.push(`FROM ${options.baseUri}`);

  const python = image.pythonExec ?? "python3";
  const secrets = (where: string, fields: Record<string, unknown>) => {
    const mounts = fields.secretMounts as readonly { id: string }[] | undefined;
    if (mounts?.length) refusals.push(`${where} needs build secrets (${mounts.map((m) => m.id).join(", ")}), which an exported context cannot carry`);
  };
  const pipFlags = (fields: Record<string, unknown>) => [
    ...(fields.indexUrl ? ["--index-url", String(fields.indexUrl)] : []),
    ...((fields.extraIndexUrls as readonly string[] | undefined) ?? []).flatMap((url) => ["--extra-index-url", url]),
    ...(fields.pre ? ["--pre"] : []),
    ...((fields.extraArgs as readonly string[] | undefined) ?? []),
  ];
  const run = (command: string) => lines.push(`RUN ${dockerfileJsonArray(["/bin/sh", "-c", command])}`);

  image.layers.forEach((layer, i) => {
    const where = `layers[${i}] (${layer.kind})`;
    const fields = layerFields(layer);
    switch (layer.kind) {
      case "aptPackages":
        secrets(where, fields);
        run(`apt-get update && apt-get install -y --no-install-recommends ${shellJoin(fields.packages as string[])} && rm -rf /var/lib/apt/lists/*`);
        return;
      case "pipPackages":
        secrets(where, fields);
        run(shellJoin([python, "-m", "pip", "install", "--no-cache-dir", ...pipFlags(fields), ...(fields.packages as string[])]));
        return;
      case "requirements": {
        secrets(where, fields);
        const target = `files/${i}/requirements.txt`;
        inputs.push({ input: `layers[${i}].requirements.file`, source: String(fields.file), target });
        lines.push(`COPY ${dockerfileJsonArray([target, `/tmp/imagespec/requirements-${i}.txt`])}`);
        run(shellJoin([python, "-m", "pip", "install", "--no-cache-dir", ...pipFlags(fields), "-r", `/tmp/imagespec/requirements-${i}.txt`]));
        return;
      }
      case "copy":
      case "codeBundle": {
        const input = `layers[${i}].${layer.kind}.src`;
        const source = String(fields.src);
        const type = layer.kind === "codeBundle" ? "folder" : fields.type === "auto" ? options.typeOf(input, source) : (fields.type as "file" | "folder");
        const target = type === "file" ? `files/${i}/${path.posix.basename(source)}` : `files/${i}`;
        inputs.push({ input, source, target });
        // COPY copies a folder's contents, or a file; the JSON form keeps spaces and quotes intact.
        lines.push(`COPY ${dockerfileJsonArray([target, String(fields.dst)])}`);
        return;
      }
      case "dockerignore":
        return; // applied when the context is exported: ignored files are neither hashed nor exported
      case "env": {
        for (const [name, value] of Object.entries(fields.vars as Record<string, string>)) {
          if (!fitsDockerfileWord(value)) refusals.push(`${where}: the value of ${name} has a newline, which a Dockerfile ENV cannot hold`);
          else lines.push(`ENV ${name}=${dockerfileWord(value)}`);
        }
        return;
      }
      case "workdir":
        if (!fitsDockerfileWord(String(fields.path))) refusals.push(`${where}: the path has a newline`);
        else lines.push(`WORKDIR ${dockerfileWord(String(fields.path))}`);
        return;
      case "commands":
        secrets(where, fields);
        for (const command of fields.commands as string[]) run(command);
        return;
      case "entrypoint":
        lines.push(`ENTRYPOINT ${dockerfileJsonArray(fields.command as string[])}`);
        return;
      case "condaPackages":
      case "cuda":
      case "runtimePackages":
        refusals.push(`${where}: this example builder does not handle ${layer.kind} layers`);
        return;
      default: {
        const renderers = layerDefinition(layer).renderers;
        if (typeof renderers?.export !== "function") {
          refusals.push(`${where} is a layer kind with no renderer for the export builder`);
          return;
        }
        const rendered = renderers.export(fields);
        if (typeof rendered === "string") refusals.push(`${where}: ${rendered}`);
        else if (rendered.some((line) => /[\r\n]/.test(line))) refusals.push(`${where}: its renderer returned a line with a newline`);
        else lines.push(...rendered);
      }
    }
  });

  // Last, so no ENV of the image can replace it.
  lines.push(`ENV ${IMAGE_ID_ENV}=${dockerfileWord(options.id)}`);
  if (refusals.length > 0) return { refusals };
  return { dockerfile: `${lines.join("\n")}\n`, inputs };
}
