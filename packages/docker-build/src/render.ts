/**
 * Image → Dockerfile. Layers render in their order, each through its renderer (core's kinds here, a layer
 * package's through `layerDefinition(layer).renderers.docker`), then the runtime-packages wrapper and, last, one
 * `ENV IMAGESPEC_IMAGE_ID`. The output is deterministic: the same definition always gives the same text.
 */

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  type BuiltinLayerKind,
  builtinKindOf,
  type DockerLayerRenderer,
  dockerfileImageReference,
  dockerfileJsonArray,
  dockerfileWord,
  IMAGE_ID_ENV,
  type Image,
  ImageSpecError,
  type Layer,
  layerDefinition,
  shellQuote,
  showValue,
} from "@imagespec/core";
import { cudaImage, DEFAULT_CUDA_IMAGE, DEFAULT_MICROMAMBA_IMAGE, readDockerBuildOptions } from "./options.js";
import type { DockerBuildSettings } from "./settings.js";
import { coreRenderers, runtimeWrapper } from "./layers.js";
import type { ContextItem, DockerBuildPlan, StepOrigin } from "./plan.js";
import { type ChainState, EMPTY_CHAIN, type Line, RenderState } from "./render-context.js";

export interface RenderDockerOptions {
  /** The reference of the base when the base is another Image (the engine passes where it built it). */
  readonly baseUri?: string;
  readonly config?: DockerBuildSettings;
}

/** Instructions BuildKit runs as a step and numbers `[n/m]`. */
const STEP_KEYWORDS = new Set(["FROM", "RUN", "COPY", "ADD", "WORKDIR"]);
const RUNTIME_WRAPPER = "/usr/local/bin/imagespec-entrypoint";

function isBuiltinKind(layer: Layer): layer is Layer & { kind: BuiltinLayerKind } {
  return builtinKindOf(layer) !== undefined;
}

/** The reason the docker builder cannot build an image, or undefined when it can. */
export function dockerRefusal(image: Image): string | undefined {
  const reasons: string[] = [];
  const nonLinux = image.platforms.filter((p) => !p.startsWith("linux/"));
  if (nonLinux.length > 0) reasons.push(`it builds Linux images only, not ${nonLinux.join(", ")}`);
  for (const issue of readDockerBuildOptions(image).issues) reasons.push(`${issue.field} = ${showValue(issue.value)}: ${issue.message}`);
  for (const [i, layer] of image.layers.entries()) {
    if (isBuiltinKind(layer)) continue;
    const renderer = layerDefinition(layer).renderers?.docker;
    if (typeof renderer !== "function") reasons.push(`layers[${i}] is of kind ${layer.kind}, which has no docker renderer (its layer package does not support the docker builder)`);
  }
  if (image.layers.some((l) => l.kind === "cuda") && image.base.type !== "debian") {
    reasons.push("withCuda replaces the Debian base with an NVIDIA CUDA image, but this image starts from its own base; use a base image that has CUDA instead of withCuda");
  }
  if (image.layers.filter((l) => l.kind === "cuda").length > 1) reasons.push("the image has more than one cuda layer; give CUDA once");
  if (image.base.type === "image") {
    const inner = dockerRefusal(image.base.image);
    if (inner) reasons.push(`its base image ${image.base.image.name}: ${inner}`);
  }
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

/** Renders the Dockerfile and the build context plan for an image. */
export async function renderDockerBuild(image: Image, options: RenderDockerOptions = {}): Promise<DockerBuildPlan> {
  const refusal = dockerRefusal(image);
  if (refusal !== undefined) {
    throw new ImageSpecError("NO_BUILDER", `Cannot render ${image.name} for Docker: ${refusal}`, { hint: "Choose a builder that supports it, or change the image." });
  }
  if (image.base.type === "dockerfile") return renderUserDockerfile(image, image.base);
  const { state } = await renderState(image);
  const from = dockerfileImageReference(await baseReference(image, options.baseUri));

  const stageLines = [...state.stages.entries()].map(([reference, stage]) => ({ reference, ...stage }));
  const main: Line[] = [{ text: `FROM ${from}`, layerIndex: undefined, layerKind: undefined, description: `base image ${from}` }, ...state.lines];

  const steps: StepOrigin[] = [];
  for (const stage of stageLines) {
    steps.push({
      instruction: `FROM ${stage.reference} AS ${stage.name}`,
      keyword: "FROM",
      number: 1,
      stage: stage.name,
      layerIndex: stage.layerIndex,
      layerKind: stage.layerIndex === undefined ? undefined : image.layers[stage.layerIndex]?.kind,
      description: `helper image ${stage.reference}`,
    });
  }
  let number = 0;
  for (const line of main) {
    const keyword = line.text.split(" ", 1)[0]!;
    if (!STEP_KEYWORDS.has(keyword)) continue;
    steps.push({ instruction: line.text, keyword, number: ++number, stage: undefined, layerIndex: line.layerIndex, layerKind: line.layerKind, description: line.description ?? line.text });
  }

  const text: string[] = [];
  for (const stage of stageLines) text.push(`FROM ${stage.reference} AS ${stage.name}`);
  if (stageLines.length > 0) text.push("");
  let previousLayer: number | undefined = -1;
  for (const line of main) {
    if (line.layerIndex !== previousLayer && line.layerIndex !== undefined) text.push(`# layers[${line.layerIndex}] ${line.layerKind}`);
    if (line.layerIndex === undefined && previousLayer !== undefined && previousLayer >= 0) text.push("# imagespec");
    previousLayer = line.layerIndex;
    text.push(line.text);
  }
  const dockerfile = `${text.join("\n")}\n`;
  const dockerfileName = "Dockerfile";
  const context: ContextItem[] = [{ type: "content", path: dockerfileName, content: Buffer.from(dockerfile, "utf8"), executable: false }, ...state.context.values()];
  return {
    dockerfile,
    dockerfileName,
    buildArgs: { ...state.buildArgs },
    context,
    secrets: [...state.secrets.values()],
    steps,
    baseReferences: [from, ...stageLines.map((s) => s.reference)],
  };
}

/** Renders the layers of an image (and, for an Image base, what it inherits) into a RenderState. */
async function renderState(image: Image): Promise<{ state: RenderState }> {
  const chain: ChainState = image.base.type === "image" ? chainOf((await renderState(image.base.image)).state) : EMPTY_CHAIN;
  const state = new RenderState(image, chain, { micromambaImage: readDockerBuildOptions(image).options.micromambaImage ?? DEFAULT_MICROMAMBA_IMAGE });

  const versionCheck = pythonVersionCheck(image, state);
  if (versionCheck !== undefined) state.add(state.run(versionCheck.script, { description: versionCheck.description }));

  for (const [index, layer] of image.layers.entries()) {
    if (isBuiltinKind(layer)) {
      const render = coreRenderers[layer.kind];
      await state.renderLayer(index, layer.kind, (ctx) => render(layer, ctx, state));
    } else {
      const render = layerDefinition(layer).renderers?.docker as DockerLayerRenderer;
      await state.renderLayer(index, layer.kind, (ctx) => render(layer as never, ctx));
    }
  }

  const ownRuntime = image.layers.some((l) => l.kind === "runtimePackages");
  if (state.runtimePackages.length > 0 && (ownRuntime || state.entrypointSetHere)) {
    const python = state.usePython().python;
    const wrapper = state.addContent("imagespec/entrypoint.sh", runtimeWrapper(python, state.runtimePackages), true);
    state.add(state.copy(wrapper, RUNTIME_WRAPPER), "the runtime packages wrapper");
    state.add(`ENTRYPOINT ${dockerfileJsonArray([RUNTIME_WRAPPER, ...(state.entrypoint ?? [])])}`);
  }
  state.add(`ENV ${IMAGE_ID_ENV}=${dockerfileWord(image.id)}`);
  return { state };
}

function chainOf(state: RenderState): ChainState {
  return { python: state.python, runtimePackages: state.runtimePackages, entrypoint: state.entrypoint };
}

/**
 * A base that is not the Debian base says which Python it has only when asked: when the image states a
 * pythonVersion, the build checks it first and stops with a clear message if it differs.
 */
function pythonVersionCheck(image: Image, state: RenderState): { script: string; description: string } | undefined {
  const version = image.pythonVersion;
  if (version === undefined || state.pythonKind === "conda" || image.base.type === "debian") return undefined;
  if (image.base.type === "image" && image.base.image.pythonVersion === version) return undefined;
  const python = image.pythonExec ?? "python3";
  const program = [
    "import sys",
    "want = sys.argv[1]",
    'have = "%d.%d.%d" % sys.version_info[:3]',
    'sys.exit(0 if have == want or have.startswith(want + ".") else "imagespec: the image states pythonVersion " + want + ", but the base image has Python " + have + " (" + sys.executable + "); set pythonVersion to " + ".".join(have.split(".")[:2]) + " or use a base with Python " + want)',
  ].join("\n");
  const missing = `imagespec: the image states pythonVersion ${version}, but the base image has no ${python}; use a base with Python ${version} or set pythonExec`;
  return {
    script: `command -v ${shellQuote(python)} >/dev/null 2>&1 || { echo ${shellQuote(missing)} >&2; exit 1; }; ${shellQuote(python)} -c ${shellQuote(program)} ${shellQuote(version)}`,
    description: `check that the base image has Python ${version}`,
  };
}

async function baseReference(image: Image, baseUri: string | undefined): Promise<string> {
  const base = image.base;
  const cuda = image.layers.find((l) => l.kind === "cuda");
  if (cuda !== undefined) return cudaImage(readDockerBuildOptions(image).options.cudaImage ?? DEFAULT_CUDA_IMAGE, cuda.cuda as string, cuda.cudnn as string | undefined);
  switch (base.type) {
    case "debian":
    case "uri":
      return base.uri;
    case "image":
      return baseUri ?? (await base.image.uri());
    default:
      throw new ImageSpecError("INVALID_SPEC", `Cannot render ${image.name}: a Dockerfile base has no base reference`);
  }
}

/** An image from the user's own Dockerfile: their file, their context folder, and the image id appended. */
async function renderUserDockerfile(image: Image, base: { dockerfile: string; context: string }): Promise<DockerBuildPlan> {
  const file = path.resolve(image.root, base.dockerfile);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot read the Dockerfile ${JSON.stringify(base.dockerfile)}: ${file} does not exist`, {
      field: "dockerfile",
      value: base.dockerfile,
      hint: `Relative paths are relative to ${image.root}.`,
      cause: error,
    });
  }
  const content = bytes.toString("utf8");
  const dockerfile = `${content.replace(/\s*$/, "")}\n\n# Added by imagespec\nENV ${IMAGE_ID_ENV}=${dockerfileWord(image.id)}\n`;
  const dockerfileName = `.imagespec-${image.id}.Dockerfile`;
  return {
    dockerfile,
    dockerfileName,
    buildArgs: {},
    context: [
      { type: "folder", path: ".", source: path.resolve(image.root, base.context), select: "all" },
      {
        type: "content",
        path: dockerfileName,
        content: Buffer.from(dockerfile, "utf8"),
        executable: false,
        derivedFrom: { source: file, digest: createHash("sha256").update(bytes).digest("hex") },
      },
    ],
    secrets: [],
    steps: [],
    baseReferences: [...content.matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((m) => m[1]!).filter((ref) => !ref.includes("$")),
  };
}
