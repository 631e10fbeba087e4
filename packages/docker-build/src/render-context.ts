/**
 * The state of one Dockerfile being rendered, and the DockerRenderContext each layer renderer gets. Core's kinds
 * and layer packages' kinds render through the same helpers, so every value that reaches the Dockerfile is quoted
 * by core's quoting module.
 */

import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  type DockerBuildStage,
  type DockerBuildStageOptions,
  type DockerCacheMountOptions,
  type DockerCopyOptions,
  type DockerInstructions,
  type DockerPythonEnvironment,
  type DockerQuoting,
  type DockerRenderContext,
  type DockerRunOptions,
  DOCKERFILE_LINE_LIMIT,
  dockerfileFlag,
  dockerfileImageReference,
  dockerfileJsonArray,
  dockerfileWord,
  fitsDockerfileWord,
  ImageSpecError,
  mountOption,
  normalizeImageReference,
  type SecretMount,
  type SshMount,
  shellJoin,
  shellQuote,
  showValue,
} from "@imagespec/core/authoring";
import type { ContextItem } from "./plan.js";

export const VENV_PREFIX = "/opt/venv";
export const CONDA_PREFIX = "/opt/conda";
export const MAMBA_ROOT_PREFIX = "/opt/micromamba";
/** pip's cache, a cache mount (never in the image); world-writable so a non-root build user can use it too. */
export const PIP_CACHE_DIR = "/var/cache/imagespec/pip";

export const quoting: DockerQuoting = Object.freeze({ dockerfileWord, dockerfileJsonArray, dockerfileFlag, shellQuote, shellJoin, mountOption });

/** What an image inherits from a base that is itself an Image rendered by this builder. */
export interface ChainState {
  readonly python: DockerPythonEnvironment | undefined;
  /** Runtime packages of the image and its Image bases; the wrapper installs all of them. */
  readonly runtimePackages: readonly string[];
  /**
   * The entrypoint a layer set last (without the runtime-packages wrapper), and the command that goes with it (Docker
   * clears CMD when an ENTRYPOINT is set). Both undefined: still the base reference's own, not read yet.
   */
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[] | undefined;
  /** The reference whose ENTRYPOINT and CMD the image still has when `entrypoint` is undefined. */
  readonly commandFrom: string | undefined;
}

export const EMPTY_CHAIN: ChainState = { python: undefined, runtimePackages: [], entrypoint: undefined, cmd: undefined, commandFrom: undefined };

/** One Dockerfile line with where it came from. */
export interface Line {
  readonly text: string;
  readonly layerIndex: number | undefined;
  readonly layerKind: string | undefined;
  readonly description: string | undefined;
}

/** A build stage a layer added (`buildStage`): written before the image's stage continues. */
export interface BuildStageState {
  readonly name: string;
  /** An image reference, another stage's name, or undefined for the image as the layers before left it. */
  readonly from: string | undefined;
  readonly layerIndex: number;
  readonly layerKind: string;
  readonly lines: Line[];
}

/**
 * Where the image's own stage is cut so that a layer's build stages can start from it: the part before `atLine`
 * becomes the stage `name`, the layer's build stages follow, and the image's stage continues `FROM <name>`.
 */
export interface StageSplit {
  readonly atLine: number;
  readonly name: string;
  readonly layerIndex: number;
  readonly stages: BuildStageState[];
}

/** Stage names a layer may give (`buildStage({ name })`): BuildKit's stage name grammar, kept short. */
const STAGE_NAME_HINT = /^[a-z][a-z0-9-]{0,30}$/;

export interface RenderOptions {
  /** The micromamba image for conda environments. */
  readonly micromambaImage: string;
}

export class RenderState {
  readonly image: Image;
  readonly options: RenderOptions;
  readonly lines: Line[] = [];
  /** Helper stages by reference: `FROM <reference> AS <name>`. */
  readonly stages = new Map<string, { name: string; layerIndex: number | undefined }>();
  /** Cuts of the image's stage for layers' build stages, in layer order. */
  readonly splits: StageSplit[] = [];
  /** References build stages start from (for credentials). */
  readonly stageReferences = new Set<string>();
  readonly context = new Map<string, ContextItem>();
  readonly buildArgs: Record<string, string> = {};
  readonly secrets = new Map<string, SecretMount>();
  readonly ssh = new Map<string, SshMount>();
  /** Instruction text → what it does, for step progress and errors. */
  readonly #descriptions = new Map<string, string>();
  /** Instructions a renderer's first `python()` call needs before the layer's own. */
  #pending: Line[] = [];
  python: DockerPythonEnvironment | undefined;
  readonly pythonKind: "venv" | "conda";
  runtimePackages: string[];
  entrypoint: readonly string[] | undefined;
  cmd: readonly string[] | undefined;
  commandFrom: string | undefined;
  /** Whether this image itself set the entrypoint (so the final wrapper must be written even when inherited). */
  entrypointSetHere = false;
  /** The image or one of its Image bases has runtime packages: the entrypoint goes through the wrapper. */
  readonly hasRuntimePackages: boolean;
  #currentLayer: { index: number; kind: string } | undefined;
  #argCounter = 0;

  constructor(image: Image, chain: ChainState, options: RenderOptions) {
    this.image = image;
    this.options = options;
    this.python = chain.python;
    this.runtimePackages = [...chain.runtimePackages];
    this.entrypoint = chain.entrypoint;
    this.cmd = chain.cmd;
    this.commandFrom = chain.commandFrom;
    const wantsConda = image.layers.some((l) => l.kind === "condaPackages" || l.kind === "cuda");
    this.hasRuntimePackages = chain.runtimePackages.length > 0 || image.layers.some((l) => l.kind === "runtimePackages");
    this.pythonKind = wantsConda || chain.python?.kind === "conda" ? "conda" : "venv";
  }

  /** Runs a renderer for layer `index` and appends what it returns, after any setup its `python()` call needed. */
  async renderLayer(index: number, kind: string, render: (ctx: DockerRenderContext) => DockerInstructions | Promise<DockerInstructions>): Promise<void> {
    this.#currentLayer = { index, kind };
    try {
      const out = await render(this.contextFor(index));
      if (!Array.isArray(out)) {
        throw new ImageSpecError(
          "PLUGIN_ERROR",
          `Cannot render layers[${index}] (${kind}) for Docker: its renderer returned ${typeof out}, not a list of instructions`,
          {
            field: `layers[${index}]`,
            hint: "A docker renderer returns an array of Dockerfile instructions, one line each.",
          },
        );
      }
      const lines = [...this.#pending, ...out.map((text) => this.#line(text, index, kind))];
      this.#pending = [];
      this.lines.push(...lines);
    } finally {
      this.#currentLayer = undefined;
    }
  }

  /** Appends instructions that belong to no layer (the version check, the wrapper, the image id). */
  add(text: string, description?: string): void {
    checkLineLength(text, this.#currentLayer?.index, this.#currentLayer?.kind);
    this.lines.push(...this.#pending);
    this.#pending = [];
    this.lines.push({
      text,
      layerIndex: this.#currentLayer?.index,
      layerKind: this.#currentLayer?.kind,
      description: description ?? this.#descriptions.get(text),
    });
  }

  #line(text: unknown, index: number, kind: string): Line {
    if (typeof text !== "string" || text.trim() === "" || /[\r\n\0]/.test(text)) {
      throw new ImageSpecError(
        "PLUGIN_ERROR",
        `Cannot render layers[${index}] (${kind}) for Docker: its renderer returned ${showValue(text)}, which is not one instruction on one line`,
        {
          field: `layers[${index}]`,
          value: text,
          hint: "Build instructions with the context's helpers (run, env, copy), which quote every value.",
        },
      );
    }
    checkLineLength(text, index, kind);
    return { text, layerIndex: index, layerKind: kind, description: this.#descriptions.get(text) };
  }

  describe(instruction: string, description: string): string {
    this.#descriptions.set(instruction, description);
    return instruction;
  }

  // ------------------------------------------------------------------------------------------- build context

  #contextDir(layerIndex: number): string {
    let dir = `layers/${layerIndex}`;
    for (let k = 1; [...this.context.keys()].some((p) => p === dir || p.startsWith(`${dir}/`)); k++) dir = `layers/${layerIndex}-${k}`;
    return dir;
  }

  addFile(layerIndex: number, local: string, name?: string): string {
    const fileName = name ?? path.posix.basename(local.split(path.sep).join("/"));
    checkContextName(fileName, layerIndex);
    const contextPath = `${this.#contextDir(layerIndex)}/${fileName}`;
    this.context.set(contextPath, { type: "file", path: contextPath, source: path.resolve(this.image.root, local) });
    return contextPath;
  }

  addFolder(layerIndex: number, local: string, select: "all" | "tracked"): string {
    const dir = this.#contextDir(layerIndex);
    this.context.set(dir, { type: "folder", path: dir, source: path.resolve(this.image.root, local), select });
    return dir;
  }

  addContent(contextPath: string, content: string | Uint8Array, executable: boolean): string {
    this.context.set(contextPath, {
      type: "content",
      path: contextPath,
      content: typeof content === "string" ? Buffer.from(content, "utf8") : content,
      executable,
    });
    return contextPath;
  }

  // ------------------------------------------------------------------------------------------- python

  /** The Python environment; the first call sets it up (instructions go before the current layer's own). */
  usePython(): DockerPythonEnvironment {
    if (this.python) return this.python;
    if (this.pythonKind === "conda") {
      this.#pending.push(...this.condaInstructions([], undefined).map((text) => this.#setupLine(text)));
    } else {
      const python = this.image.pythonExec ?? "python3";
      const create = [
        `if [ ! -x ${VENV_PREFIX}/bin/python ]; then`,
        `command -v ${shellQuote(python)} >/dev/null 2>&1 || { echo ${shellQuote(`imagespec: cannot create the Python environment: the image has no ${python}; install Python in the base image or set pythonExec`)} >&2; exit 1; };`,
        `${shellQuote(python)} -m venv --system-site-packages ${VENV_PREFIX} || { echo ${shellQuote(`imagespec: cannot create the virtual environment ${VENV_PREFIX} with ${python}: it needs the venv module and ensurepip (on Debian: apt-get install python3-venv)`)} >&2; exit 1; };`,
        "fi",
      ].join(" ");
      this.#pending.push(this.#setupLine(this.run(create, { description: `create the Python environment ${VENV_PREFIX}` })));
      this.#pending.push(this.#setupLine(`ENV VIRTUAL_ENV=${VENV_PREFIX} PATH=${VENV_PREFIX}/bin:$PATH`));
      this.python = pythonEnvironment("venv", VENV_PREFIX, this.image.pythonVersion);
    }
    return this.python!;
  }

  #setupLine(text: string): Line {
    return { text, layerIndex: this.#currentLayer?.index, layerKind: this.#currentLayer?.kind, description: this.#descriptions.get(text) };
  }

  /**
   * micromamba: creates the conda environment (with the image's Python and pip) the first time, installs into it
   * after that. Returns the instructions; sets `python` to the environment.
   */
  condaInstructions(packages: readonly string[], channels: readonly string[] | undefined): string[] {
    const stage = this.stage(this.options.micromambaImage);
    const channelArgs = (channels && channels.length > 0 ? channels : ["conda-forge"]).flatMap((c) => ["-c", c]);
    const creating = this.python?.kind !== "conda";
    const python = this.image.pythonVersion ? `python=${this.image.pythonVersion}` : "python";
    const args = creating
      ? [
          "micromamba",
          "create",
          "--yes",
          "--root-prefix",
          MAMBA_ROOT_PREFIX,
          "--prefix",
          CONDA_PREFIX,
          "--override-channels",
          ...channelArgs,
          python,
          "pip",
          ...packages,
        ]
      : ["micromamba", "install", "--yes", "--root-prefix", MAMBA_ROOT_PREFIX, "--prefix", CONDA_PREFIX, "--override-channels", ...channelArgs, ...packages];
    const script = shellJoin(args);
    const out = [
      this.run(script, {
        mounts: [
          this.cacheMount(`${MAMBA_ROOT_PREFIX}/pkgs`, { id: "imagespec-micromamba-pkgs" }),
          this.bindMount("/bin/micromamba", "/usr/local/bin/micromamba", stage),
        ],
        description: creating
          ? `create the conda environment ${CONDA_PREFIX}: ${shellJoin([python, "pip", ...packages])}`
          : `conda install ${shellJoin(packages)}`,
      }),
    ];
    if (creating) {
      out.push(`ENV CONDA_PREFIX=${CONDA_PREFIX} PATH=${CONDA_PREFIX}/bin:$PATH`);
      this.python = pythonEnvironment("conda", CONDA_PREFIX, this.image.pythonVersion);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------- instructions

  /** Every stage name a COPY or another stage may refer to. */
  #stageNames(): Set<string> {
    const names = new Set([...this.stages.values()].map((s) => s.name));
    for (const split of this.splits) {
      names.add(split.name);
      for (const stage of split.stages) names.add(stage.name);
    }
    return names;
  }

  /** A build stage for the current layer; the first one cuts the image's stage at this layer. */
  buildStage(options: DockerBuildStageOptions = {}): DockerBuildStage {
    const layer = this.#currentLayer;
    if (layer === undefined) throw new ImageSpecError("PLUGIN_ERROR", "Cannot add a build stage: only a layer's renderer can add one");
    const where = `layers[${layer.index}] (${layer.kind})`;
    if (options.name !== undefined && !STAGE_NAME_HINT.test(options.name)) {
      throw new ImageSpecError(
        "PLUGIN_ERROR",
        `Cannot add a build stage for ${where}: the name ${JSON.stringify(options.name)} is not lowercase letters, digits and '-' (at most 31)`,
        {
          value: options.name,
        },
      );
    }
    let from: string | undefined;
    if (options.from !== undefined) {
      if (this.#stageNames().has(options.from)) from = options.from;
      else if (normalizeImageReference(options.from) !== undefined) {
        from = options.from;
        this.stageReferences.add(options.from);
      } else {
        throw new ImageSpecError(
          "PLUGIN_ERROR",
          `Cannot add a build stage for ${where}: from ${JSON.stringify(options.from)} is neither an image reference nor a stage added before`,
          {
            value: options.from,
            hint: "Give an image reference ([registry/]name[:tag][@digest]) or the name of a stage this layer added.",
          },
        );
      }
    }
    let split = this.splits.at(-1);
    if (split?.layerIndex !== layer.index) {
      split = { atLine: this.lines.length, name: `imagespec-before-layer-${layer.index}`, layerIndex: layer.index, stages: [] };
      this.splits.push(split);
    }
    const base = `imagespec-layer-${layer.index}-${options.name ?? "stage"}`;
    const taken = this.#stageNames();
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}-${k}`;
    const state: BuildStageState = { name, from, layerIndex: layer.index, layerKind: layer.kind, lines: [] };
    split.stages.push(state);
    return Object.freeze({
      name,
      add: (...instructions: readonly string[]) => {
        for (const text of instructions) state.lines.push(this.#line(text, layer.index, layer.kind));
      },
    });
  }

  stage(reference: string): string {
    if (normalizeImageReference(reference) === undefined) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot add a build stage${this.#currentLayer ? ` for layers[${this.#currentLayer.index}] (${this.#currentLayer.kind})` : ""}: ${showValue(reference)} is not an image reference`,
        {
          ...(this.#currentLayer && { field: `layers[${this.#currentLayer.index}]` }),
          value: reference,
          hint: "Write it as [registry/]name[:tag][@digest].",
        },
      );
    }
    dockerfileImageReference(reference);
    let stage = this.stages.get(reference);
    if (!stage) {
      stage = { name: `imagespec-stage-${this.stages.size}`, layerIndex: this.#currentLayer?.index };
      this.stages.set(reference, stage);
    }
    return stage.name;
  }

  cacheMount(target: string, options: DockerCacheMountOptions = {}): string {
    const id = options.id ?? `imagespec-${target.replace(/^\/+/, "").replace(/[^A-Za-z0-9._-]+/g, "-")}`;
    return mount([
      ["type", "cache"],
      ["id", id],
      ["target", target],
      ["sharing", options.sharing ?? "private"],
      ["mode", options.mode ?? "0777"],
    ]);
  }

  bindMount(source: string, target: string, from?: string): string {
    return mount([["type", "bind"], ...(from === undefined ? [] : ([["from", from]] as [string, string][])), ["source", source], ["target", target]]);
  }

  secretMounts(mounts: readonly SecretMount[]): { flags: string[]; prelude: string } {
    const flags: string[] = [];
    let prelude = "";
    for (const secret of mounts) {
      this.#registerSecret(secret);
      const target = secret.target ?? `/run/secrets/${secret.id}`;
      flags.push(
        mount([
          ["type", "secret"],
          ["id", secret.id],
          ["target", target],
          ["required", "true"],
        ]),
      );
      if (secret.asEnv !== undefined) prelude += `${secret.asEnv}="$(cat ${shellQuote(target)})"; export ${secret.asEnv}; `;
    }
    return { flags, prelude };
  }

  #registerSecret(secret: SecretMount): void {
    const source = normalizeSecretSource(secret);
    const existing = this.secrets.get(secret.id);
    if (existing && (existing.src !== source.src || existing.env !== source.env)) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot use secret ${JSON.stringify(secret.id)} twice with different sources (${describeSource(existing)} and ${describeSource(source)})`,
        {
          field: "secretMounts",
          value: secret.id,
          hint: "Give each secret source its own id.",
        },
      );
    }
    this.secrets.set(secret.id, source);
  }

  sshMounts(mounts: readonly SshMount[]): string[] {
    return mounts.map((forward) => {
      this.#registerSsh(forward);
      return mount([
        ["type", "ssh"],
        ["id", forward.id],
        ...(forward.target === undefined ? [] : ([["target", forward.target]] as [string, string][])),
        ["required", "true"],
      ]);
    });
  }

  #registerSsh(forward: SshMount): void {
    const source = forward.keys === undefined ? { id: forward.id } : { id: forward.id, keys: [...forward.keys] };
    const existing = this.ssh.get(forward.id);
    if (existing && JSON.stringify(existing.keys ?? null) !== JSON.stringify(source.keys ?? null)) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot use the SSH mount ${JSON.stringify(forward.id)} twice with different keys (${describeKeys(existing)} and ${describeKeys(source)})`,
        {
          field: "sshMounts",
          value: forward.id,
          hint: "Give each set of keys its own id.",
        },
      );
    }
    this.ssh.set(forward.id, source);
  }

  run(script: string, options: DockerRunOptions = {}): string {
    for (const flag of options.mounts ?? []) {
      if (typeof flag !== "string" || !flag.startsWith("--mount=") || /[\r\n\0]/.test(flag)) {
        throw new ImageSpecError("PLUGIN_ERROR", `Cannot write a RUN step: ${JSON.stringify(flag)} is not a mount from cacheMount, bindMount or secretMounts`, {
          value: flag,
        });
      }
    }
    const secrets = options.secrets && options.secrets.length > 0 ? this.secretMounts(options.secrets) : { flags: [], prelude: "" };
    const ssh = options.ssh && options.ssh.length > 0 ? this.sshMounts(options.ssh) : [];
    const flags = [...(options.mounts ?? []), ...secrets.flags, ...ssh];
    const text = `RUN ${flags.map((f) => `${f} `).join("")}${dockerfileJsonArray(["/bin/sh", "-c", `${secrets.prelude}${script}`])}`;
    return this.describe(text, options.description ?? script);
  }

  env(layerIndex: number, vars: Readonly<Record<string, string>>): string[] {
    const pairs: string[] = [];
    const args: string[] = [];
    for (const [name, value] of Object.entries(vars)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new ImageSpecError("INVALID_SPEC", `Cannot set the environment variable ${JSON.stringify(name)}: a name is letters, digits and '_'`, {
          value: name,
        });
      }
      if (fitsDockerfileWord(value)) {
        pairs.push(`${name}=${dockerfileWord(value)}`);
      } else {
        // A Dockerfile word cannot hold a line break: the value travels as a build argument and ENV copies it as is.
        const arg = `IMAGESPEC_ENV_${layerIndex}_${this.#argCounter++}`;
        this.buildArgs[arg] = value;
        args.push(`ARG ${arg}`);
        pairs.push(`${name}="\${${arg}}"`);
      }
    }
    // One ENV line while it fits in a Dockerfile line; long values get lines of their own.
    const lines: string[] = [];
    for (const pair of pairs) {
      const last = lines.at(-1);
      if (last !== undefined && Buffer.byteLength(last) + 1 + Buffer.byteLength(pair) <= DOCKERFILE_LINE_LIMIT) lines[lines.length - 1] = `${last} ${pair}`;
      else lines.push(`ENV ${pair}`);
    }
    return [...args, ...lines];
  }

  copy(source: string, destination: string, options: DockerCopyOptions = {}): string {
    let flag = "";
    if (options.from !== undefined) {
      if (!this.#stageNames().has(options.from)) {
        throw new ImageSpecError("PLUGIN_ERROR", `Cannot write a COPY from ${JSON.stringify(options.from)}: it is not a stage of this Dockerfile`, {
          value: options.from,
          hint: "Copy from the name of a stage made with buildStage() or stage().",
        });
      }
      flag = `${dockerfileFlag("from", options.from)} `;
    }
    return `COPY ${flag}${dockerfileJsonArray([jsonFormWord(source), jsonFormWord(destination)])}`;
  }

  contextFor(layerIndex: number): DockerRenderContext {
    return Object.freeze({
      image: this.image,
      layerIndex,
      addFile: (local: string, options?: { readonly name?: string }) => this.addFile(layerIndex, local, options?.name),
      addFolder: (local: string, options?: { readonly select?: "all" | "tracked" }) => this.addFolder(layerIndex, local, options?.select ?? "all"),
      addContent: (name: string, content: string | Uint8Array, options?: { readonly executable?: boolean }) => {
        checkContextName(name, layerIndex);
        return this.addContent(`${this.#contextDir(layerIndex)}/${name}`, content, options?.executable ?? false);
      },
      python: () => this.usePython(),
      stage: (reference: string) => this.stage(reference),
      buildStage: (options?: DockerBuildStageOptions) => this.buildStage(options),
      cacheMount: (target: string, options?: DockerCacheMountOptions) => this.cacheMount(target, options),
      bindMount: (source: string, target: string, options?: { readonly from?: string }) => this.bindMount(source, target, options?.from),
      secretMounts: (mounts: readonly SecretMount[]) => this.secretMounts(mounts),
      sshMounts: (mounts: readonly SshMount[]) => this.sshMounts(mounts),
      run: (script: string, options?: DockerRunOptions) => this.run(script, options),
      env: (vars: Readonly<Record<string, string>>) => this.env(layerIndex, vars),
      copy: (source: string, destination: string, options?: DockerCopyOptions) => this.copy(source, destination, options),
      quote: quoting,
    });
  }
}

export function pythonEnvironment(kind: "venv" | "conda", prefix: string, version: string | undefined): DockerPythonEnvironment {
  const python = `${prefix}/bin/python`;
  return Object.freeze({ kind, prefix, python, pip: Object.freeze([python, "-m", "pip"]), version });
}

/**
 * An element of COPY's JSON form. BuildKit still expands variables and removes quotes in it, so a value with `\`,
 * quotes, `$` or whitespace is written as a Dockerfile word; plain text stays plain, for readability.
 */
function jsonFormWord(value: string): string {
  return /[\\"'$\s]/.test(value) ? dockerfileWord(value) : value;
}

function mount(fields: readonly (readonly [string, string])[]): string {
  return dockerfileFlag("mount", fields.map(([key, value]) => mountOption(key, value)).join(","));
}

/** A secret's value comes from a file (`src`) or an environment variable (`env`, by default the id). */
function normalizeSecretSource(secret: SecretMount): SecretMount {
  if (secret.src !== undefined) return { id: secret.id, src: secret.src };
  return { id: secret.id, env: secret.env ?? secret.id };
}

function describeKeys(forward: SshMount): string {
  return forward.keys === undefined ? "the agent at SSH_AUTH_SOCK" : `keys ${forward.keys.join(", ")}`;
}

function describeSource(secret: SecretMount): string {
  return secret.src !== undefined ? `file ${secret.src}` : `variable ${secret.env}`;
}

/** BuildKit refuses a Dockerfile line longer than DOCKERFILE_LINE_LIMIT bytes: refuse it here, naming the layer, before any build. */
function checkLineLength(text: string, index: number | undefined, kind: string | undefined): void {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= DOCKERFILE_LINE_LIMIT) return;
  const where = index === undefined ? "an instruction of its own" : `layers[${index}] (${kind})`;
  throw new ImageSpecError(
    "INVALID_SPEC",
    `Cannot render ${where} for Docker: one of its instructions is ${bytes} bytes, and BuildKit reads Dockerfile lines of at most ${DOCKERFILE_LINE_LIMIT} bytes`,
    {
      ...(index !== undefined && { field: `layers[${index}]` }),
      hint: "Shorten the command or value (put a long script or content in a file and copy it).",
    },
  );
}

function checkContextName(name: string, layerIndex: number): void {
  if (name === "" || name === "." || name === ".." || /[/\0\r\n]/.test(name)) {
    throw new ImageSpecError("PLUGIN_ERROR", `Cannot add ${showValue(name)} to the build context for layers[${layerIndex}]: a name is one path component`, {
      value: name,
    });
  }
}
