/**
 * The declarative API: one flat object with every field Flyte's ImageSpec has, compiled into the same layered
 * Image as the fluent API, with layers in a fixed, cache-friendly order: CUDA, system packages, conda, Python
 * packages, requirements, copied files, the source root, env, commands, runtime packages, entrypoint.
 */

import path from "node:path";
import { z } from "zod";
import { copyLayer, envName, type SecretMountInput, secretMountSchema } from "./builtin-layers.js";
import { ImageSpecError, showValue } from "./errors.js";
import {
  checkAptPackage,
  checkCommand,
  checkCondaChannel,
  checkCondaPackage,
  checkContainedRelativePath,
  checkCudaVersion,
  checkCudnnVersion,
  checkEnvValue,
  checkImageName,
  checkIndexUrl,
  checkMountTarget,
  checkPep508,
  checkPlatform,
  checkPythonExec,
  checkPythonVersion,
  checkRegistry,
  checkShellArgument,
  checkTagFormat,
} from "./grammar.js";
import type { ImageIdentity } from "./identity.js";
import { DEFAULT_IMAGE_NAME, Image, type ImageOptions, isImage } from "./image.js";
import { normalizeImageReference } from "./reference.js";
import { grammarString, invalid, parseOrThrow } from "./validation.js";

export type SourceCopyMode = "all" | "tracked" | "none";

/** Every field of the flat spec. Paths are relative to `root` (default: the current directory; a YAML file's folder). */
export interface ImageSpecFields {
  /** Repository name. Default `imagespec`. */
  name?: string;
  /** Where to push, e.g. `ghcr.io/my-org`; none builds a local image. */
  registry?: string;
  /** Tag format with `{spec_hash}`. */
  tagFormat?: string;
  /** Python version, e.g. "3.12" (a string: YAML's 3.10 stays 3.10). */
  pythonVersion?: string;
  /** Interpreter in the image to install packages with. */
  pythonExec?: string;
  /** pip packages, PEP 508 specifiers exactly as written. */
  packages?: readonly string[];
  /** A requirements .txt file. */
  requirements?: string;
  /** Conda packages (match specs such as `numpy=1.26`), installed with micromamba into a conda environment. */
  condaPackages?: readonly string[];
  /** Conda channels, highest priority first; needs `condaPackages`. */
  condaChannels?: readonly string[];
  /** Debian packages, installed with apt-get before anything else. */
  aptPackages?: readonly string[];
  /** A reference, or another spec or Image (built first). Default: the Debian Python base. */
  baseImage?: string | ImageSpec | Image;
  /** Builder type, e.g. `docker`, `envd`, `noop`. */
  builder?: string;
  /** Folder copied into the image at /root as a code bundle (left out in fast mode). */
  sourceRoot?: string;
  /** `all` (ignore files honoured, the default), `tracked` (git-tracked files), `none` (not copied). */
  sourceCopyMode?: SourceCopyMode;
  /** Files and folders copied to /root/<path>; relative paths only, inside the root. */
  copy?: readonly string[];
  /** Environment variables set in the image; values arrive exactly as written. */
  env?: Readonly<Record<string, string>>;
  /** Shell commands run in order, one build step each, after the files are copied and env is set. */
  commands?: readonly string[];
  /** Exec form; `[]` removes the base's entrypoint. */
  entrypoint?: readonly string[];
  /** CUDA version, e.g. "12.4.1" (the docker builder starts from NVIDIA's CUDA image instead of the Debian base). */
  cuda?: string;
  /** cuDNN version, e.g. "9"; needs `cuda`. */
  cudnn?: string;
  /** `linux/amd64`, a list, or a comma-separated list. */
  platform?: string | readonly string[];
  /** The package index pip installs `packages` and `requirements` from (`--index-url`). */
  pipIndex?: string;
  /** More package indexes (`--extra-index-url`), in order: one URL or a list. */
  pipExtraIndexUrl?: string | readonly string[];
  /** Secrets for pip: an id (value from that local env var), `{ id, src|env, target, asEnv }`, or `[localPath, mountPath]`. */
  pipSecretMounts?: readonly (SecretMountInput | readonly [string, string])[];
  /** Extra pip arguments: a list, or one string split like a shell would. */
  pipExtraArgs?: string | readonly string[];
  /** Installed by pip when the container starts. */
  runtimePackages?: readonly string[];
  /** Builder options; they enter the tag because they may change what is built. */
  builderOptions?: Readonly<Record<string, unknown>>;
  /**
   * How the builder that builds it runs (network, engine, cache settings), merged over the config file's
   * `builders.<type>`: flat keys for whichever builder builds it, and sections by builder type
   * (`{ docker: { network: "host" } }`) for one builder only. Does not enter the tag.
   */
  builderConfig?: Readonly<Record<string, unknown>>;
  /** Docker config file with registry credentials. */
  registryConfig?: string;
  /** Build and push even if the tag exists. */
  forcePush?: boolean;
  /** Folder relative paths are relative to. */
  root?: string;
}

const strings = (check: (v: string) => string | undefined) => z.array(grammarString(check));
const localFile = z.string().min(1).refine((p) => !/[\0\r\n]/.test(p), { message: "a path cannot contain NUL or newlines" });

/** The spec schema; not part of the public API (index.ts), read by tools/docs to generate the JSON Schema. */
export const specSchema = z
  .object({
    name: grammarString(checkImageName).optional(),
    registry: grammarString(checkRegistry).optional(),
    tagFormat: grammarString(checkTagFormat).optional(),
    pythonVersion: grammarString(checkPythonVersion).optional(),
    pythonExec: grammarString(checkPythonExec).optional(),
    packages: strings(checkPep508).optional(),
    requirements: localFile.refine((p) => p.toLowerCase().endsWith(".txt"), { message: "a requirements file must be a .txt file" }).optional(),
    condaPackages: strings(checkCondaPackage).optional(),
    condaChannels: strings(checkCondaChannel).optional(),
    aptPackages: strings(checkAptPackage).optional(),
    baseImage: z
      .union([
        z.string().refine((s) => normalizeImageReference(s) !== undefined, { message: "not a valid image reference ([registry/]name[:tag][@digest])" }),
        z.custom<ImageSpec | Image>((v) => isImageSpec(v) || isImage(v), { message: "expected an image reference, an ImageSpec or an Image" }),
      ])
      .optional(),
    builder: z.string().regex(/^[a-z][a-z0-9-]*$/, "a builder type is lowercase letters, digits and '-'").optional(),
    sourceRoot: localFile.optional(),
    sourceCopyMode: z.enum(["all", "tracked", "none"]).optional(),
    copy: strings(checkContainedRelativePath).optional(),
    env: z.record(envName, grammarString(checkEnvValue)).optional(),
    commands: strings(checkCommand).optional(),
    entrypoint: z.array(z.string()).optional(),
    cuda: grammarString(checkCudaVersion).optional(),
    cudnn: grammarString(checkCudnnVersion).optional(),
    platform: z
      .union([z.string().transform((s) => s.split(",").map((p) => p.trim())), z.array(z.string())])
      .pipe(z.array(grammarString(checkPlatform)).min(1))
      .optional(),
    pipIndex: grammarString(checkIndexUrl).optional(),
    pipExtraIndexUrl: z.union([grammarString(checkIndexUrl).transform((u) => [u]), strings(checkIndexUrl)]).optional(),
    pipSecretMounts: z
      .array(
        z.union([
          z.tuple([localFile, grammarString(checkMountTarget)]).transform(([src, target]) => ({ id: secretIdFromPath(src), src, target })),
          secretMountSchema,
        ]),
      )
      .optional(),
    pipExtraArgs: z
      .union([
        z.string().transform((text, ctx) => {
          const args = trySplitArgs(text);
          if (typeof args === "string") {
            ctx.issues.push({ code: "custom", message: args, input: text });
            return z.NEVER;
          }
          return args;
        }),
        z.array(z.string()),
      ])
      .pipe(z.array(grammarString(checkShellArgument)))
      .optional(),
    runtimePackages: strings(checkPep508).optional(),
    builderOptions: z.record(z.string(), z.unknown()).optional(),
    builderConfig: z.record(z.string(), z.unknown()).optional(),
    registryConfig: localFile.optional(),
    forcePush: z.boolean().optional(),
    root: localFile.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.cudnn !== undefined && spec.cuda === undefined) ctx.addIssue({ code: "custom", path: ["cudnn"], message: "cudnn needs cuda as well" });
    if (spec.condaChannels?.length && !spec.condaPackages?.length) ctx.addIssue({ code: "custom", path: ["condaChannels"], message: "channels have no effect without condaPackages" });
    const installsWithPip = Boolean(spec.packages?.length || spec.requirements);
    for (const field of ["pipIndex", "pipExtraIndexUrl", "pipSecretMounts", "pipExtraArgs"] as const) {
      const value = spec[field];
      if (value !== undefined && (!Array.isArray(value) || value.length > 0) && !installsWithPip) {
        ctx.addIssue({ code: "custom", path: [field], message: "has no effect without packages or requirements" });
      }
    }
    if (spec.sourceCopyMode !== undefined && spec.sourceCopyMode !== "none" && spec.sourceRoot === undefined) {
      ctx.addIssue({ code: "custom", path: ["sourceCopyMode"], message: "needs sourceRoot (the folder to copy)" });
    }
  });

export type ImageSpecData = z.output<typeof specSchema>;

/** Every field name of the flat spec, camelCase (YAML also accepts their snake_case forms). */
export const SPEC_FIELDS: readonly string[] = Object.freeze(Object.keys(specSchema.shape));

const SPEC_MARKER = Symbol.for("imagespec.spec");
const compiled = new WeakMap<ImageSpec, Image>();

/** True when the value is an ImageSpec from any copy of @imagespec/core. */
export function isImageSpec(value: unknown): value is ImageSpec {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[SPEC_MARKER] === true;
}

export class ImageSpec {
  /** The validated fields, frozen. */
  readonly fields: Readonly<ImageSpecData>;

  constructor(fields: ImageSpecFields = {}) {
    const data = parseOrThrow(specSchema, fields, "create ImageSpec", SPEC_FIELDS);
    this.fields = deepFreezeData(data);
    Object.defineProperty(this, SPEC_MARKER, { value: true });
    Object.freeze(this);
  }

  /** The repository name (`imagespec` when the spec names none). */
  get name(): string {
    return this.fields.name ?? DEFAULT_IMAGE_NAME;
  }
  /** The registry, or undefined for a local image. */
  get registry(): string | undefined {
    return this.fields.registry;
  }
  /** The builder type the spec asks for, if any. */
  get builder(): string | undefined {
    return this.fields.builder;
  }

  /**
   * A spec whose Python version is the local interpreter's (`python3`, or `IMAGESPEC_PYTHON`), with each of
   * `pinnedPackages` pinned to the version installed there (`pandas` becomes `pandas==2.2.3`).
   */
  static async fromEnv(options: ImageSpecFields & { pinnedPackages?: readonly string[]; python?: string } = {}): Promise<ImageSpec> {
    const { pinnedPackages = [], python = process.env.IMAGESPEC_PYTHON || "python3", ...fields } = options;
    const { execa } = await import("execa");
    const script = [
      "import json, sys",
      "from importlib import metadata",
      "out = {'version': '%d.%d' % sys.version_info[:2], 'packages': {}}",
      "for name in sys.argv[1:]:",
      "    try: out['packages'][name] = metadata.version(name)",
      "    except metadata.PackageNotFoundError: out['packages'][name] = None",
      "print(json.dumps(out))",
    ].join("\n");
    const result = await execa(python, ["-c", script, ...pinnedPackages], { reject: false });
    if (result.failed) {
      throw new ImageSpecError("ENVIRONMENT", `Cannot read the local Python environment: running ${showValue(python)} failed: ${String(result.stderr || result.message).trim()}`, {
        value: python,
        hint: "Install python3, or point IMAGESPEC_PYTHON at the interpreter whose packages you want pinned.",
      });
    }
    const env = JSON.parse(String(result.stdout)) as { version: string; packages: Record<string, string | null> };
    const missing = Object.entries(env.packages).filter(([, v]) => v === null);
    if (missing.length > 0) {
      throw new ImageSpecError("ENVIRONMENT", `Cannot pin ${missing.map(([n]) => n).join(", ")}: not installed in ${python} (Python ${env.version})`, {
        field: "pinnedPackages",
        value: missing.map(([n]) => n),
        hint: "Install them locally first, or list them in packages with an explicit version.",
      });
    }
    const pinned = Object.entries(env.packages).map(([name, version]) => `${name}==${version}`);
    return new ImageSpec({ pythonVersion: env.version, ...fields, packages: [...(fields.packages ?? []), ...pinned] });
  }

  // ------------------------------------------------------------------------------------------------ helpers

  #with(changes: Partial<ImageSpecFields>): ImageSpec {
    return new ImageSpec({ ...(this.fields as ImageSpecFields), ...changes });
  }

  /** A new spec with these pip packages appended to `packages`. */
  withPackages(...packages: string[]): ImageSpec {
    return this.#with({ packages: [...(this.fields.packages ?? []), ...packages] });
  }
  /** A new spec with these Debian packages appended to `aptPackages`. */
  withAptPackages(...packages: string[]): ImageSpec {
    return this.#with({ aptPackages: [...(this.fields.aptPackages ?? []), ...packages] });
  }
  /** A new spec with these commands appended to `commands`. */
  withCommands(...commands: string[]): ImageSpec {
    return this.#with({ commands: [...(this.fields.commands ?? []), ...commands] });
  }
  /** A new spec with these paths appended to `copy`. */
  withCopy(...paths: string[]): ImageSpec {
    return this.#with({ copy: [...(this.fields.copy ?? []), ...paths] });
  }
  /** A new spec with these packages appended to `runtimePackages`. */
  withRuntimePackages(...packages: string[]): ImageSpec {
    return this.#with({ runtimePackages: [...(this.fields.runtimePackages ?? []), ...packages] });
  }
  /** A new spec with these options merged into `builderOptions`. */
  withBuilderOptions(options: Readonly<Record<string, unknown>>): ImageSpec {
    return this.#with({ builderOptions: { ...this.fields.builderOptions, ...options } });
  }
  /** A new spec that is built and pushed even when its tag already exists. */
  forcePush(): ImageSpec {
    return this.#with({ forcePush: true });
  }

  // ------------------------------------------------------------------------------------------------ compile

  /** The same definition as a layered Image (compiled once). */
  toImage(): Image {
    let image = compiled.get(this);
    if (!image) {
      image = compile(this.fields);
      compiled.set(this, image);
    }
    return image;
  }

  /** The definition's id (no file contents, no registry), as `Image.id`. */
  get id(): string {
    return this.toImage().id;
  }
  /** Every input of the tag with its own digest, the tag and the URI, as `Image.identity()`. */
  identity(): Promise<ImageIdentity> {
    return this.toImage().identity();
  }
  /** The tag: `tagFormat` with the content hash of the definition and every file it reads. */
  tag(): Promise<string> {
    return this.toImage().tag();
  }
  /** `<registry>/<name>:<tag>`, or `<name>:<tag>` for a local image. */
  uri(): Promise<string> {
    return this.toImage().uri();
  }
  /** True when running inside a container built from this definition. */
  isContainer(): boolean {
    return this.toImage().isContainer();
  }
  /** Checks that every file and folder the spec reads exists (as `Image.validate()`); returns the spec. */
  validate(): this {
    this.toImage().validate();
    return this;
  }

  /** The fields as plain data, a spec or Image base as its own JSON. */
  toJSON(): Record<string, unknown> {
    const { baseImage, ...rest } = this.fields;
    return { ...rest, ...(baseImage !== undefined && { baseImage: typeof baseImage === "string" ? baseImage : baseImage.toJSON() }) };
  }
}

function compile(spec: ImageSpecData): Image {
  const root = path.resolve(spec.root ?? process.cwd());
  const options: ImageOptions = {
    root,
    name: spec.name,
    registry: spec.registry,
    tagFormat: spec.tagFormat,
    pythonVersion: spec.pythonVersion,
    pythonExec: spec.pythonExec,
    platform: spec.platform,
    builder: spec.builder,
    builderOptions: spec.builderOptions,
    builderConfig: spec.builderConfig,
    registryConfig: spec.registryConfig,
  };
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ImageOptions;
  const base = spec.baseImage;
  let image =
    base === undefined
      ? Image.fromDebianBase(defined)
      : Image.fromBase(typeof base === "string" ? base : isImageSpec(base) ? base.toImage() : base, defined);

  const pip = {
    ...(spec.pipIndex !== undefined && { indexUrl: spec.pipIndex }),
    ...(spec.pipExtraIndexUrl?.length && { extraIndexUrls: spec.pipExtraIndexUrl }),
    ...(spec.pipExtraArgs?.length && { extraArgs: spec.pipExtraArgs }),
    ...(spec.pipSecretMounts?.length && { secretMounts: spec.pipSecretMounts }),
  };
  if (spec.cuda !== undefined) image = image.withCuda({ cuda: spec.cuda, ...(spec.cudnn !== undefined && { cudnn: spec.cudnn }) });
  if (spec.aptPackages?.length) image = image.withAptPackages(...spec.aptPackages);
  if (spec.condaPackages?.length) image = image.withCondaPackages(spec.condaPackages, spec.condaChannels?.length ? { channels: spec.condaChannels } : {});
  if (spec.packages?.length) image = image.withPipPackages(...spec.packages, pip);
  if (spec.requirements !== undefined) image = image.withRequirements(spec.requirements, pip);
  for (const item of spec.copy ?? []) {
    const rel = item.split(/\/+/).filter((p) => p !== "" && p !== ".").join("/");
    image = image.withLayer(copyLayer, { src: rel || ".", dst: rel ? `/root/${rel}` : "/root", type: "auto" });
  }
  if (spec.sourceRoot !== undefined && spec.sourceCopyMode !== "none") {
    image = image.withCodeBundle({ src: spec.sourceRoot, dst: "/root", copyStyle: spec.sourceCopyMode ?? "all" });
  }
  if (spec.env && Object.keys(spec.env).length > 0) image = image.withEnvVars(spec.env);
  if (spec.commands?.length) image = image.withCommands(spec.commands);
  if (spec.runtimePackages?.length) image = image.withRuntimePackages(...spec.runtimePackages);
  if (spec.entrypoint !== undefined) image = image.withEntrypoint(spec.entrypoint);
  if (spec.forcePush) image = image.forcePush();
  return image;
}

/**
 * Splits a command-line string into arguments the way sh splits an unquoted word list: at spaces, tabs and newlines
 * (sh's default IFS, nothing else), honouring single and double quotes and backslashes.
 */
export function splitArgs(text: string): string[] {
  const args = trySplitArgs(text);
  if (typeof args === "string") throw invalid("split arguments", [{ field: "(arguments)", value: text, message: args }]);
  return args;
}

/** The arguments, or why the text cannot be split. */
function trySplitArgs(text: string): string[] | string {
  const args: string[] = [];
  let current = "";
  let quote: '"' | "'" | undefined;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && text[i + 1] === "\n") i++; // a line continuation, as in sh
      else if (c === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) current += text[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === "\\" && text[i + 1] === "\n") {
      i++; // a line continuation, as in sh
    } else if (c === "\\" && i + 1 < text.length) {
      current += text[++i];
      started = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (started || current) args.push(current);
      current = "";
      started = false;
    } else {
      current += c;
    }
  }
  if (quote) return `unclosed ${quote} quote`;
  if (started || current) args.push(current);
  return args;
}

function secretIdFromPath(src: string): string {
  const id = path.basename(src).replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[.-]+/, "");
  return id || "secret";
}

function deepFreezeData<T>(value: T): T {
  if (typeof value === "object" && value !== null && !isImage(value) && !isImageSpec(value) && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreezeData((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
