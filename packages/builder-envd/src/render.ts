/**
 * build.envd (envd's Starlark, `# syntax=v1`) from a layered Image.
 *
 * Every value is written with core's `starlarkString`. Values envd later splits with its shell-word lexer or hands
 * to `bash -c` (package names, channels, apt names, commands) are first made safe for that with `shellQuote`, or
 * refused when no quoting survives envd's own wrapping. What envd cannot express is refused by name, never dropped.
 *
 * envd does not run steps in the order they are written: it always installs system packages, then Python and
 * its packages (pip names, then the requirements file, then conda), then copies files, then runs commands. An
 * image whose layers ask for another order is refused rather than silently reordered.
 */

import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  type EnvdLayerRendering,
  type EnvdStage,
  IMAGE_ID_ENV,
  isInstallerVariable,
  type Layer,
  layerDefinition,
  layerFields,
  shellQuote,
  starlarkList,
  starlarkString,
} from "@imagespec/core/authoring";

export const ENVD_FILENAME = "build.envd";

/** A file or folder the build context holds, taken from the image root. */
export interface ContextInput {
  /** The identity input it comes from, e.g. `layers[3].copy.src`: its selected entries are what is shipped. */
  readonly input: string;
  /** Path relative to the image root. */
  readonly source: string;
  /** POSIX path inside the build context. */
  readonly target: string;
}

export interface EnvdRendering {
  readonly content: string;
  readonly inputs: readonly ContextInput[];
}

export interface CompileOptions {
  /** The base image reference (for a base that is another Image: that image's URI). */
  readonly baseUri: string;
  /** The image's definition id, carried as IMAGESPEC_IMAGE_ID. */
  readonly id: string;
  /** Whether a copy source whose type is `auto` is a file or a folder. */
  readonly typeOf: (input: string, source: string) => "file" | "folder";
}

type Stage = EnvdStage | "cuda";
const STAGE_RANK: Record<Stage, number> = { cuda: 0, system: 1, packages: 2, copy: 3, run: 4 };
const STAGE_WORDS: Record<Stage, string> = {
  cuda: "CUDA",
  system: "system packages",
  packages: "Python and conda packages",
  copy: "copied files",
  run: "commands",
};
const STAGES = new Set<string>(["system", "packages", "copy", "run"]);

/** envd 0.3.39+ builds a runtime, non-dev image with these. */
const HEADER = ["# syntax=v1", "# Written by @imagespec/builder-envd from an imagespec image definition; rewritten on every build.", ""];

/**
 * Compiles the image into build.envd and the list of files its build context needs, or every reason envd cannot
 * build it.
 */
export function compileEnvd(image: Image, options: CompileOptions): EnvdRendering | { readonly refusals: readonly string[] } {
  const refusals: string[] = [];
  const refuse = (why: string) => refusals.push(why);
  const body: string[] = [];
  const inputs: ContextInput[] = [];

  if (image.base.type === "dockerfile") refuse(`envd cannot build from a Dockerfile (${image.base.dockerfile})`);
  if (image.platforms.length > 1)
    refuse(`envd builds one platform at a time, and this image asks for ${image.platforms.length} (${image.platforms.join(", ")})`);
  if (image.builderOptions !== undefined && Object.keys(image.builderOptions).length > 0) {
    refuse(
      `envd takes no builderOptions, and this image sets ${Object.keys(image.builderOptions).sort().join(", ")}, which change what another builder builds`,
    );
  }
  if (image.pythonExec !== undefined)
    refuse(`envd installs packages with the Python it installs itself, so pythonExec (${image.pythonExec}) cannot be honoured`);

  let workdir: string | undefined;
  let latest: { stage: Stage; where: string } | undefined;
  let pipIndex: { key: string; where: string; url: string | undefined; extra: readonly string[] } | undefined;
  let conda: { channels: string; where: string } | undefined;
  let requirementsAt: string | undefined;
  let cudaAt: string | undefined;
  let needsPython: string | undefined;

  /** An env layer that sets variables installers read (PIP_INDEX_URL, ...), waiting for an install it would miss. */
  let installerEnv: { where: string; names: string[] } | undefined;
  const staged = (stage: Stage, where: string) => {
    if (installerEnv && (stage === "system" || stage === "packages")) {
      refuse(
        `${installerEnv.where} sets ${installerEnv.names.join(", ")} for the installs after it (such as ${where}), but envd sets env only for the running container (runtime.environ), so its installs would not see them`,
      );
      installerEnv = undefined;
    }
    if (latest && STAGE_RANK[stage] < STAGE_RANK[latest.stage]) {
      refuse(
        `${where} comes after ${latest.where}, but envd always installs ${STAGE_WORDS[stage]} before it handles ${STAGE_WORDS[latest.stage]}, so it would reorder them (envd's order: CUDA, system packages, Python and conda packages, copied files, commands)`,
      );
    }
    if (!latest || STAGE_RANK[stage] >= STAGE_RANK[latest.stage]) latest = { stage, where };
  };

  const pipOptions = (fields: Record<string, unknown>, where: string) => {
    if (fields.pre === true) refuse(`${where} asks for pre-release versions (pre), a pip flag envd cannot pass`);
    const extraArgs = fields.extraArgs as readonly string[] | undefined;
    if (extraArgs?.length) refuse(`${where} has extra pip arguments (${extraArgs.join(" ")}), which envd cannot pass to pip`);
    const secrets = fields.secretMounts as readonly { id: string }[] | undefined;
    if (secrets?.length) refuse(`${where} uses secret mounts (${secrets.map((s) => s.id).join(", ")}), which envd cannot provide`);
    const ssh = fields.sshMounts as readonly { id: string }[] | undefined;
    if (ssh?.length) refuse(`${where} forwards SSH agents (sshMounts ${ssh.map((s) => s.id).join(", ")}), which envd cannot do`);
    const url = fields.indexUrl as string | undefined;
    const extra = (fields.extraIndexUrls as readonly string[] | undefined) ?? [];
    const key = JSON.stringify([url ?? null, extra]);
    if (pipIndex === undefined) pipIndex = { key, where, url, extra };
    else if (pipIndex.key !== key) {
      refuse(`${where} uses other package indexes than ${pipIndex.where}, and envd has one pip index setting for the whole image`);
    }
  };

  /** The final path a copied file or folder gets in the image, as Docker's COPY would place it. */
  const finalPath = (src: string, dst: string, type: "file" | "folder") => {
    const intoDirectory = dst === "." || dst.endsWith("/") || dst.endsWith("/.");
    const resolved = path.posix.resolve(workdir ?? "/", dst);
    return intoDirectory && type === "file" ? path.posix.join(resolved, path.posix.basename(src)) : resolved;
  };

  const copy = (i: number, where: string, input: string, src: string, dst: string, type: "file" | "folder") => {
    const target = finalPath(src, dst, type);
    if (target === "/") {
      refuse(`${where} copies a folder onto / itself, which envd's io.copy cannot express; copy it into a folder such as /root`);
      return;
    }
    // io.copy nests the source under its own name inside a target that ends in "/" (created when missing), so the
    // source is named after the final path: the same placement for files and folders, existing targets or not.
    const contextPath = `files/${i}/${path.posix.basename(target)}`;
    inputs.push({ input, source: src, target: contextPath });
    body.push(`io.copy(source=${starlarkString(contextPath)}, target=${starlarkString(`${path.posix.dirname(target).replace(/\/$/, "")}/`)})`);
  };

  image.layers.forEach((layer: Layer, i) => {
    const where = `layers[${i}] (${layer.kind})`;
    const fields = layerFields(layer);
    switch (layer.kind) {
      case "cuda": {
        staged("cuda", where);
        if (cudaAt) refuse(`${where} sets CUDA again after ${cudaAt}; envd takes one CUDA version`);
        cudaAt = where;
        const cuda = String(fields.cuda);
        const cudnn = fields.cudnn as string | undefined;
        const baseRef = image.base.type === "uri" ? image.base.uri : undefined;
        if (baseRef === undefined || !/^ubuntu:\d{2}\.\d{2}$/.test(baseRef)) {
          refuse(
            `${where}: envd takes CUDA from nvidia/cuda:<cuda>-cudnn<cudnn>-runtime-ubuntu<version>, so the base must be an Ubuntu reference such as ubuntu:22.04 (this image's base is ${describeBase(image)})`,
          );
        }
        if (!/^\d+\.\d+\.\d+$/.test(cuda)) refuse(`${where}: envd needs a full CUDA version such as 12.4.1 to find its nvidia/cuda image, not ${cuda}`);
        if (cudnn === undefined) refuse(`${where}: envd's CUDA images always include cuDNN; give cudnn (e.g. "8") to build this image with envd`);
        else if (!/^\d+$/.test(cudnn)) refuse(`${where}: envd names cuDNN by its major version (e.g. "8"), not ${cudnn}`);
        body.push(`install.cuda(version=${starlarkString(cuda)}, cudnn=${starlarkString(cudnn ?? "")})`);
        return;
      }
      case "aptPackages": {
        staged("system", where);
        const secrets = fields.secretMounts as readonly { id: string }[] | undefined;
        if (secrets?.length) refuse(`${where} uses secret mounts (${secrets.map((s) => s.id).join(", ")}), which envd cannot provide`);
        const ssh = fields.sshMounts as readonly { id: string }[] | undefined;
        if (ssh?.length) refuse(`${where} forwards SSH agents (sshMounts ${ssh.map((s) => s.id).join(", ")}), which envd cannot do`);
        body.push(`install.apt_packages(name=${shellWords(fields.packages)})`);
        return;
      }
      case "condaPackages": {
        staged("packages", where);
        needsPython ??= where;
        const channels = (fields.channels as readonly string[] | undefined) ?? [];
        const key = JSON.stringify(channels);
        if (conda === undefined) {
          conda = { channels: key, where };
          body.push("install.conda(use_mamba=True)");
        } else if (conda.channels !== key) {
          refuse(`${where} uses other conda channels than ${conda.where}, and envd applies channels to every conda package of the image`);
        }
        const channel = channels.length ? `, channel=${shellWords(channels)}` : "";
        body.push(`install.conda_packages(name=${shellWords(fields.packages)}${channel})`);
        return;
      }
      case "pipPackages": {
        staged("packages", where);
        needsPython ??= where;
        pipOptions(fields, where);
        body.push(`install.python_packages(name=${shellWords(fields.packages)})`);
        return;
      }
      case "requirements": {
        staged("packages", where);
        needsPython ??= where;
        pipOptions(fields, where);
        if (requirementsAt) refuse(`${where} is a second requirements file (after ${requirementsAt}); envd installs one requirements file per image`);
        requirementsAt = where;
        const contextPath = `files/${i}/requirements.txt`;
        inputs.push({ input: `layers[${i}].requirements.file`, source: String(fields.file), target: contextPath });
        body.push(`install.python_packages(requirements=${starlarkString(contextPath)})`);
        return;
      }
      case "copy": {
        staged("copy", where);
        const input = `layers[${i}].copy.src`;
        const src = String(fields.src);
        const declared = fields.type as "file" | "folder" | "auto";
        copy(i, where, input, src, String(fields.dst), declared === "auto" ? options.typeOf(input, src) : declared);
        return;
      }
      case "codeBundle": {
        staged("copy", where);
        copy(i, where, `layers[${i}].codeBundle.src`, String(fields.src), String(fields.dst), "folder");
        return;
      }
      case "dockerignore":
        // Applied when the build context is assembled: the ignored files are neither hashed nor shipped.
        return;
      case "env": {
        const vars = fields.vars as Record<string, string>;
        if ("PATH" in vars) refuse(`${where} sets PATH, which envd manages itself and leaves out of runtime.environ`);
        const names = Object.keys(vars).filter(isInstallerVariable);
        if (names.length > 0) installerEnv ??= { where, names };
        const entries = Object.entries(vars).map(([name, value]) => `${starlarkString(name)}: ${starlarkString(value)}`);
        body.push(`runtime.environ(env={${entries.join(", ")}})`);
        return;
      }
      case "workdir": {
        workdir = path.posix.resolve(workdir ?? "/", String(fields.path));
        return;
      }
      case "commands": {
        staged("run", where);
        const secrets = fields.secretMounts as readonly { id: string }[] | undefined;
        if (secrets?.length) refuse(`${where} uses secret mounts (${secrets.map((s) => s.id).join(", ")}), which envd cannot provide`);
        const ssh = fields.sshMounts as readonly { id: string }[] | undefined;
        if (ssh?.length) refuse(`${where} forwards SSH agents (sshMounts ${ssh.map((s) => s.id).join(", ")}), which envd cannot do`);
        const prefix = ["set +uo pipefail"]; // envd runs `set -euo pipefail`; keep only -e, as `sh -c` in a Dockerfile RUN would
        if (workdir !== undefined) {
          if (shellQuote(workdir) !== workdir) {
            refuse(
              `${where} runs in the working directory ${JSON.stringify(workdir)}, which envd's run() cannot quote (it wraps commands in bash -c '...'); use a path of letters, digits and ./_-`,
            );
          }
          prefix.push(`mkdir -p ${workdir}`, `cd ${workdir}`);
        }
        for (const command of fields.commands as readonly string[]) {
          if (command.includes("'")) {
            refuse(
              `${where}: the command ${JSON.stringify(command)} contains a single quote, which envd's run() cannot pass through (it wraps commands in bash -c '...')`,
            );
            continue;
          }
          body.push(`run(commands=${starlarkList([...prefix, command])})`);
        }
        return;
      }
      case "entrypoint":
        refuse(`${where}: envd cannot set an entrypoint for the images it builds`);
        return;
      case "runtimePackages":
        refuse(`${where}: envd cannot install packages when the container starts`);
        return;
      default:
        renderPluginLayer(layer, i, where);
    }
  });

  function renderPluginLayer(layer: Layer, i: number, where: string) {
    const definition = layerDefinition(layer);
    const renderers = definition.renderers;
    if (typeof renderers?.envd !== "function") {
      refuse(
        `${where} is a layer kind without an envd renderer (its layer package renders it for ${Object.keys(definition.renderers ?? {}).join(", ") || "no builder"})`,
      );
      return;
    }
    const fields = layerFields(layer);
    const files: Record<string, string> = {};
    for (const input of definition.inputs?.(fields) ?? []) {
      const contextPath = input.type === "file" ? `files/${i}/${input.field}/${path.posix.basename(input.path)}` : `files/${i}/${input.field}`;
      files[input.field] = contextPath;
      inputs.push({ input: `layers[${i}].${layer.kind}.${input.field}`, source: input.path, target: contextPath });
    }
    let rendering: EnvdLayerRendering | string;
    try {
      rendering = renderers.envd(fields, { workdir, pythonVersion: image.pythonVersion, files });
    } catch (error) {
      refuse(`${where}: its envd renderer failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (typeof rendering === "string") {
      refuse(`${where}: ${rendering || "its envd renderer refused it"}`);
      return;
    }
    if (!rendering || !STAGES.has(rendering.stage) || !Array.isArray(rendering.statements)) {
      refuse(`${where}: its envd renderer returned something other than { stage, statements }`);
      return;
    }
    staged(rendering.stage, where);
    if (rendering.stage === "packages") needsPython ??= where;
    for (const statement of rendering.statements) {
      if (typeof statement !== "string" || statement.trim() === "" || /[\r\n]/.test(statement)) {
        refuse(`${where}: its envd renderer returned a statement that is not one non-empty line`);
        return;
      }
    }
    body.push(...rendering.statements);
  }

  if (needsPython !== undefined && image.pythonVersion === undefined) {
    refuse(`${needsPython} needs Python, and envd installs its own: set pythonVersion so it installs the one the image should have`);
  }
  if (refusals.length > 0) return { refusals };

  const head = [`base(image=${starlarkString(options.baseUri)}, dev=False)`];
  if (image.pythonVersion !== undefined) head.push(`install.python(version=${starlarkString(image.pythonVersion)})`);
  const index = pipIndex as { url: string | undefined; extra: readonly string[] } | undefined;
  if (index && (index.url !== undefined || index.extra.length > 0)) {
    const extra = index.extra.length ? `, extra_url=${starlarkString(index.extra.join(" "))}` : "";
    head.push(`config.pip_index(url=${starlarkString(index.url ?? "https://pypi.org/simple")}${extra})`);
  }
  // Last, so that no env layer can replace the identity the image carries.
  const tail = [`runtime.environ(env={${starlarkString(IMAGE_ID_ENV)}: ${starlarkString(options.id)}})`];
  const lines = [...HEADER, "def build():", ...[...head, ...body, ...tail].map((s) => `    ${s}`), ""];
  return { content: lines.join("\n"), inputs };
}

/** A Starlark list of words that envd splits with its shell-word lexer: each quoted to stay one word. */
function shellWords(values: unknown): string {
  return starlarkList((values as readonly string[]).map((v) => shellQuote(v)));
}

function describeBase(image: Image): string {
  switch (image.base.type) {
    case "image":
      return "another imagespec Image";
    case "dockerfile":
      return `the Dockerfile ${image.base.dockerfile}`;
    default:
      return image.base.uri;
  }
}
