/**
 * imagespec-builder-export: an example third-party builder. Instead of building, it writes each image's
 * Dockerfile, its build context and an image.json to `<outDir>/<repository>/<tag>/`, for another system (Kaniko,
 * a CI job, a remote BuildKit) to build. Written exactly like imagespec's own builders, against
 * @imagespec/core only, and checked by @imagespec/testing's conformance suite.
 */

import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { copyFile, mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Image } from "@imagespec/core";
import { type BuildContext, type BuildResult, errorMessage, type Existence, type ImageBuilder, type ImageIdentity, ImageSpecError, type RenderContext, type RenderedBuildFile } from "@imagespec/core/authoring";
import { type ExportInput, type RenderedExport, renderDockerfile } from "./dockerfile.js";

export { type ExportInput, type ExportLayerRenderer, type RenderedExport, type RenderOptions, renderDockerfile } from "./dockerfile.js";

export const EXPORT_BUILDER_TYPE = "export";

export interface ExportBuilderOptions {
  /** Where exports go. Default `imagespec-export` in the current directory; `builders.export.outDir` overrides it. */
  readonly outDir?: string;
}

/** The folder an image's export goes to: `<outDir>/<repository path>/<tag>`. */
export function exportFolder(outDir: string, uri: string): string {
  const colon = uri.lastIndexOf(":");
  const slash = uri.lastIndexOf("/");
  const [repository, tag] = colon > slash ? [uri.slice(0, colon), uri.slice(colon + 1)] : [uri, "latest"];
  return path.join(path.resolve(outDir), ...repository.split("/"), tag);
}

export function createExportBuilder(options: ExportBuilderOptions = {}): ImageBuilder {
  const baseOf = (image: Image, baseUri: string | undefined) => (image.base.type === "image" ? (baseUri ?? "base") : image.base.type === "dockerfile" ? "" : image.base.uri);

  const compile = (image: Image, id: string, baseUri: string | undefined, identity: ImageIdentity | undefined) =>
    renderDockerfile(image, {
      id,
      baseUri: baseOf(image, baseUri),
      typeOf: (input, source) => {
        const entries = identity?.inputs.find((i) => i.name === input)?.files;
        if (entries) return entries.length === 1 && entries[0]!.path === "." && entries[0]!.type === "file" ? "file" : "folder";
        try {
          return statSync(path.resolve(image.root, source)).isFile() ? "file" : "folder";
        } catch {
          return "folder";
        }
      },
    });

  const rendered = async (image: Image, identity: ImageIdentity, baseUri: string | undefined, action: string): Promise<RenderedExport> => {
    const base = image.base.type === "image" ? (baseUri ?? (await image.base.image.uri())) : baseUri;
    const result = compile(image, identity.id, base, identity);
    if ("refusals" in result) {
      throw new ImageSpecError("NO_BUILDER", `Cannot ${action} ${image.name} with the export builder: ${result.refusals.join("; ")}`, {
        field: "builder",
        value: EXPORT_BUILDER_TYPE,
        hint: "Use another builder for this image, or drop what the export builder refuses.",
      });
    }
    return result;
  };

  return {
    type: EXPORT_BUILDER_TYPE,

    supports(image: Image): true | string {
      const result = compile(image, image.id, undefined, undefined);
      return "refusals" in result ? result.refusals.join("; ") : true;
    },

    async render(image: Image, context: RenderContext): Promise<RenderedBuildFile> {
      const { dockerfile } = await rendered(image, context.identity, context.baseUri, "render a Dockerfile for");
      return { filename: "Dockerfile", content: dockerfile };
    },

    /** A local image "exists" once it has been exported: the engine then skips it, as it skips a pushed tag. */
    async exists(uri: string, context: { readonly config: Readonly<Record<string, unknown>> }): Promise<Existence> {
      return existsSync(path.join(exportFolder(outDirOf(context.config, options), uri), "image.json")) ? { status: "present" } : { status: "absent" };
    },

    async build(image: Image, context: BuildContext): Promise<BuildResult> {
      if (context.signal.aborted) throw cancelled(image);
      const outDir = outDirOf(context.config, options);
      const started = Date.now();
      context.report({ type: "step", id: "render", name: "render the Dockerfile", status: "started" });
      const { dockerfile, inputs } = await rendered(image, context.identity, context.baseUri, "export");
      context.report({ type: "step", id: "render", name: "render the Dockerfile", status: "done", durationMs: Date.now() - started });

      const destination = exportFolder(outDir, context.uri);
      // Written next to its destination and renamed into place: a reader never sees half an export.
      const staging = `${destination}.partial-${randomBytes(4).toString("hex")}`;
      try {
        await mkdir(staging, { recursive: true });
      } catch (error) {
        throw new ImageSpecError("ENVIRONMENT", `Cannot export ${image.name}: cannot write to ${outDir}: ${errorMessage(error)}`, {
          field: "builders.export.outDir",
          value: outDir,
          hint: "Point builders.export.outDir at a folder you can write to.",
        });
      }
      try {
        context.report({ type: "step", id: "context", name: "export the build context", status: "started" });
        await writeFile(path.join(staging, "Dockerfile"), dockerfile);
        for (const input of inputs) {
          if (context.signal.aborted) throw cancelled(image);
          await exportInput(image, context.identity, input, staging);
        }
        const record = { uri: context.uri, id: context.identity.id, tag: context.identity.tag, platforms: image.platforms, push: context.push };
        await writeFile(path.join(staging, "image.json"), `${JSON.stringify(record, null, 2)}\n`);
        if (context.signal.aborted) throw cancelled(image);
        await rm(destination, { recursive: true, force: true });
        await rename(staging, destination);
        context.report({ type: "step", id: "context", name: "export the build context", status: "done", durationMs: Date.now() - started });
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        throw error;
      }
      context.report({ type: "log", line: `export: ${context.uri} written to ${destination}` });
      if (context.push) context.report({ type: "warning", message: `the export builder does not push; build and push ${destination} with your own system` });
      return { uri: context.uri, pushed: false, engine: `export:${path.resolve(outDir)}` };
    },
  };
}

function outDirOf(config: Readonly<Record<string, unknown>>, options: ExportBuilderOptions): string {
  const outDir = config.outDir ?? options.outDir ?? "imagespec-export";
  if (typeof outDir !== "string" || outDir.trim() === "") {
    throw new ImageSpecError("CONFIG_ERROR", `Cannot configure the export builder: outDir = ${JSON.stringify(outDir)}: expected a folder path`, {
      field: "builders.export.outDir",
      value: outDir,
    });
  }
  return outDir;
}

/** Copies what the identity recorded for one input (ignore files applied), so what is exported is what was hashed. */
async function exportInput(image: Image, identity: ImageIdentity, input: ExportInput, into: string): Promise<void> {
  const entries = identity.inputs.find((i) => i.name === input.input)?.files ?? [];
  const from = path.resolve(image.root, input.source);
  const to = path.join(into, ...input.target.split("/"));
  if (entries.length === 1 && entries[0]!.path === "." && entries[0]!.type === "file") {
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(from, to);
    return;
  }
  await mkdir(to, { recursive: true });
  for (const entry of entries) {
    const target = path.join(to, ...entry.path.split("/"));
    if (entry.type === "dir") await mkdir(target, { recursive: true });
    else {
      await mkdir(path.dirname(target), { recursive: true });
      if (entry.type === "symlink") await symlink(entry.target!, target);
      else await copyFile(path.join(from, ...entry.path.split("/")), target);
    }
  }
}

function cancelled(image: Image): ImageSpecError {
  return new ImageSpecError("CANCELLED", `Cannot export ${image.name}: cancelled`);
}
