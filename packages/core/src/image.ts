/**
 * The fluent API. An Image is a base plus an ordered list of layers; every `with*` method returns a new frozen
 * Image with one more layer, nothing mutates. Identity (id, tag, uri) is derived from the definition in
 * identity.ts and memoised per instance.
 */

import { statSync } from "node:fs";
import path from "node:path";
import * as z from "zod";
import {
  aptPackagesLayer,
  codeBundleLayer,
  commandsLayer,
  condaPackagesLayer,
  copyLayer,
  cudaLayer,
  dockerignoreLayer,
  entrypointLayer,
  envLayer,
  type PipOptions,
  pipPackagesLayer,
  requirementsLayer,
  runtimePackagesLayer,
  type SecretMountInput,
  type SshMountInput,
  workdirLayer,
} from "./builtin-layers.js";
import { ImageSpecError, showValue } from "./errors.js";
import { checkImageName, checkPlatform, checkPythonExec, checkPythonVersion, checkRegistry, checkTagFormat, NAME_LENGTH_LIMIT } from "./grammar.js";
import { computeIdentity, type ImageIdentity, imageId } from "./identity.js";
import { createLayer, type Layer, type LayerDefinition, layerDefinition } from "./layer.js";
import { normalizeImageReference } from "./reference.js";
import { createDockerConfigResolver, type Existence, RegistryClient } from "./registry/index.js";
import { NATIVE_PLATFORM } from "./platform.js";
import { grammarString, parseOrThrow } from "./validation.js";

export const DEFAULT_PYTHON_VERSION = "3.12";
export const DEFAULT_IMAGE_NAME = "imagespec";
export const DEFAULT_TAG_FORMAT = "{spec_hash}";
export const DEFAULT_PLATFORM = "linux/amd64";
/** The official slim Debian Python image; `IMAGESPEC_DEBIAN_BASE_IMAGE` overrides it (a template with `{python_version}`). */
export const DEFAULT_DEBIAN_BASE_TEMPLATE = "python:{python_version}-slim-bookworm";
/** The variable a built image carries its definition id in. */
export const IMAGE_ID_ENV = "IMAGESPEC_IMAGE_ID";

export type BaseImage =
  /** `Image.fromDebianBase`: a Debian image with the given Python; `uri` is the resolved base reference. */
  | { readonly type: "debian"; readonly pythonVersion: string; readonly uri: string }
  /** An existing image by reference. */
  | { readonly type: "uri"; readonly uri: string }
  /** Another Image, built first. */
  | { readonly type: "image"; readonly image: Image }
  /** A Dockerfile and its build context, both relative to the image root. Such an image takes no layers. */
  | { readonly type: "dockerfile"; readonly dockerfile: string; readonly context: string };

/** Options every constructor accepts. */
export interface ImageOptions {
  /** Where the image is pushed, e.g. `ghcr.io/my-org` or `127.0.0.1:5000`. No registry: a local image, never pushed. */
  registry?: string;
  /** Repository name inside the registry. Default `imagespec`. */
  name?: string;
  /**
   * One or several `os/arch[/variant]`, or `native`: the platform of the engine that builds it, resolved before the
   * tag is computed. Default `linux/amd64` (a fixed default keeps tags the same on every machine).
   */
  platform?: string | readonly string[];
  /** The Python version the image runs (for `fromBase`: the one the base has). */
  pythonVersion?: string;
  /** The Python interpreter in the image to install packages with, when it is not the default `python3`. */
  pythonExec?: string;
  /** Folder that relative paths of this image are relative to. Default: the current directory. */
  root?: string;
  /** Builder type to use (`docker`, `envd`, ...), instead of the engine's choice. */
  builder?: string;
  /** Options passed to the builder. They enter the tag, since they may change what is built. */
  builderOptions?: Readonly<Record<string, unknown>>;
  /**
   * How the builder that builds it runs (network, engine, cache settings), merged over the config file's
   * `builders.<type>`: flat keys for whichever builder builds it, and sections by builder type
   * (`{ docker: { network: "host" } }`) for one builder only. Does not enter the tag.
   */
  builderConfig?: Readonly<Record<string, unknown>>;
  /** How the tag is formatted; must contain `{spec_hash}`. */
  tagFormat?: string;
  /** A Docker config file with registry credentials for this image. */
  registryConfig?: string;
}

interface ImageState {
  readonly base: BaseImage;
  readonly name: string;
  readonly registry: string | undefined;
  readonly platforms: readonly string[];
  /** The platforms as written, `native` included; equal to `platforms` until `native` is resolved. */
  readonly declaredPlatforms: readonly string[];
  readonly nativePlatform: NativePlatform | undefined;
  readonly pythonVersion: string | undefined;
  readonly pythonExec: string | undefined;
  readonly layers: readonly Layer[];
  readonly root: string;
  readonly builder: string | undefined;
  readonly builderOptions: Readonly<Record<string, unknown>> | undefined;
  readonly builderConfig: Readonly<Record<string, unknown>> | undefined;
  readonly tagFormat: string;
  readonly forcePush: boolean;
  readonly registryConfig: string | undefined;
}

const optionsSchema = z
  .object({
    registry: grammarString(checkRegistry).optional(),
    name: grammarString(checkImageName).optional(),
    platform: z.union([grammarString(checkPlatform), z.array(grammarString(checkPlatform)).min(1)]).optional(),
    pythonVersion: grammarString(checkPythonVersion).optional(),
    pythonExec: grammarString(checkPythonExec).optional(),
    root: z.string().min(1).optional(),
    builder: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, "a builder type is lowercase letters, digits and '-'")
      .optional(),
    builderOptions: z.record(z.string(), z.unknown()).optional(),
    builderConfig: z.record(z.string(), z.unknown()).optional(),
    tagFormat: grammarString(checkTagFormat).optional(),
    registryConfig: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((opts, ctx) => {
    const name = opts.name ?? DEFAULT_IMAGE_NAME;
    if (opts.registry !== undefined && `${opts.registry}/${name}`.length > NAME_LENGTH_LIMIT) {
      ctx.addIssue({
        code: "custom",
        path: [opts.name === undefined ? "registry" : "name"],
        message: `the registry and the name together are at most ${NAME_LENGTH_LIMIT} characters (here ${opts.registry.length + 1 + name.length})`,
      });
    }
  });

const OPTION_KEYS = Object.keys(optionsSchema.shape);

const CONSTRUCT = Symbol("construct");
/** Recognises Images from any copy of @imagespec/core (a project may end up with two). */
const IMAGE_MARKER = Symbol.for("imagespec.image");

/** What `native` was resolved to, and by which engine. */
export interface NativePlatform {
  readonly platform: string;
  /** The engine whose platform it is, e.g. `docker unix:///var/run/docker.sock`. */
  readonly source: string;
}

function isPipOptions(value: unknown): value is PipOptions {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class Image {
  /** What the image starts from: the Debian base, a reference, another Image, or a Dockerfile. */
  readonly base: BaseImage;
  /** Repository name inside the registry. */
  readonly name: string;
  /** Where the image is pushed; undefined for a local image. */
  readonly registry: string | undefined;
  /** The platforms to build for, e.g. `["linux/amd64"]`; `native` until the build engine resolves it. */
  readonly platforms: readonly string[];
  /** The platforms as written (`native` stays `native`): what the id is computed from. */
  readonly declaredPlatforms: readonly string[];
  /** What `native` was resolved to, once it was (`resolveNativePlatform`). */
  readonly nativePlatform: NativePlatform | undefined;
  /** The Python version the image runs, when known. */
  readonly pythonVersion: string | undefined;
  /** The interpreter packages are installed with, when it is not the default. */
  readonly pythonExec: string | undefined;
  /** The layers, in order, each frozen plain data `{ kind, ...fields }`. */
  readonly layers: readonly Layer[];
  /** Absolute folder that the layers' relative paths are relative to. */
  readonly root: string;
  /** The builder type this image asks for, if any. */
  readonly builder: string | undefined;
  /** Builder options (they enter the tag). */
  readonly builderOptions: Readonly<Record<string, unknown>> | undefined;
  /** How the builder runs (does not enter the tag). */
  readonly builderConfig: Readonly<Record<string, unknown>> | undefined;
  /** The tag format, with `{spec_hash}`. */
  readonly tagFormat: string;
  /** Build and push even when the tag already exists. */
  readonly forcePushRequested: boolean;
  /** A Docker config file with registry credentials for this image. */
  readonly registryConfig: string | undefined;

  /** Use the static constructors: `Image.fromDebianBase`, `Image.fromBase`, `Image.fromDockerfile`. */
  private constructor(token: typeof CONSTRUCT, state: ImageState) {
    if (token !== CONSTRUCT) throw new TypeError("Use Image.fromDebianBase, Image.fromBase or Image.fromDockerfile");
    this.base = state.base;
    this.name = state.name;
    this.registry = state.registry;
    this.platforms = Object.freeze([...state.platforms]);
    this.declaredPlatforms = Object.freeze([...state.declaredPlatforms]);
    this.nativePlatform = state.nativePlatform && Object.freeze({ ...state.nativePlatform });
    this.pythonVersion = state.pythonVersion;
    this.pythonExec = state.pythonExec;
    this.layers = Object.freeze([...state.layers]);
    this.root = state.root;
    this.builder = state.builder;
    this.builderOptions = state.builderOptions && Object.freeze({ ...state.builderOptions });
    this.builderConfig = state.builderConfig && Object.freeze({ ...state.builderConfig });
    this.tagFormat = state.tagFormat;
    this.forcePushRequested = state.forcePush;
    this.registryConfig = state.registryConfig;
    Object.defineProperty(this, IMAGE_MARKER, { value: true });
    Object.freeze(this);
  }

  // ------------------------------------------------------------------------------------------------ constructors

  /**
   * A Debian image with Python: by default the official `python:<version>-slim-bookworm`; the environment
   * variable `IMAGESPEC_DEBIAN_BASE_IMAGE` (with `{python_version}`) points it elsewhere, e.g. at a mirror.
   */
  static fromDebianBase(options: ImageOptions = {}): Image {
    const opts = parseOrThrow(optionsSchema, options, "create an image from the Debian base", OPTION_KEYS);
    const pythonVersion = opts.pythonVersion ?? DEFAULT_PYTHON_VERSION;
    return Image.#create(opts, { type: "debian", pythonVersion, uri: debianBaseImage(pythonVersion) }, pythonVersion);
  }

  /** Starts from an existing image: a reference such as `python:3.12-slim`, or another Image (built first). */
  static fromBase(base: string | Image, options: ImageOptions = {}): Image {
    const opts = parseOrThrow(optionsSchema, options, "create an image from a base", OPTION_KEYS);
    if (isImage(base)) return Image.#create(opts, { type: "image", image: base }, opts.pythonVersion ?? base.pythonVersion);
    if (base === undefined || base === null) {
      // An imported base that is still undefined when this runs: the modules import each other.
      throw new ImageSpecError("INVALID_SPEC", `Cannot create an image from base ${String(base)}: the base is not defined yet when this line runs`, {
        field: "base",
        value: String(base),
        hint:
          "When the base is imported, the two modules import each other (an import cycle), so one runs before the other has defined its exports: " +
          "move the base into a module of its own that both import. In one file, define the base above the images built on it.",
      });
    }
    const file = typeof base === "string" ? definitionFileName(base) : undefined;
    if (file !== undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot create an image from base ${showValue(base)}: it names a ${file} file, not an image reference`, {
        field: "base",
        value: base,
        hint:
          'To build on an image defined in a file, load it and pass it: Image.fromBase(await loadImageSpecFile("base.yaml")). ' +
          "In YAML, nest the base's fields as a mapping under base_image. An image really named so takes an explicit tag, e.g. name.yaml:latest.",
      });
    }
    if (typeof base !== "string" || normalizeImageReference(base) === undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot create an image from base ${showValue(base)}: it is not a valid image reference`, {
        field: "base",
        value: base,
        hint: "Write it as [registry/]name[:tag][@digest], e.g. python:3.12-slim or ghcr.io/org/base:1.0.",
      });
    }
    return Image.#create(opts, { type: "uri", uri: base }, opts.pythonVersion);
  }

  /**
   * An image built from your own Dockerfile. The Dockerfile and its context folder (default: the Dockerfile's
   * folder) enter the tag. Such an image cannot take layers: put them in the Dockerfile.
   */
  static fromDockerfile(dockerfile: string, options: ImageOptions & { context?: string } = {}): Image {
    const { context, ...rest } = options;
    const opts = parseOrThrow(optionsSchema, rest, "create an image from a Dockerfile", OPTION_KEYS);
    const root = path.resolve(opts.root ?? process.cwd());
    const file = relativeTo(root, dockerfile, "dockerfile");
    const ctx = relativeTo(root, context ?? path.dirname(path.resolve(root, dockerfile)), "context");
    return Image.#create(opts, { type: "dockerfile", dockerfile: file, context: ctx }, opts.pythonVersion);
  }

  static #create(opts: z.output<typeof optionsSchema>, base: BaseImage, pythonVersion: string | undefined): Image {
    const platform = opts.platform ?? DEFAULT_PLATFORM;
    const platforms = normalizePlatforms(typeof platform === "string" ? [platform] : platform);
    return new Image(CONSTRUCT, {
      base,
      name: opts.name ?? DEFAULT_IMAGE_NAME,
      registry: opts.registry,
      platforms,
      declaredPlatforms: platforms,
      nativePlatform: undefined,
      pythonVersion,
      pythonExec: opts.pythonExec,
      layers: [],
      root: path.resolve(opts.root ?? process.cwd()),
      builder: opts.builder,
      builderOptions: opts.builderOptions,
      builderConfig: opts.builderConfig,
      tagFormat: opts.tagFormat ?? DEFAULT_TAG_FORMAT,
      forcePush: false,
      registryConfig: opts.registryConfig,
    });
  }

  #state(): ImageState {
    return {
      base: this.base,
      name: this.name,
      registry: this.registry,
      platforms: this.platforms,
      declaredPlatforms: this.declaredPlatforms,
      nativePlatform: this.nativePlatform,
      pythonVersion: this.pythonVersion,
      pythonExec: this.pythonExec,
      layers: this.layers,
      root: this.root,
      builder: this.builder,
      builderOptions: this.builderOptions,
      builderConfig: this.builderConfig,
      tagFormat: this.tagFormat,
      forcePush: this.forcePushRequested,
      registryConfig: this.registryConfig,
    };
  }

  #with(changes: Partial<ImageState>): Image {
    return new Image(CONSTRUCT, { ...this.#state(), ...changes });
  }

  // ------------------------------------------------------------------------------------------------ layers

  /** Appends a layer of any kind, core's or a layer package's. The fields are validated by the kind's schema. */
  withLayer<Fields extends object>(definition: LayerDefinition<string, Fields>, fields: Fields): Image {
    return this.#append(definition, fields, `add a ${definition.kind} layer`);
  }

  #append(definition: LayerDefinition, fields: unknown, action: string): Image {
    if (this.base.type === "dockerfile") {
      throw new ImageSpecError(
        "NOT_EXTENDABLE",
        `Cannot ${action}: this image is built from the Dockerfile ${showValue(this.base.dockerfile)} and takes no layers`,
        {
          field: "layers",
          value: definition.kind,
          hint: "Put the step in the Dockerfile, or start a new image with Image.fromBase(thisImage) and add layers there.",
        },
      );
    }
    const layer = createLayer(definition, fields, action);
    return this.#with({ layers: [...this.layers, layer] });
  }

  /**
   * pip packages, PEP 508 specifiers exactly as written (`"pandas<2,>=1.5"`). An options object may come last:
   * `withPipPackages("numpy", "pandas", { indexUrl, extraIndexUrls, pre, extraArgs, secretMounts, sshMounts })`.
   */
  withPipPackages(...args: [...packages: string[], options: PipOptions] | string[]): Image {
    const last = args.at(-1);
    const options = isPipOptions(last) ? last : {};
    const packages = (isPipOptions(last) ? args.slice(0, -1) : args) as string[];
    return this.#append(pipPackagesLayer, { packages, ...options }, "add pip packages");
  }

  /** A pip requirements file (`.txt`); its bytes enter the tag. */
  withRequirements(file: string, options: PipOptions = {}): Image {
    return this.#append(requirementsLayer, { file: this.#local(file, "file"), ...options }, "add a requirements file");
  }

  /** Debian packages; an options object with `secretMounts` may come last. */
  withAptPackages(...args: [...packages: string[], options: { secretMounts?: readonly SecretMountInput[] }] | string[]): Image {
    const last = args.at(-1);
    const options = isPipOptions(last) ? last : {};
    const packages = isPipOptions(last) ? args.slice(0, -1) : args;
    return this.#append(aptPackagesLayer, { packages, ...options }, "add apt packages");
  }

  /** Conda packages, installed with micromamba; `channels` in priority order. */
  withCondaPackages(packages: readonly string[], options: { channels?: readonly string[] } = {}): Image {
    return this.#append(condaPackagesLayer, { packages, ...options }, "add conda packages");
  }

  /** Copies a folder into the image (ignore files applied). `dst` is relative to the working directory unless absolute. */
  withSourceFolder(src: string, dst = "."): Image {
    return this.#append(copyLayer, { src: this.#local(src, "src"), dst, type: "folder" }, "add a source folder");
  }

  /** Copies one file into the image. */
  withSourceFile(src: string, dst = "."): Image {
    return this.#append(copyLayer, { src: this.#local(src, "src"), dst, type: "file" }, "add a source file");
  }

  /** A .dockerignore-syntax file whose patterns apply to every folder this image copies. */
  withDockerignore(file: string): Image {
    return this.#append(dockerignoreLayer, { file: this.#local(file, "file") }, "add an ignore file");
  }

  /** Environment variables; values arrive in the image exactly as written (quotes, `$`, newlines included). */
  withEnvVars(vars: Readonly<Record<string, string>>): Image {
    return this.#append(envLayer, { vars }, "add environment variables");
  }

  /** The working directory for the following layers and for the container. */
  withWorkdir(dir: string): Image {
    return this.#append(workdirLayer, { path: dir }, "set the working directory");
  }

  /**
   * Shell commands, run in order, one step each. `secretMounts` and `sshMounts` (an SSH agent, for `git` over SSH)
   * are available to every one of these steps and to none after them.
   */
  withCommands(
    commands: string | readonly string[],
    options: { secretMounts?: readonly SecretMountInput[]; sshMounts?: readonly SshMountInput[] } = {},
  ): Image {
    return this.#append(commandsLayer, { commands: typeof commands === "string" ? [commands] : commands, ...options }, "add commands");
  }

  /** The container's entrypoint in exec form; `[]` removes the base image's entrypoint. */
  withEntrypoint(command: readonly string[]): Image {
    return this.#append(entrypointLayer, { command }, "set the entrypoint");
  }

  /**
   * The project's source as a code bundle: copied into the image normally, but left out of the image and the tag
   * in fast mode (`imagespec build --fast`, `image.forFastRegistration()`), where it is shipped separately.
   * `copyStyle`: `all` (ignore files applied), `tracked` (files git tracks) or `none` (no layer).
   */
  withCodeBundle(options: { src?: string; dst?: string; copyStyle?: "all" | "tracked" | "none" } = {}): Image {
    const copyStyle = options.copyStyle ?? "all";
    if (copyStyle === "none") return this;
    return this.#append(codeBundleLayer, { src: this.#local(options.src ?? ".", "src"), dst: options.dst ?? ".", select: copyStyle }, "add a code bundle");
  }

  /** Python packages pip installs when the container starts (pip must be in the image). */
  withRuntimePackages(...packages: string[]): Image {
    return this.#append(runtimePackagesLayer, { packages }, "add runtime packages");
  }

  /**
   * CUDA and optionally cuDNN, e.g. `{ cuda: "12.4.1", cudnn: "9" }`. The docker builder starts such an image from
   * NVIDIA's CUDA image instead of the Debian base, and refuses it on any other base.
   */
  withCuda(options: { cuda: string; cudnn?: string }): Image {
    return this.#append(cudaLayer, options, "add CUDA");
  }

  /** The platform(s) to build for; replaces the current ones. */
  withPlatform(...platforms: string[]): Image {
    const opts = parseOrThrow(optionsSchema, { platform: platforms.length === 1 ? platforms[0] : platforms }, "set the platform");
    const list = normalizePlatforms(typeof opts.platform === "string" ? [opts.platform] : (opts.platform ?? [DEFAULT_PLATFORM]));
    return this.#with({ platforms: list, declaredPlatforms: list, nativePlatform: undefined });
  }

  /** True while the platforms include `native`, which the build engine resolves before hashing. */
  get hasNativePlatform(): boolean {
    return this.platforms.includes(NATIVE_PLATFORM);
  }

  /**
   * The image with `native` replaced by the engine's platform (`source` names the engine, for `explain`). The id
   * does not change (it is computed from the platforms as written); the tag is that of the concrete platforms.
   * The build engine calls this; an image without `native` is returned as it is.
   */
  resolveNativePlatform(platform: string, source: string): Image {
    if (!this.hasNativePlatform) return this;
    const problem = platform === NATIVE_PLATFORM ? "it must be a concrete os/arch[/variant]" : checkPlatform(platform);
    if (problem !== undefined) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot resolve the native platform of ${this.name} to ${showValue(platform)} (from ${source}): ${problem}`, {
        field: "platform",
        value: platform,
      });
    }
    const platforms = normalizePlatforms(this.platforms.map((p) => (p === NATIVE_PLATFORM ? platform : p)));
    return this.#with({ platforms, nativePlatform: { platform, source } });
  }

  // ------------------------------------------------------------------------------------------------ variants

  /**
   * The same definition under another registry, name or Python version (a Debian base follows the version), or
   * with its Debian base taken from another template (`debianBaseImage`, with `{python_version}`).
   */
  clone(options: { registry?: string; name?: string; pythonVersion?: string; platform?: string | readonly string[]; debianBaseImage?: string } = {}): Image {
    const { debianBaseImage: template, ...rest } = options;
    const opts = parseOrThrow(optionsSchema, rest, "clone the image", OPTION_KEYS);
    const changes: Partial<{ -readonly [K in keyof ImageState]: ImageState[K] }> = {};
    if (opts.registry !== undefined) changes.registry = opts.registry;
    if (opts.name !== undefined) changes.name = opts.name;
    if (opts.platform !== undefined) {
      changes.platforms = normalizePlatforms(typeof opts.platform === "string" ? [opts.platform] : opts.platform);
      changes.declaredPlatforms = changes.platforms;
      changes.nativePlatform = undefined;
    }
    if (opts.pythonVersion !== undefined) {
      changes.pythonVersion = opts.pythonVersion;
      if (this.base.type === "debian") changes.base = { type: "debian", pythonVersion: opts.pythonVersion, uri: debianBaseImage(opts.pythonVersion, template) };
    }
    if (template !== undefined && this.base.type === "debian" && changes.base === undefined) {
      changes.base = { type: "debian", pythonVersion: this.base.pythonVersion, uri: debianBaseImage(this.base.pythonVersion, template, "debianBaseImage") };
    }
    return this.#with(changes);
  }

  /**
   * The same definition (options, layers, flags) on another base: a reference, or an Image built first. A Dockerfile
   * image has no base to replace.
   */
  withBase(base: string | Image): Image {
    if (this.base.type === "dockerfile") {
      throw new ImageSpecError(
        "NOT_EXTENDABLE",
        `Cannot replace the base of ${this.name}: it is built from the Dockerfile ${showValue(this.base.dockerfile)}`,
        {
          field: "base",
          value: typeof base === "string" ? base : base.name,
        },
      );
    }
    return this.#with({ base: Image.fromBase(base).base });
  }

  /** Builds and pushes even when the tag already exists in the registry. */
  forcePush(): Image {
    return this.#with({ forcePush: true });
  }

  /**
   * The image as fast mode builds it: code bundles (here and in base Images) are shipped separately, so they
   * are left out of the image and the tag. An image without code bundles is returned unchanged.
   */
  forFastRegistration(): Image {
    const layers = this.layers.filter((layer) => !layerDefinition(layer).codeBundle);
    const base = this.base.type === "image" ? this.base.image.forFastRegistration() : undefined;
    const baseChanged = base !== undefined && this.base.type === "image" && base !== this.base.image;
    if (layers.length === this.layers.length && !baseChanged) return this;
    return this.#with({ layers, ...(baseChanged && { base: { type: "image", image: base } }) });
  }

  /**
   * Checks what construction cannot: that every file and folder the layers read exists and is of the right type.
   * Returns the image, so it chains.
   */
  validate(): this {
    const problems: string[] = [];
    const check = (field: string, rel: string, type: "file" | "folder" | "auto") => {
      const abs = path.resolve(this.root, rel);
      try {
        const stat = statSync(abs);
        if (type === "file" && !stat.isFile()) problems.push(`${field} = ${showValue(rel)}: expected a file, found a folder`);
        if (type === "folder" && !stat.isDirectory()) problems.push(`${field} = ${showValue(rel)}: expected a folder, found a file`);
      } catch {
        problems.push(`${field} = ${showValue(rel)}: ${abs} does not exist`);
      }
    };
    if (this.base.type === "dockerfile") {
      check("dockerfile", this.base.dockerfile, "file");
      check("context", this.base.context, "folder");
    }
    this.layers.forEach((layer, i) => {
      for (const input of layerDefinition(layer).inputs?.(layer) ?? []) check(`layers[${i}].${layer.kind}.${input.field}`, input.path, input.type);
    });
    if (problems.length > 0) {
      throw new ImageSpecError("FILE_NOT_FOUND", `Cannot use image ${this.name}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join("\n  - ")}`}`, {
        hint: relativePathHint(this.root),
      });
    }
    if (this.base.type === "image") this.base.image.validate();
    return this;
  }

  // ------------------------------------------------------------------------------------------------ identity

  /** Hash of the definition alone (no file contents, no registry). Built images carry it as `IMAGESPEC_IMAGE_ID`. */
  get id(): string {
    return imageId(this);
  }

  /** Every input of the tag with its own digest, the tag and the URI. Computed once per instance. */
  identity(): Promise<ImageIdentity> {
    return computeIdentity(this);
  }

  /** The tag: `tagFormat` with the content hash of the definition, every file it reads and its base. */
  async tag(): Promise<string> {
    return (await this.identity()).tag;
  }

  /** `<registry>/<name>:<tag>`, or `<name>:<tag>` for a local image. */
  async uri(): Promise<string> {
    return (await this.identity()).uri;
  }

  /**
   * Whether this image's tag is in its registry: `present`, `absent`, or `unknown` with the reason (registry
   * down, credentials refused). A local image (no registry) has nothing to ask: `unknown`.
   */
  async exists(options: { client?: RegistryClient } = {}): Promise<Existence> {
    if (this.registry === undefined) return { status: "unknown", reason: `${this.name} has no registry; a local image is checked by its builder's engine` };
    const client =
      options.client ??
      new RegistryClient({ credentials: createDockerConfigResolver(this.registryConfig ? { configPath: path.resolve(this.root, this.registryConfig) } : {}) });
    return client.manifestExists(await this.uri(), { platforms: this.platforms });
  }

  /**
   * Whether code runs where this image's packages are: true inside a container built from this definition, false
   * inside a container built from another, and true outside any imagespec-built container (running locally), as
   * flytekit's `is_container()` answers. So `if (image.isContainer()) await import("tensorflow-bound-module")` runs
   * the import locally and in this image's containers, and skips it in the others.
   */
  isContainer(): boolean {
    const running = process.env[IMAGE_ID_ENV];
    return running === undefined || running === "" || running === this.id;
  }

  /** A plain description of the definition, for printing and JSON. */
  toJSON(): Record<string, unknown> {
    return {
      base: this.base.type === "image" ? { type: "image", image: this.base.image.toJSON() } : this.base,
      name: this.name,
      registry: this.registry,
      platforms: this.platforms,
      ...(this.nativePlatform && { nativePlatform: this.nativePlatform }),
      pythonVersion: this.pythonVersion,
      pythonExec: this.pythonExec,
      layers: this.layers,
      builder: this.builder,
      builderOptions: this.builderOptions,
      tagFormat: this.tagFormat,
    };
  }

  #local(file: string, field: string): string {
    return relativeTo(this.root, file, field);
  }
}

/** True when the value is an Image from any copy of @imagespec/core. */
export function isImage(value: unknown): value is Image {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[IMAGE_MARKER] === true;
}

/**
 * What a "file not found" says about relative paths: where they are resolved from, and, for a package of a monorepo
 * whose tasks run from another folder, how to make them independent of the current directory.
 */
export function relativePathHint(root: string): string {
  return `Relative paths are relative to ${root} (the definition's root: the current directory unless root is set). When a task runs from another folder (a monorepo package built from the workspace root), set root: import.meta.dirname in the definition so paths are relative to its module.`;
}

/** True when running inside any container built by imagespec. */
export function isContainer(): boolean {
  return Boolean(process.env[IMAGE_ID_ENV]);
}

/**
 * `base.yaml`, `./specs/base.yml`, `images.ts`: a base written as a definition file rather than an image. Such a
 * name is a valid reference (`docker.io/library/base.yaml:latest`), so without a tag it is taken for a mistake.
 * Returns the kind of file (`YAML`, `TypeScript`, ...) or undefined.
 */
export function definitionFileName(reference: string): string | undefined {
  if (/[:@]/.test(reference.slice(reference.lastIndexOf("/") + 1))) return undefined;
  const extension = /\.([a-z]+)$/i.exec(reference)?.[1]?.toLowerCase();
  const kinds: Record<string, string> = { yaml: "YAML", yml: "YAML", json: "JSON", ts: "TypeScript", mts: "TypeScript", js: "JavaScript", mjs: "JavaScript" };
  return extension === undefined ? undefined : kinds[extension];
}

/** The Debian Python base for a Python version: `IMAGESPEC_DEBIAN_BASE_IMAGE`'s template, else `python:<version>-slim-bookworm`. */
export function debianBaseImage(pythonVersion: string, template?: string, source = "IMAGESPEC_DEBIAN_BASE_IMAGE"): string {
  // Without a template (a resolved setting), the environment's: what an Image constructed outside a project starts from.
  const chosen = template ?? (process.env.IMAGESPEC_DEBIAN_BASE_IMAGE || DEFAULT_DEBIAN_BASE_TEMPLATE);
  const uri = chosen.replaceAll("{python_version}", pythonVersion);
  if (normalizeImageReference(uri) === undefined) {
    throw new ImageSpecError("CONFIG_ERROR", `Cannot resolve the Debian base image: ${source} gives ${showValue(uri)}, which is not an image reference`, {
      field: source,
      value: chosen,
      hint: "Set it to a reference template such as registry.example.com/python:{python_version}-slim-bookworm.",
    });
  }
  return uri;
}

function normalizePlatforms(platforms: readonly string[]): string[] {
  return [...new Set(platforms)];
}

/**
 * A local path as layers store it: relative to the image root, with `/` separators, so a definition and its tag do not
 * depend on where the checkout lives. `field` names the option in the error for a path that is not one.
 */
export function relativeTo(root: string, file: unknown, field: string): string {
  if (typeof file !== "string" || file.length === 0 || /[\0\r\n]/.test(file)) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot use path ${showValue(file)}: ${field} must be a non-empty path without newlines`, { field, value: file });
  }
  const rel = path.relative(root, path.resolve(root, file)).split(path.sep).join("/");
  return rel === "" ? "." : rel;
}
