/**
 * The Docker renderer extension point (types only, from @imagespec/core/authoring). A layer package renders its own kinds for
 * @imagespec/builder-docker by giving its definition a `docker` renderer:
 *
 *   const uvProjectLayer = defineLayer({ specificationVersion: "v1", kind: "uvProject", schema, inputs, renderers: { docker: renderUvProject } });
 *   const renderUvProject: DockerLayerRenderer<UvProjectFields> = (layer, ctx) => {
 *     const lock = ctx.addFile(layer.lockFile);
 *     const py = ctx.python();
 *     return [ctx.run(`uv sync --locked --python ${ctx.quote.shellQuote(py.python)}`, { mounts: [ctx.bindMount(lock, "/tmp/uv.lock")] })];
 *   };
 *
 * The docker builder implements the context; every helper that writes Dockerfile text goes through core's quoting
 * module, so a renderer built from them cannot add an instruction or a command that was not asked for.
 */

import type { SecretMount, SshMount } from "./builtin-layers.js";
import type { Image } from "./image.js";

/** Dockerfile instructions, in order, one per string. Each must be a single line: the builder refuses a line break. */
export type DockerInstructions = readonly string[];

/** Renders one layer into Dockerfile instructions. May be async (e.g. to read a lock file). */
export type DockerLayerRenderer<Fields extends object = Record<string, unknown>> = (
  layer: Readonly<{ kind: string } & Fields>,
  context: DockerRenderContext,
) => DockerInstructions | Promise<DockerInstructions>;

/** The Python environment packages are installed into and the container runs. */
export interface DockerPythonEnvironment {
  /** `venv`: a virtual environment the builder created; `conda`: the micromamba environment of conda/CUDA images. */
  readonly kind: "venv" | "conda";
  /** The interpreter, e.g. `/opt/venv/bin/python`. */
  readonly python: string;
  /** The environment's prefix (`sys.prefix`), e.g. `/opt/venv` (for uv: `UV_PROJECT_ENVIRONMENT`). */
  readonly prefix: string;
  /** pip as an argument list, e.g. `["/opt/venv/bin/python", "-m", "pip"]`. */
  readonly pip: readonly string[];
  /** The Python version the image states, if it states one. */
  readonly version: string | undefined;
}

export interface DockerCacheMountOptions {
  /** Cache id, shared by every build on the engine that uses it. Default: `imagespec-` plus the target. */
  readonly id?: string;
  /**
   * Default `private`: a build that finds the cache in use gets a cache of its own, so concurrent builds neither wait
   * for one another (`locked` queues every install on the engine behind the one running) nor write into one cache at
   * once (pip's, apt's and poetry's caches are not safe for that). `shared` only for a tool whose cache is made for
   * concurrent writers, such as uv's or npm's.
   */
  readonly sharing?: "shared" | "private" | "locked";
  /** Octal mode of the cache folder. Default `0777`, so a non-root build user can write to it too. */
  readonly mode?: string;
}

export interface DockerRunOptions {
  /** `--mount=...` flags, from `cacheMount` and `bindMount`. */
  readonly mounts?: readonly string[];
  /**
   * Secrets for this step only: mounted as files (`/run/secrets/<id>` or `target`), or exported to the step's shell as
   * `asEnv`. Never an ARG or ENV; the builder's BuildKit session serves the values when the step runs.
   */
  readonly secrets?: readonly SecretMount[];
  /**
   * SSH agents for this step only (`--mount=type=ssh`): a socket at `target` (default BuildKit's, with
   * `SSH_AUTH_SOCK` set to it), forwarded to an agent on the build machine by the builder's session.
   */
  readonly ssh?: readonly SshMount[];
  /** What the step does, for progress and for the error when it fails. Default: the script. */
  readonly description?: string;
}

/** A build stage a layer adds: its own `FROM ... AS <name>` and instructions, for multi-stage images. */
export interface DockerBuildStage {
  /** The stage's name, for `copy(..., { from })`, `bindMount(..., { from })` and other stages' `from`. */
  readonly name: string;
  /** Appends instructions (made with the context's helpers, one line each) to the stage, in order. */
  add(...instructions: readonly string[]): void;
}

export interface DockerBuildStageOptions {
  /**
   * What the stage starts from: an image reference, or the name of a stage added before. Default: the image as the
   * layers before this one left it (its base, packages, environment), so the stage has everything the image has.
   */
  readonly from?: string;
  /** A short name (lowercase letters, digits, `-`) that the stage's name ends with, e.g. `build`. */
  readonly name?: string;
}

export interface DockerCopyOptions {
  /** Copy from a stage (`buildStage(...).name` or `stage(...)`) instead of the build context: the source is a path there. */
  readonly from?: string;
}

/** Quoting functions of core's one quoting module (see quote.ts). */
export interface DockerQuoting {
  dockerfileWord(value: string): string;
  dockerfileJsonArray(args: readonly string[]): string;
  dockerfileFlag(name: string, value: string): string;
  shellQuote(value: string): string;
  shellJoin(args: readonly string[]): string;
  mountOption(key: string, value: string): string;
}

export interface DockerRenderContext {
  /** The image being rendered (its root, Python version, platforms, ...). */
  readonly image: Image;
  /** Index of the layer being rendered in `image.layers`. */
  readonly layerIndex: number;
  /**
   * Adds a local file (relative to `image.root`) to the build context; returns its path in the context. `name` is
   * the file's name there (default: its own name).
   */
  addFile(path: string, options?: { readonly name?: string }): string;
  /**
   * Adds a local folder (relative to `image.root`) to the build context, with the same selection the tag uses
   * (ignore files, `withDockerignore` patterns, `tracked`, and the `exclude` patterns its input declares); returns the
   * context path of the folder.
   */
  addFolder(path: string, options?: { readonly select?: "all" | "tracked" }): string;
  /** Adds generated content as a file of the build context; returns its path in the context. */
  addContent(name: string, content: string | Uint8Array, options?: { readonly executable?: boolean }): string;
  /**
   * The Python environment to install into. The first call in an image sets it up (the builder inserts the
   * instructions that create it before this layer's own) and puts it first on PATH.
   */
  python(): DockerPythonEnvironment;
  /** A stage `FROM <reference> AS <name>` before the image's own; returns the name, for `bindMount(..., { from })`. */
  stage(reference: string): string;
  /**
   * A build stage of this layer's own (multi-stage builds): `FROM <from> AS <name>` and the instructions added to
   * it. The builder writes the layer's stages before the image's stage continues, so what the image needs from them
   * comes in with `copy(path, destination, { from: stage.name })`; nothing else of a stage reaches the image.
   */
  buildStage(options?: DockerBuildStageOptions): DockerBuildStage;
  /** `--mount=type=cache,...`: a package cache that stays on the engine and never enters the image. */
  cacheMount(target: string, options?: DockerCacheMountOptions): string;
  /** `--mount=type=bind,...`: a context path (or a path in a `stage`) visible to one step only, never in the image. */
  bindMount(source: string, target: string, options?: { readonly from?: string }): string;
  /** The `--mount=type=secret,...` flags for secrets and the shell prelude that exports their `asEnv` variables. */
  secretMounts(mounts: readonly SecretMount[]): { readonly flags: readonly string[]; readonly prelude: string };
  /** The `--mount=type=ssh,...` flags for SSH agents (to pass to `run` as `mounts`, or use `run`'s `ssh`). */
  sshMounts(mounts: readonly SshMount[]): readonly string[];
  /** `RUN [flags] ["/bin/sh", "-c", script]`: exec form, so nothing in the script can add an instruction. */
  run(script: string, options?: DockerRunOptions): string;
  /** ENV instructions with the values exactly as given; a value with a line break travels as a build argument. */
  env(vars: Readonly<Record<string, string>>): DockerInstructions;
  /**
   * `COPY ["<contextPath>", "<destination>"]`; a relative destination is relative to the working directory. With
   * `from`, `COPY --from=<stage>`: the source is a path in that stage.
   */
  copy(source: string, destination: string, options?: DockerCopyOptions): string;
  readonly quote: DockerQuoting;
}
