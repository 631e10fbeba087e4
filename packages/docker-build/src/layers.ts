/**
 * One renderer per core layer kind. They use the same DockerRenderContext that layer packages get (plus the render
 * state for what only core kinds do: conda, the entrypoint, runtime packages), so every value is quoted by core.
 */

import { stat } from "node:fs/promises";
import path from "node:path";
import {
  type BuiltinLayerKind,
  type DockerRenderContext,
  ImageSpecError,
  isFolderDestination,
  type Layer,
  type PipOptions,
  relativePathHint,
  type SecretMount,
  type SshMount,
  shellJoin,
  shellQuote,
} from "@imagespec/core/authoring";
import { PIP_CACHE_DIR, type RenderState } from "./render-context.js";

type CoreRenderer = (layer: Layer, ctx: DockerRenderContext, state: RenderState) => string[] | Promise<string[]>;

interface PipFields {
  readonly indexUrl?: string;
  readonly extraIndexUrls?: readonly string[];
  readonly pre?: boolean;
  readonly extraArgs?: readonly string[];
  readonly secretMounts?: readonly SecretMount[];
  readonly sshMounts?: readonly SshMount[];
}

const sorted = (list: readonly string[]) => [...list].sort();

/** `pip install` into the image's Python environment, with pip's cache on a cache mount (never in the image). */
function pipInstall(ctx: DockerRenderContext, options: PipFields, args: readonly string[], extraMounts: readonly string[], description: string): string {
  const python = ctx.python();
  const argv = [...python.pip, "install", "--disable-pip-version-check", "--no-input", "--cache-dir", PIP_CACHE_DIR];
  if (options.indexUrl !== undefined) argv.push("--index-url", options.indexUrl);
  for (const url of options.extraIndexUrls ?? []) argv.push("--extra-index-url", url);
  if (options.pre) argv.push("--pre");
  argv.push(...(options.extraArgs ?? []), ...args);
  return ctx.run(shellJoin(argv), {
    mounts: [ctx.cacheMount(PIP_CACHE_DIR, { id: "imagespec-pip" }), ...extraMounts],
    secrets: options.secretMounts ?? [],
    ssh: options.sshMounts ?? [],
    description,
  });
}

/** COPY treats `*`, `?`, `[` and `\` in a source as a pattern. */
const GLOB_CHARACTERS = /[*?[\\]/;

async function copyEntry(
  ctx: DockerRenderContext,
  state: RenderState,
  src: string,
  dst: string,
  type: "file" | "folder" | "auto",
  select: "all" | "tracked",
): Promise<string[]> {
  const description = `copy ${src} to ${dst}`;
  let kind = type;
  if (kind === "auto") {
    const abs = path.resolve(ctx.image.root, src);
    const info = await stat(abs).catch(() => undefined);
    if (!info) {
      throw new ImageSpecError("FILE_NOT_FOUND", `Cannot copy ${JSON.stringify(src)} into the image: ${abs} does not exist`, {
        field: `layers[${ctx.layerIndex}].src`,
        value: src,
        hint: relativePathHint(ctx.image.root),
      });
    }
    kind = info.isDirectory() ? "folder" : "file";
  }
  if (kind === "folder") return [state.describe(ctx.copy(`${ctx.addFolder(src, { select })}/`, dst), description)];
  const name = path.posix.basename(src);
  if (isFolderDestination(dst)) {
    // Copy the folder holding the one file: the file keeps its exact name, whatever characters it has.
    const file = ctx.addFile(src);
    return [state.describe(ctx.copy(`${path.posix.dirname(file)}/`, dst), description)];
  }
  const file = ctx.addFile(src, GLOB_CHARACTERS.test(name) ? { name: "file" } : {});
  return [state.describe(ctx.copy(file, dst), description)];
}

export const coreRenderers: Record<BuiltinLayerKind, CoreRenderer> = {
  aptPackages(layer, ctx) {
    const packages = sorted(layer.packages as string[]);
    const script = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends ${shellJoin(packages)} && rm -rf /var/lib/apt/lists/*`;
    return [
      ctx.run(script, {
        mounts: [ctx.cacheMount("/var/cache/apt", { id: "imagespec-apt" })],
        secrets: (layer.secretMounts as SecretMount[] | undefined) ?? [],
        description: `apt-get install ${shellJoin(packages)}`,
      }),
    ];
  },

  condaPackages(layer, _ctx, state) {
    return state.condaInstructions(sorted(layer.packages as string[]), layer.channels as string[] | undefined);
  },

  cuda(_layer, ctx) {
    // The NVIDIA base was chosen for FROM; here the image's Python comes in (a conda environment).
    ctx.python();
    return [];
  },

  pipPackages(layer, ctx) {
    const packages = sorted(layer.packages as string[]);
    return [pipInstall(ctx, layer as PipOptions as PipFields, packages, [], `pip install ${shellJoin(packages)}`)];
  },

  requirements(layer, ctx) {
    const file = ctx.addFile(layer.file as string, { name: "requirements.txt" });
    const target = `/tmp/imagespec/requirements-${ctx.layerIndex}.txt`;
    return [pipInstall(ctx, layer as PipFields, ["--requirement", target], [ctx.bindMount(file, target)], `pip install --requirement ${layer.file as string}`)];
  },

  copy(layer, ctx, state) {
    return copyEntry(ctx, state, layer.src as string, layer.dst as string, layer.type as "file" | "folder" | "auto", "all");
  },

  codeBundle(layer, ctx, state) {
    return copyEntry(ctx, state, layer.src as string, layer.dst as string, "folder", layer.select as "all" | "tracked");
  },

  dockerignore() {
    // Its patterns apply to every folder the image copies (see the context), exactly as in the tag.
    return [];
  },

  env(layer, ctx) {
    return [...ctx.env(layer.vars as Record<string, string>)];
  },

  workdir(layer, ctx, state) {
    return [state.describe(`WORKDIR ${ctx.quote.dockerfileWord(layer.path as string)}`, `set the working directory to ${layer.path as string}`)];
  },

  commands(layer, ctx) {
    const secrets = (layer.secretMounts as SecretMount[] | undefined) ?? [];
    const ssh = (layer.sshMounts as SshMount[] | undefined) ?? [];
    return (layer.commands as string[]).map((command) => ctx.run(command, { secrets, ssh, description: command }));
  },

  entrypoint(layer, ctx, state) {
    const command = layer.command as string[];
    state.entrypoint = command;
    state.cmd = []; // Docker's rule: an ENTRYPOINT clears the inherited CMD
    state.entrypointSetHere = true;
    // With runtime packages the wrapper comes first; the final ENTRYPOINT is written at the end of the image.
    if (state.hasRuntimePackages) return [];
    return [`ENTRYPOINT ${ctx.quote.dockerfileJsonArray(command)}`];
  },

  runtimePackages(layer, ctx, state) {
    const python = ctx.python();
    state.runtimePackages.push(...(layer.packages as string[]));
    const check = `${shellJoin(python.pip)} --version >/dev/null 2>&1 || { echo ${shellQuote(
      `imagespec: runtime packages are installed with pip when the container starts, but ${python.python} has no pip; install pip in the image (e.g. python3-pip, or a pipPackages layer) or drop runtimePackages`,
    )} >&2; exit 1; }`;
    return [ctx.run(check, { description: `check that pip is present for the runtime packages ${shellJoin(layer.packages as string[])}` })];
  },
};

/** The wrapper that installs runtime packages when the container starts, then runs the command. */
export function runtimeWrapper(python: string, packages: readonly string[]): string {
  return [
    "#!/bin/sh",
    "# Written by imagespec: installs this image's runtime packages when the container starts, then runs the command.",
    "# Set IMAGESPEC_SKIP_RUNTIME_PACKAGES=true to skip the install.",
    "set -e",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'if [ "${IMAGESPEC_SKIP_RUNTIME_PACKAGES:-}" != "true" ]; then',
    `  ${shellJoin([python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--no-cache-dir", ...sorted([...new Set(packages)])])} >&2`,
    "fi",
    'exec "$@"',
    "",
  ].join("\n");
}
