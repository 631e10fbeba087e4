/**
 * The declarative API: one flat object with every field Flyte's ImageSpec has, compiled into the same layered
 * Image as the fluent API, with layers in a fixed, cache-friendly order: CUDA, the env variables package installers
 * read, system packages, conda, Python packages, requirements, copied files, the source root, the rest of env,
 * commands, runtime packages, entrypoint.
 *
 * A definition written for flytekit works unchanged: `builder: default` is the docker builder, `requirements` may be
 * a `uv.lock` or `poetry.lock`, `source_copy_mode` takes flytekit's spellings (`ALL`, `NO_COPY`), builderConfig's
 * snake_case keys are read, and upper-case names and registries are lower-cased. Whatever is changed on the way is
 * said in `warnings`, never silently.
 */

import path from "node:path";
import * as z from "zod";
import { copyLayer, envName, type PipOptions, type SecretMountInput, secretMountSchema } from "./builtin-layers.js";
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
  checkPipRequirement,
  checkPlatform,
  checkPythonExec,
  checkPythonVersion,
  checkRegistry,
  checkShellArgument,
  checkTagFormat,
  registryWarning,
} from "./grammar.js";
import type { ImageIdentity } from "./identity.js";
import { DEFAULT_IMAGE_NAME, Image, type ImageOptions, isImage } from "./image.js";
import { splitInstallerVariables } from "./installer-env.js";
import { normalizeImageReference } from "./reference.js";
import { isLockFile, requirementsFileHandler } from "./requirements-files.js";
import { grammarString, invalid, parseOrThrow } from "./validation.js";

export type SourceCopyMode = "all" | "tracked" | "none";

/** flytekit's `CopyFileDetection` names as `sourceCopyMode` takes them: `ALL`, `NO_COPY`, `LOADED_MODULES` (or lowercase). */
export type FlyteSourceCopyMode = "ALL" | "NO_COPY" | "LOADED_MODULES" | "no_copy" | "loaded_modules";
const FLYTE_SOURCE_COPY_MODES = ["ALL", "NO_COPY", "LOADED_MODULES", "no_copy", "loaded_modules"] as const satisfies readonly FlyteSourceCopyMode[];

/** Builder types by the names flytekit gives them: its Docker builder is `default`. */
export const BUILDER_ALIASES: Readonly<Record<string, string>> = Object.freeze({ default: "docker" });

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
  /**
   * A requirements .txt file, or a `uv.lock` / `poetry.lock` (with its `pyproject.toml` beside it), installed by
   * `@imagespec/python`'s uv / poetry project layers (the locked dependencies, not the project itself).
   */
  requirements?: string;
  /** Conda packages (match specs such as `numpy=1.26`), installed with micromamba into a conda environment. */
  condaPackages?: readonly string[];
  /** Conda channels, highest priority first; needs `condaPackages`. */
  condaChannels?: readonly string[];
  /** Debian packages, installed with apt-get before anything else. */
  aptPackages?: readonly string[];
  /** A reference, or another spec or Image (built first). Default: the Debian Python base. */
  baseImage?: string | ImageSpec | Image;
  /** Builder type, e.g. `docker`, `envd`, `noop`; flytekit's `default` is `docker`. */
  builder?: string;
  /** Folder copied into the image at /root as a code bundle (left out in fast mode). */
  sourceRoot?: string;
  /**
   * `all` (ignore files honoured, the default), `tracked` (git-tracked files), `none` (not copied). flytekit's
   * `ALL` and `NO_COPY` are accepted; `LOADED_MODULES` copies `all`, with a warning.
   */
  sourceCopyMode?: SourceCopyMode | FlyteSourceCopyMode;
  /** Files and folders copied to /root/<path>; relative paths only, inside the root. */
  copy?: readonly string[];
  /**
   * Environment variables set in the image; values arrive exactly as written. Those package installers read
   * (`PIP_*`, `UV_*`, `POETRY_*`, `CONDA_*`, proxies, CA bundles) are set before the installs, so they apply to them.
   */
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
   * (`{ docker: { network: "host" } }`) for one builder only. Does not enter the tag. Checked against the settings
   * of the builder that builds it. snake_case keys (flytekit's `micromamba_image`) are read as camelCase. Three keys change
   * what is built and so enter the tag: `uvImage` (where uv comes from for `requirements: uv.lock`) goes to that layer,
   * `micromambaImage` and `cudaImage` (the Docker builders' helper and CUDA base images) go to `builderOptions`.
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
const localFile = z
  .string()
  .min(1)
  .refine((p) => !/[\0\r\n]/.test(p), { message: "a path cannot contain NUL or newlines" });

/** The spec schema; not part of the public API (index.ts), read by tools/docs to generate the JSON Schema. */
export const specSchema = z
  .object({
    name: grammarString(checkImageName).optional(),
    registry: grammarString(checkRegistry).optional(),
    tagFormat: grammarString(checkTagFormat).optional(),
    pythonVersion: grammarString(checkPythonVersion).optional(),
    pythonExec: grammarString(checkPythonExec).optional(),
    packages: strings(checkPipRequirement).optional(),
    requirements: localFile
      .refine((p) => p.toLowerCase().endsWith(".txt") || isLockFile(p), { message: "a requirements file is a .txt file, a uv.lock or a poetry.lock" })
      .optional(),
    condaPackages: strings(checkCondaPackage).optional(),
    condaChannels: strings(checkCondaChannel).optional(),
    aptPackages: strings(checkAptPackage).optional(),
    baseImage: z
      .union([
        z.string().refine((s) => normalizeImageReference(s) !== undefined, { message: "not a valid image reference ([registry/]name[:tag][@digest])" }),
        z.custom<ImageSpec | Image>((v) => isImageSpec(v) || isImage(v), { message: "expected an image reference, an ImageSpec or an Image" }),
      ])
      .optional(),
    builder: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, "a builder type is lowercase letters, digits and '-'")
      .optional(),
    sourceRoot: localFile.optional(),
    // flytekit's CopyFileDetection spellings are turned into these before validation (fromFlyteConventions); the enum
    // lists them too, so the JSON Schema generated from this one accepts what the loader accepts.
    sourceCopyMode: z
      .enum(["all", "tracked", "none", ...FLYTE_SOURCE_COPY_MODES])
      .transform(
        (mode): SourceCopyMode =>
          mode === "ALL" || mode === "LOADED_MODULES" || mode === "loaded_modules" ? "all" : mode === "NO_COPY" || mode === "no_copy" ? "none" : mode,
      )
      .optional(),
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
    runtimePackages: strings(checkPipRequirement).optional(),
    builderOptions: z.record(z.string(), z.unknown()).optional(),
    builderConfig: z.record(z.string(), z.unknown()).optional(),
    registryConfig: localFile.optional(),
    forcePush: z.boolean().optional(),
    root: localFile.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.cudnn !== undefined && spec.cuda === undefined) ctx.addIssue({ code: "custom", path: ["cudnn"], message: "cudnn needs cuda as well" });
    if (spec.condaChannels?.length && !spec.condaPackages?.length)
      ctx.addIssue({ code: "custom", path: ["condaChannels"], message: "channels have no effect without condaPackages" });
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
/** Warnings a spec made by a `with*` helper carries over from the spec it was made from (set only during that call). */
let inheritedWarnings: readonly string[] = [];

const snakeToCamel = (key: string) => (/^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/.test(key) ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

/**
 * flytekit's spellings and conventions, turned into this schema's, with a warning for every change of meaning.
 * Runs before validation, so a value that is still wrong afterwards is reported as the user wrote it.
 */
function fromFlyteConventions(input: ImageSpecFields): { fields: ImageSpecFields; warnings: string[] } {
  if (!isPlainObject(input)) return { fields: input, warnings: [] };
  const fields: Record<string, unknown> = { ...input };
  const warnings: string[] = [];
  if (typeof fields.builder === "string" && Object.hasOwn(BUILDER_ALIASES, fields.builder)) fields.builder = BUILDER_ALIASES[fields.builder];
  for (const field of ["name", "registry"] as const) {
    const value = fields[field];
    if (typeof value !== "string" || value === value.toLowerCase()) continue;
    const lower = value.toLowerCase();
    if ((field === "name" ? checkImageName : checkRegistry)(lower) !== undefined) continue; // still invalid: report it as written
    fields[field] = lower;
    warnings.push(
      `${field} ${showValue(value)} is used as ${showValue(lower)}: image references are lowercase (flytekit lower-cases them too); write it in lowercase to silence this warning`,
    );
  }
  // flytekit's examples write `registry: <docker hub user>`: valid, as Docker reads it, and said out loud.
  const hub = typeof fields.registry === "string" && checkRegistry(fields.registry) === undefined ? registryWarning(fields.registry) : undefined;
  if (hub !== undefined) warnings.push(hub);
  if (typeof fields.sourceCopyMode === "string" && [...FLYTE_SOURCE_COPY_MODES, "all", "tracked", "none"].includes(fields.sourceCopyMode as never)) {
    const mode = fields.sourceCopyMode.toLowerCase();
    if (mode === "no_copy") fields.sourceCopyMode = "none";
    else if (mode === "loaded_modules") {
      fields.sourceCopyMode = "all";
      warnings.push(
        `sourceCopyMode ${showValue(input.sourceCopyMode)} copies all of sourceRoot (ignore files applied): imagespec cannot see which Python modules a program loads; write "all", or "tracked" for the files git tracks`,
      );
    } else if (mode === "all" || mode === "tracked" || mode === "none") fields.sourceCopyMode = mode;
  }
  if (isPlainObject(fields.builderConfig)) {
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields.builderConfig)) {
      const camel = snakeToCamel(key);
      // Both spellings of one setting: keep both keys, so validation reports the clash instead of picking one.
      config[Object.hasOwn(fields.builderConfig, camel) && camel !== key ? key : camel] = value;
    }
    fields.builderConfig = config;
    if (
      config.uvImage !== undefined &&
      !(typeof fields.requirements === "string" && path.posix.basename(fields.requirements.replaceAll("\\", "/")) === "uv.lock")
    ) {
      warnings.push(
        "builderConfig.uvImage has no effect: only requirements: uv.lock installs with uv here (packages and .txt requirements are installed with pip)",
      );
    }
  }
  return { fields: fields as ImageSpecFields, warnings };
}
const compiled = new WeakMap<ImageSpec, Image>();

/** True when the value is an ImageSpec from any copy of @imagespec/core. */
export function isImageSpec(value: unknown): value is ImageSpec {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[SPEC_MARKER] === true;
}

export class ImageSpec {
  /** The validated fields, frozen: as given, with flytekit's spellings turned into this schema's. */
  readonly fields: Readonly<ImageSpecData>;
  /**
   * What was changed on the way from a flytekit-style definition (a name lower-cased, `LOADED_MODULES` copying all
   * files) or has no effect; the CLI prints them. A base spec's warnings are included, prefixed `baseImage: `.
   */
  readonly warnings: readonly string[];

  constructor(fields: ImageSpecFields = {}) {
    const normalized = fromFlyteConventions(fields);
    const data = parseOrThrow(specSchema, normalized.fields, "create ImageSpec", SPEC_FIELDS);
    this.fields = deepFreezeData(data);
    const baseWarnings = isImageSpec(data.baseImage) ? data.baseImage.warnings.map((w) => `baseImage: ${w}`) : [];
    this.warnings = Object.freeze([...new Set([...inheritedWarnings, ...normalized.warnings, ...baseWarnings])]);
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
      throw new ImageSpecError(
        "ENVIRONMENT",
        `Cannot read the local Python environment: running ${showValue(python)} failed: ${String(result.stderr || result.message).trim()}`,
        {
          value: python,
          hint: "Install python3, or point IMAGESPEC_PYTHON at the interpreter whose packages you want pinned.",
        },
      );
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
    inheritedWarnings = this.warnings;
    try {
      return new ImageSpec({ ...(this.fields as ImageSpecFields), ...changes });
    } finally {
      inheritedWarnings = [];
    }
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
  /**
   * flytekit's `is_container()`: true inside a container built from this definition, false inside one built from
   * another, and true outside any imagespec-built container (running locally), as `Image.isContainer()`.
   */
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
  // uvImage is where uv comes from for a uv.lock: it goes to that layer (and the tag), not to the builder. The Docker
  // builders' micromambaImage and cudaImage change what is built too: flytekit writes them in builder_config, and
  // here they become builderOptions, which enter the tag (the builders refuse them as builderConfig).
  const { uvImage, micromambaImage, cudaImage, ...builderConfig } = spec.builderConfig ?? {};
  const builderOptions =
    micromambaImage === undefined && cudaImage === undefined
      ? spec.builderOptions
      : { ...(micromambaImage !== undefined && { micromambaImage }), ...(cudaImage !== undefined && { cudaImage }), ...spec.builderOptions };
  const options: ImageOptions = {
    root,
    name: spec.name,
    registry: spec.registry,
    tagFormat: spec.tagFormat,
    pythonVersion: spec.pythonVersion,
    pythonExec: spec.pythonExec,
    platform: spec.platform,
    builder: spec.builder,
    builderOptions,
    builderConfig: spec.builderConfig === undefined ? undefined : builderConfig,
    registryConfig: spec.registryConfig,
  };
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ImageOptions;
  const base = spec.baseImage;
  let image =
    base === undefined ? Image.fromDebianBase(defined) : Image.fromBase(typeof base === "string" ? base : isImageSpec(base) ? base.toImage() : base, defined);

  const pip: PipOptions = {
    ...(spec.pipIndex !== undefined && { indexUrl: spec.pipIndex }),
    ...(spec.pipExtraIndexUrl?.length && { extraIndexUrls: spec.pipExtraIndexUrl }),
    ...(spec.pipExtraArgs?.length && { extraArgs: spec.pipExtraArgs }),
    ...(spec.pipSecretMounts?.length && { secretMounts: spec.pipSecretMounts }),
  };
  const env = splitInstallerVariables(spec.env ?? {});
  if (spec.cuda !== undefined) image = image.withCuda({ cuda: spec.cuda, ...(spec.cudnn !== undefined && { cudnn: spec.cudnn }) });
  // Installer settings (PIP_INDEX_URL, UV_*, proxies) first, as flytekit sets env before its installs.
  if (Object.keys(env.installer).length > 0) image = image.withEnvVars(env.installer);
  if (spec.aptPackages?.length) image = image.withAptPackages(...spec.aptPackages);
  if (spec.condaPackages?.length) image = image.withCondaPackages(spec.condaPackages, spec.condaChannels?.length ? { channels: spec.condaChannels } : {});
  if (spec.packages?.length) image = image.withPipPackages(...spec.packages, pip);
  if (spec.requirements !== undefined) {
    if (isLockFile(spec.requirements)) {
      const file = path.relative(root, path.resolve(root, spec.requirements)).split(path.sep).join("/");
      const handler = requirementsFileHandler(path.posix.basename(file), root);
      image = handler.apply(image, { file, pip, builderConfig: uvImage === undefined ? {} : { uvImage } });
    } else {
      image = image.withRequirements(spec.requirements, pip);
    }
  }
  for (const item of spec.copy ?? []) {
    const rel = item
      .split(/\/+/)
      .filter((p) => p !== "" && p !== ".")
      .join("/");
    image = image.withLayer(copyLayer, { src: rel || ".", dst: rel ? `/root/${rel}` : "/root", type: "auto" });
  }
  if (spec.sourceRoot !== undefined && spec.sourceCopyMode !== "none") {
    image = image.withCodeBundle({ src: spec.sourceRoot, dst: "/root", copyStyle: spec.sourceCopyMode ?? "all" });
  }
  if (Object.keys(env.other).length > 0) image = image.withEnvVars(env.other);
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
      else if (c === "\\" && text[i + 1] === "\n")
        i++; // a line continuation, as in sh
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
  const id = path
    .basename(src)
    .replace(/[^A-Za-z0-9_.-]/g, "_")
    .replace(/^[.-]+/, "");
  return id || "secret";
}

function deepFreezeData<T>(value: T): T {
  if (typeof value === "object" && value !== null && !isImage(value) && !isImageSpec(value) && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreezeData((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
