/**
 * Image → Dockerfile. Layers render in their order, each through its renderer (core's kinds here, a layer
 * package's through `layerDefinition(layer).renderers.docker`), then the runtime-packages wrapper and, last, one
 * `ENV IMAGESPEC_IMAGE_ID`. The output is deterministic: the same definition always gives the same text.
 */

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  type BuiltinLayerKind,
  builtinKindOf,
  dockerfileImageReference,
  dockerfileJsonArray,
  dockerfileWord,
  IMAGE_ID_ENV,
  ImageSpecError,
  isImageSpecError,
  type Layer,
  layerDefinition,
  createDockerConfigResolver,
  type ImageRunConfig,
  readImageRunConfig,
  RegistryClient,
  relativePathHint,
  NATIVE_PLATFORM,
  shellQuote,
  showValue,
} from "@imagespec/core/authoring";
import { cudaImage, DEFAULT_CUDA_IMAGE, DEFAULT_MICROMAMBA_IMAGE, readDockerBuildOptions } from "./options.js";
import type { DockerBuildSettings } from "./settings.js";
import { coreRenderers, runtimeWrapper } from "./layers.js";
import type { ContextItem, DockerBuildPlan, StepOrigin } from "./plan.js";
import { type ChainState, EMPTY_CHAIN, type Line, RenderState } from "./render-context.js";

export interface RenderDockerOptions {
  /** The reference of the base when the base is another Image (the engine passes where it built it). */
  readonly baseUri?: string;
  readonly config?: DockerBuildSettings;
  /**
   * Reads a base image's ENTRYPOINT and CMD, for the runtime-packages wrapper to keep them (setting an ENTRYPOINT
   * clears the inherited CMD). Asked only for an image with runtime packages whose command comes from a base
   * reference. Default: the registry, with the Docker config's credentials.
   */
  readonly readRunConfig?: (reference: string, platform: string) => Promise<ImageRunConfig>;
}

const runConfigs = new Map<string, Promise<ImageRunConfig>>();
/** Read once per process and reference: renders of an image and of its children ask for the same base. */
const registryRunConfig = (reference: string, platform: string): Promise<ImageRunConfig> => {
  const key = `${reference} ${platform}`;
  let read = runConfigs.get(key);
  if (!read) {
    read = readImageRunConfig(reference, { platform, client: new RegistryClient({ credentials: createDockerConfigResolver() }) });
    read.catch(() => runConfigs.delete(key));
    runConfigs.set(key, read);
  }
  return read;
};

/** Instructions BuildKit runs as a step and numbers `[n/m]`. */
const STEP_KEYWORDS = new Set(["FROM", "RUN", "COPY", "ADD", "WORKDIR"]);
const RUNTIME_WRAPPER = "/usr/local/bin/imagespec-entrypoint";

function isBuiltinKind(layer: Layer): layer is Layer & { kind: BuiltinLayerKind } {
  return builtinKindOf(layer) !== undefined;
}

/** The reason the docker builder cannot build an image, or undefined when it can. */
export function dockerRefusal(image: Image): string | undefined {
  const reasons: string[] = [];
  const nonLinux = image.platforms.filter((p) => !p.startsWith("linux/") && p !== NATIVE_PLATFORM);
  if (nonLinux.length > 0) reasons.push(`it builds Linux images only, not ${nonLinux.join(", ")}`);
  for (const issue of readDockerBuildOptions(image).issues) reasons.push(`${issue.field} = ${showValue(issue.value)}: ${issue.message}`);
  for (const [i, layer] of image.layers.entries()) {
    if (isBuiltinKind(layer)) continue;
    const renderer = layerDefinition(layer).renderers?.docker;
    if (typeof renderer !== "function")
      reasons.push(`layers[${i}] is of kind ${layer.kind}, which has no docker renderer (its layer package does not support the docker builder)`);
  }
  if (image.layers.some((l) => l.kind === "cuda") && image.base.type !== "debian") {
    reasons.push(
      "withCuda replaces the Debian base with an NVIDIA CUDA image, but this image starts from its own base; use a base image that has CUDA instead of withCuda",
    );
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
    throw new ImageSpecError("NO_BUILDER", `Cannot render ${image.name} for Docker: ${refusal}`, {
      hint: "Choose a builder that supports it, or change the image.",
    });
  }
  if (image.base.type === "dockerfile") return renderUserDockerfile(image, image.base);
  const config = options.config ?? {};
  const from = dockerfileImageReference(await baseReference(image, options.baseUri));
  const { state } = await renderState(image, config, { from, readRunConfig: options.readRunConfig ?? registryRunConfig });

  const stageLines = [...state.stages.entries()].map(([reference, stage]) => ({ reference, ...stage }));
  const steps: StepOrigin[] = [];
  const text: string[] = [];
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
    text.push(`FROM ${stage.reference} AS ${stage.name}`);
  }
  if (stageLines.length > 0) text.push("");

  // The image's own stage, cut where a layer added build stages: each part but the last is a named stage the layer's
  // stages (and the next part) start from. BuildKit numbers a stage's steps `[name n/m]`, counting FROM only when it
  // starts from an image, not from another stage.
  const stageNames = new Set([...state.splits.flatMap((split) => [split.name, ...split.stages.map((s) => s.name)]), ...stageLines.map((s) => s.name)]);
  const writeStage = (header: Line, lines: readonly Line[], stage: string | undefined, fromStage: boolean, comment: string | undefined) => {
    if (comment !== undefined) text.push(comment);
    let previousLayer: number | undefined = comment === undefined ? -1 : header.layerIndex;
    let number = 0;
    for (const line of [header, ...lines]) {
      const keyword = line.text.split(" ", 1)[0]!;
      if (STEP_KEYWORDS.has(keyword) && !(line === header && fromStage)) {
        steps.push({
          instruction: line.text,
          keyword,
          number: ++number,
          stage,
          layerIndex: line.layerIndex,
          layerKind: line.layerKind,
          description: line.description ?? line.text,
        });
      }
      if (line !== header) {
        if (line.layerIndex !== previousLayer && line.layerIndex !== undefined) text.push(`# layers[${line.layerIndex}] ${line.layerKind}`);
        if (line.layerIndex === undefined && previousLayer !== undefined && previousLayer >= 0) text.push("# imagespec");
        previousLayer = line.layerIndex;
      }
      text.push(line.text);
    }
  };
  let start = 0;
  let fromName: string | undefined;
  for (const split of state.splits) {
    const header = fromName === undefined ? `FROM ${from} AS ${split.name}` : `FROM ${fromName} AS ${split.name}`;
    writeStage(
      { text: header, layerIndex: undefined, layerKind: undefined, description: fromName === undefined ? `base image ${from}` : header },
      state.lines.slice(start, split.atLine),
      split.name,
      fromName !== undefined,
      undefined,
    );
    for (const stage of split.stages) {
      const origin = stage.from ?? split.name;
      const header = `FROM ${origin} AS ${stage.name}`;
      text.push("");
      writeStage(
        {
          text: header,
          layerIndex: stage.layerIndex,
          layerKind: stage.layerKind,
          description: stageNames.has(origin) ? header : `base image ${origin} of a build stage`,
        },
        stage.lines,
        stage.name,
        stageNames.has(origin),
        `# layers[${stage.layerIndex}] ${stage.layerKind}: build stage ${stage.name}`,
      );
    }
    text.push("");
    start = split.atLine;
    fromName = split.name;
  }
  writeStage(
    {
      text: fromName === undefined ? `FROM ${from}` : `FROM ${fromName}`,
      layerIndex: undefined,
      layerKind: undefined,
      description: fromName === undefined ? `base image ${from}` : `FROM ${fromName}`,
    },
    state.lines.slice(start),
    undefined,
    fromName !== undefined,
    undefined,
  );
  const dockerfile = `${text.join("\n")}\n`;
  const dockerfileName = "Dockerfile";
  const context: ContextItem[] = [
    { type: "content", path: dockerfileName, content: Buffer.from(dockerfile, "utf8"), executable: false },
    ...state.context.values(),
  ];
  return {
    dockerfile,
    dockerfileName,
    buildArgs: { ...state.buildArgs },
    context,
    secrets: [...state.secrets.values()],
    ssh: [...state.ssh.values()],
    steps,
    baseReferences: [from, ...stageLines.map((s) => s.reference), ...state.stageReferences],
  };
}

/**
 * Renders the layers of an image (and, for an Image base, what it inherits) into a RenderState. `from` is the
 * reference the image starts from (undefined for an Image base rendered as part of its child's chain).
 */
async function renderState(
  image: Image,
  config: DockerBuildSettings,
  base: { readonly from: string | undefined; readonly readRunConfig: (reference: string, platform: string) => Promise<ImageRunConfig> },
): Promise<{ state: RenderState }> {
  let chain: ChainState = EMPTY_CHAIN;
  if (image.base.type === "image") {
    const inner = image.base.image;
    chain = chainOf((await renderState(inner, config, { ...base, from: await baseReference(inner, undefined).catch(() => undefined) })).state);
    // A base built from the user's own Dockerfile: its command is whatever that Dockerfile left, so read from it.
    if (chain.entrypoint === undefined && chain.commandFrom === undefined) chain = { ...chain, commandFrom: base.from ?? (await inner.uri()) };
  } else {
    chain = { ...EMPTY_CHAIN, commandFrom: base.from };
  }
  const state = new RenderState(image, chain, { micromambaImage: readDockerBuildOptions(image).options.micromambaImage ?? DEFAULT_MICROMAMBA_IMAGE });

  const versionCheck = pythonVersionCheck(image, state);
  if (versionCheck !== undefined) state.add(state.run(versionCheck.script, { description: versionCheck.description }));

  for (const [index, layer] of image.layers.entries()) {
    if (isBuiltinKind(layer)) {
      const render = coreRenderers[layer.kind];
      await state.renderLayer(index, layer.kind, (ctx) => render(layer, ctx, state));
    } else {
      const renderers = layerDefinition(layer).renderers;
      await state.renderLayer(index, layer.kind, (ctx) => {
        // supports() refuses such an image first; a direct render call still gets a typed error.
        if (!renderers?.docker)
          throw new ImageSpecError("NO_BUILDER", `Cannot render layers[${index}] (${layer.kind}) for Docker: its layer kind has no docker renderer`, {
            field: `layers[${index}]`,
            value: layer.kind,
          });
        return renderers.docker(layer, ctx);
      });
    }
  }

  const ownRuntime = image.layers.some((l) => l.kind === "runtimePackages");
  if (state.runtimePackages.length > 0 && (ownRuntime || state.entrypointSetHere)) {
    const python = state.usePython().python;
    const wrapper = state.addContent("imagespec/entrypoint.sh", runtimeWrapper(python, state.runtimePackages), true);
    state.add(state.copy(wrapper, RUNTIME_WRAPPER), "the runtime packages wrapper");
    // The wrapper's ENTRYPOINT would clear the command the image had (Docker's rule): restate the base's.
    if (state.entrypoint === undefined) {
      const run = await baseRunConfig(image, state.commandFrom, base.readRunConfig);
      state.entrypoint = run.entrypoint ?? [];
      state.cmd = run.cmd ?? [];
    }
    state.add(`ENTRYPOINT ${dockerfileJsonArray([RUNTIME_WRAPPER, ...(state.entrypoint ?? [])])}`);
    if (state.cmd !== undefined && state.cmd.length > 0)
      state.add(`CMD ${dockerfileJsonArray(state.cmd)}`, "keep the command the wrapper's entrypoint would clear");
  }
  state.add(`ENV ${IMAGE_ID_ENV}=${dockerfileWord(image.id)}`);
  return { state };
}

function chainOf(state: RenderState): ChainState {
  return { python: state.python, runtimePackages: state.runtimePackages, entrypoint: state.entrypoint, cmd: state.cmd, commandFrom: state.commandFrom };
}

/** The ENTRYPOINT and CMD of the reference an image's command still comes from; a read that fails says what to do. */
async function baseRunConfig(
  image: Image,
  reference: string | undefined,
  read: (reference: string, platform: string) => Promise<ImageRunConfig>,
): Promise<ImageRunConfig> {
  const hint = 'Set the entrypoint explicitly (entrypoint / withEntrypoint, e.g. ["python3"]): the wrapper then runs it, and no base configuration is needed.';
  if (reference === undefined) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot keep the base image's command for ${image.name}'s runtime packages wrapper: the base has no reference to read it from`,
      { field: "runtimePackages", hint },
    );
  }
  try {
    return await read(reference, image.platforms[0] ?? "linux/amd64");
  } catch (error) {
    throw new ImageSpecError(
      isImageSpecError(error) && error.code === "AUTH_ERROR" ? "AUTH_ERROR" : "REGISTRY_ERROR",
      `Cannot keep the base image's command for ${image.name}'s runtime packages wrapper: reading the ENTRYPOINT and CMD of ${reference} failed: ${(error as Error).message}`,
      { field: "runtimePackages", value: reference, hint, cause: error },
    );
  }
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
  if (cuda !== undefined)
    return cudaImage(readDockerBuildOptions(image).options.cudaImage ?? DEFAULT_CUDA_IMAGE, cuda.cuda as string, cuda.cudnn as string | undefined);
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
      hint: relativePathHint(image.root),
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
    ssh: [],
    steps: [],
    baseReferences: [...content.matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((m) => m[1]!).filter((ref) => !ref.includes("$")),
  };
}
