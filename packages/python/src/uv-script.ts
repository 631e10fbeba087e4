/**
 * PEP 723 scripts: `fromUvScript(script)` reads the script's `# /// script` block, picks or checks the Python version
 * from `requires-python`, installs `dependencies` (with the `[tool.uv]` index settings) and copies the script.
 */

import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_PYTHON_VERSION, Image, type ImageOptions } from "@imagespec/core";
import {
  defineLayer,
  type DockerLayerRenderer,
  type EnvdLayerRenderer,
  imageReference,
  ImageSpecError,
  indexUrl,
  localPath,
  pep508,
  relativePathHint,
  relativeTo,
  secretIdentity,
  type SecretMount,
  type SecretMountInput,
  secretMountSchema,
  shellArgument,
  shellJoin,
  shellQuote,
  sshIdentity,
  type SshMount,
  type SshMountInput,
  sshMountSchema,
  starlarkString,
  z,
} from "@imagespec/core/authoring";
import { installerSchema } from "./fields.js";
import { pythonFits } from "./pep440.js";
import { readScriptMetadata, type ScriptMetadata } from "./pep723.js";
import { DEFAULT_UV_IMAGE, pipCacheMount, pipInstall, requireVenv, runOptions, UV_BIN, uvEnvironment, uvMounts } from "./render-common.js";
import { isTable, stringList, type TomlTable } from "./toml.js";

/** The `[tool.uv]` settings that decide where packages come from. */
export interface UvIndexSettings {
  /** Replaces PyPI (`index-url`, or the `[[tool.uv.index]]` marked `default = true`). */
  readonly defaultIndex?: string;
  /** Searched too, in priority order (`[[tool.uv.index]]` entries, then `extra-index-url`). */
  readonly extraIndexes?: readonly string[];
  readonly findLinks?: readonly string[];
  readonly noIndex?: boolean;
  readonly indexStrategy?: "first-index" | "unsafe-first-match" | "unsafe-best-match";
  readonly prerelease?: "disallow" | "allow" | "if-necessary" | "explicit" | "if-necessary-or-explicit";
  readonly excludeNewer?: string;
}

export interface UvScriptFields {
  readonly script: string;
  readonly dependencies: readonly string[];
  readonly index?: UvIndexSettings;
  readonly installer?: "uv" | "pip";
  readonly extraArgs?: readonly string[];
  readonly secretMounts?: readonly SecretMount[];
  readonly sshMounts?: readonly SshMount[];
  readonly uvImage?: string;
}

const INDEX_STRATEGIES = ["first-index", "unsafe-first-match", "unsafe-best-match"] as const;
const PRERELEASE = ["disallow", "allow", "if-necessary", "explicit", "if-necessary-or-explicit"] as const;

const indexSchema = z
  .object({
    defaultIndex: indexUrl.optional(),
    extraIndexes: z.array(indexUrl).optional(),
    findLinks: z.array(indexUrl).optional(),
    noIndex: z.boolean().optional(),
    indexStrategy: z.enum(INDEX_STRATEGIES).optional(),
    prerelease: z.enum(PRERELEASE).optional(),
    excludeNewer: z
      .string()
      .regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?$/, "a date (2024-03-25) or an RFC 3339 timestamp")
      .optional(),
  })
  .strict();

const schema = z
  .object({
    script: localPath,
    dependencies: z.array(pep508),
    index: indexSchema.optional(),
    installer: installerSchema.optional(),
    extraArgs: z.array(shellArgument).optional(),
    secretMounts: z.array(secretMountSchema).optional(),
    sshMounts: z.array(sshMountSchema).optional(),
    uvImage: imageReference.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.uvImage !== undefined && f.installer === "pip")
      ctx.addIssue({ code: "custom", path: ["uvImage"], message: 'uvImage is where uv comes from; installer "pip" does not use uv' });
    if (f.installer === "pip" && f.index?.excludeNewer !== undefined) {
      ctx.addIssue({ code: "custom", path: ["index", "excludeNewer"], message: 'pip has no equivalent of [tool.uv] exclude-newer; use installer "uv"' });
    }
  });

/** `[tool.uv]` of a script → the index settings this package honours; anything it cannot honour is an error. */
export function uvIndexSettings(uv: TomlTable | undefined, file: string): UvIndexSettings | undefined {
  if (!uv) return undefined;
  const problems: string[] = [];
  const settings: { -readonly [K in keyof UvIndexSettings]: UvIndexSettings[K] } = {};
  const extra: string[] = [];
  const url = (value: unknown, field: string): string | undefined => {
    if (typeof value !== "string") {
      problems.push(`${field} = ${JSON.stringify(value, replacer)}: expected a URL`);
      return undefined;
    }
    return value;
  };
  if (uv.sources !== undefined && (!isTable(uv.sources) || Object.keys(uv.sources).length > 0)) {
    problems.push("sources: per-package sources are not supported for scripts; install such packages another way (withPipPackages with a URL)");
  }
  if (Array.isArray(uv.index)) {
    for (const [i, entry] of uv.index.entries()) {
      if (!isTable(entry)) {
        problems.push(`index[${i}]: expected a table with url`);
        continue;
      }
      const u = url(entry.url, `index[${i}].url`);
      if (u === undefined || entry.explicit === true) continue; // explicit indexes serve pinned sources only
      if (entry.default === true) settings.defaultIndex = u;
      else extra.push(u);
    }
  } else if (uv.index !== undefined) problems.push("index: expected an array of tables ([[tool.uv.index]])");
  if (uv["index-url"] !== undefined) settings.defaultIndex = url(uv["index-url"], "index-url");
  if (uv["extra-index-url"] !== undefined) {
    const list = stringList(uv["extra-index-url"]);
    if (list) extra.push(...list);
    else problems.push(`extra-index-url = ${JSON.stringify(uv["extra-index-url"], replacer)}: expected a list of URLs`);
  }
  if (extra.length > 0) settings.extraIndexes = [...new Set(extra)];
  if (uv["find-links"] !== undefined) {
    const list = stringList(uv["find-links"]);
    if (list) settings.findLinks = list;
    else problems.push(`find-links = ${JSON.stringify(uv["find-links"], replacer)}: expected a list of URLs`);
  }
  if (uv["no-index"] !== undefined) settings.noIndex = uv["no-index"] === true;
  for (const [key, field, allowed] of [
    ["index-strategy", "indexStrategy", INDEX_STRATEGIES],
    ["prerelease", "prerelease", PRERELEASE],
  ] as const) {
    const value = uv[key];
    if (value === undefined) continue;
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) (settings as Record<string, unknown>)[field] = value;
    else problems.push(`${key} = ${JSON.stringify(value, replacer)}: expected one of ${allowed.join(", ")}`);
  }
  if (uv["exclude-newer"] !== undefined) {
    if (typeof uv["exclude-newer"] === "string") settings.excludeNewer = uv["exclude-newer"];
    else if (uv["exclude-newer"] instanceof Date) settings.excludeNewer = uv["exclude-newer"].toISOString();
    else problems.push(`exclude-newer = ${JSON.stringify(uv["exclude-newer"], replacer)}: expected a date`);
  }
  if (problems.length > 0) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot use the [tool.uv] settings of ${file}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join("\n  - ")}`}`,
      {
        field: "tool.uv",
        value: file,
        hint: "Fix the [tool.uv] table in the script's `# /// script` block.",
      },
    );
  }
  return Object.keys(settings).length > 0 ? settings : undefined;
}

const replacer = (_key: string, value: unknown) => (typeof value === "bigint" ? Number(value) : value);

function uvIndexArgs(index: UvIndexSettings | undefined): string[] {
  if (!index) return [];
  const args: string[] = [];
  if (index.defaultIndex) args.push("--index-url", index.defaultIndex);
  for (const url of index.extraIndexes ?? []) args.push("--extra-index-url", url);
  for (const url of index.findLinks ?? []) args.push("--find-links", url);
  if (index.noIndex) args.push("--no-index");
  if (index.indexStrategy) args.push("--index-strategy", index.indexStrategy);
  if (index.prerelease) args.push("--prerelease", index.prerelease);
  if (index.excludeNewer) args.push("--exclude-newer", index.excludeNewer);
  return args;
}

/** pip searches every index together (uv's unsafe-best-match); pre-releases only with `allow` (`--pre`). */
function pipArgs(index: UvIndexSettings | undefined): string[] {
  if (!index) return [];
  const args: string[] = [];
  if (index.defaultIndex) args.push("--index-url", index.defaultIndex);
  for (const url of index.extraIndexes ?? []) args.push("--extra-index-url", url);
  for (const url of index.findLinks ?? []) args.push("--find-links", url);
  if (index.noIndex) args.push("--no-index");
  if (index.prerelease === "allow") args.push("--pre");
  return args;
}

function scriptFields(metadata: ScriptMetadata | undefined, file: string): { dependencies: string[]; index?: UvIndexSettings } {
  const index = uvIndexSettings(metadata?.uv, file);
  return { dependencies: [...(metadata?.dependencies ?? [])], ...(index && { index }) };
}

const renderDocker: DockerLayerRenderer<UvScriptFields> = async (layer, ctx) => {
  // The script may have changed since the image was defined: what is installed must be what it declares now.
  const abs = path.resolve(ctx.image.root, layer.script);
  const now = scriptFields(readScriptMetadata(await readFile(abs, "utf8"), layer.script), layer.script);
  if (JSON.stringify(now) !== JSON.stringify({ dependencies: layer.dependencies, ...(layer.index && { index: layer.index }) })) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot render the script ${layer.script}: its \`# /// script\` block changed after the image was defined`, {
      field: `layers[${ctx.layerIndex}].script`,
      value: layer.script,
      hint: "Define the image again (re-run the command) so it reads the script's current metadata.",
    });
  }
  if (layer.dependencies.length === 0) return [];
  const python = ctx.python();
  const requirements = ctx.addContent("requirements.txt", `${layer.dependencies.join("\n")}\n`);
  const target = `/tmp/imagespec/uv-script-${ctx.layerIndex}/requirements.txt`;
  const description = `install the dependencies of ${layer.script}: ${layer.dependencies.join(", ")}`;
  if ((layer.installer ?? "uv") === "uv") {
    requireVenv(python, ctx, "uvScript");
    const argv = [
      ...uvEnvironment(python),
      UV_BIN,
      "pip",
      "install",
      "--python",
      python.python,
      ...uvIndexArgs(layer.index),
      ...(layer.extraArgs ?? []),
      "--requirement",
      target,
    ];
    return [
      ctx.run(shellJoin(argv), runOptions(layer, [...uvMounts(ctx, layer.uvImage ?? DEFAULT_UV_IMAGE), ctx.bindMount(requirements, target)], description)),
    ];
  }
  const argv = pipInstall(python, [...pipArgs(layer.index), ...(layer.extraArgs ?? []), "--requirement", target]);
  return [ctx.run(shellJoin(argv), runOptions(layer, [pipCacheMount(ctx), ctx.bindMount(requirements, target)], description))];
};

/** envd installs a script's dependencies with its own pip: expressible when nothing but the dependencies is asked for. */
const renderEnvd: EnvdLayerRenderer<UvScriptFields> = (f) => {
  if (f.index) return "envd has one package index setting for the whole image, so a script's [tool.uv] index settings cannot be honoured; build it with docker";
  if (f.extraArgs?.length) return `envd cannot pass extra installer arguments (${f.extraArgs.join(" ")})`;
  if (f.secretMounts?.length) return `envd cannot provide secret mounts (${f.secretMounts.map((s) => s.id).join(", ")})`;
  if (f.sshMounts?.length) return `envd cannot forward SSH agents (sshMounts ${f.sshMounts.map((s) => s.id).join(", ")})`;
  if (f.dependencies.length === 0) return { stage: "packages", statements: [] };
  // envd splits each name with its shell-word lexer: quote each to stay one word.
  const names = f.dependencies.map((d) => starlarkString(shellQuote(d)));
  return { stage: "packages", statements: [`install.python_packages(name=[${names.join(", ")}])`] };
};

export const uvScriptLayer = defineLayer<"uvScript", UvScriptFields>({
  specificationVersion: "v1",
  kind: "uvScript",
  description: "The dependencies a PEP 723 script declares in its `# /// script` block, installed with uv or pip ([tool.uv] index settings honoured).",
  schema,
  inputs: (f) => [{ field: "script", path: f.script, type: "file" }],
  identity: (f) => ({
    ...f,
    dependencies: [...f.dependencies].sort(),
    installer: f.installer ?? "uv",
    uvImage: (f.installer ?? "uv") === "uv" ? (f.uvImage ?? DEFAULT_UV_IMAGE) : undefined,
    secretMounts: secretIdentity(f.secretMounts),
    sshMounts: sshIdentity(f.sshMounts),
  }),
  renderers: { docker: renderDocker, envd: renderEnvd },
});

/** Python versions fromUvScript chooses from when the script's requires-python rules out the default. */
export const PYTHON_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"] as const;

export interface UvScriptOptions extends ImageOptions {
  /** Start from this image (a reference or an Image) instead of the Debian base. */
  base?: string | Image;
  /** `uv` (default): `uv pip install` with uv from its image. `pip`: pip. */
  installer?: "uv" | "pip";
  /** Extra arguments for the install command. */
  extraArgs?: readonly string[];
  secretMounts?: readonly SecretMountInput[];
  /** SSH agents for the install step (`git+ssh://` dependencies), never stored in the image. */
  sshMounts?: readonly SshMountInput[];
  /** Where the script is copied. Default `/app/` (it keeps its name). */
  dst?: string;
  /** The image uv comes from. Default `ghcr.io/astral-sh/uv:0.8.13`. */
  uvImage?: string;
  /** Run the script as the container's entrypoint (`python <script>`). Default false. */
  entrypoint?: boolean;
}

/**
 * An image for a PEP 723 script: its dependencies installed, the script copied. The Python version is
 * `pythonVersion` (checked against `requires-python`), else the base's, else the default (3.12) when requires-python
 * allows it, else the nearest version that it allows. A script without a `# /// script` block gets no dependencies.
 */
export function fromUvScript(script: string, options: UvScriptOptions = {}): Image {
  const { base, installer, extraArgs, secretMounts, sshMounts, dst, uvImage, entrypoint, ...imageOptions } = options;
  const root = path.resolve(imageOptions.root ?? process.cwd());
  const rel = relativeTo(root, script, "script");
  let source: string;
  try {
    source = readFileSync(path.resolve(root, rel), "utf8");
  } catch (error) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot read the script ${JSON.stringify(rel)}: ${path.resolve(root, rel)} does not exist or is not a file`, {
      field: "script",
      value: rel,
      hint: relativePathHint(root),
      cause: error,
    });
  }
  const metadata = readScriptMetadata(source, rel);
  const basePython = typeof base === "object" ? base.pythonVersion : undefined;
  const pythonVersion = choosePython(rel, metadata, imageOptions.pythonVersion ?? basePython, base === undefined);
  const opts: ImageOptions = { ...imageOptions, root, ...(pythonVersion !== undefined && { pythonVersion }) };
  let image = base === undefined ? Image.fromDebianBase(opts) : Image.fromBase(base, opts);
  image = image.withLayer(uvScriptLayer, {
    script: rel,
    ...scriptFields(metadata, rel),
    ...(installer !== undefined && { installer }),
    ...(extraArgs !== undefined && { extraArgs }),
    ...(secretMounts !== undefined && { secretMounts }),
    ...(sshMounts !== undefined && { sshMounts }),
    ...(uvImage !== undefined && { uvImage }),
  } as UvScriptFields);
  const destination = dst ?? "/app/";
  image = image.withSourceFile(rel, destination);
  if (entrypoint) {
    const inImage = destination.endsWith("/") || destination === "." ? path.posix.join(destination, path.posix.basename(rel)) : destination;
    image = image.withEntrypoint(["python", inImage]);
  }
  return image;
}

function choosePython(file: string, metadata: ScriptMetadata | undefined, stated: string | undefined, debian: boolean): string | undefined {
  const requires = metadata?.requiresPython;
  const specifiers = metadata?.requiresPythonSpecifiers ?? [];
  if (stated !== undefined) {
    if (requires !== undefined && !pythonFits(stated, specifiers)) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot build ${file} with Python ${stated}: the script's requires-python is ${JSON.stringify(requires)}`, {
        field: "pythonVersion",
        value: stated,
        hint: `Choose a Python version that satisfies ${requires}, or leave pythonVersion out to let requires-python choose.`,
      });
    }
    return stated;
  }
  if (!debian) return undefined; // the base's Python is whatever it is; the docker builder checks a stated one
  if (requires === undefined || pythonFits(DEFAULT_PYTHON_VERSION, specifiers)) return DEFAULT_PYTHON_VERSION;
  const index = PYTHON_VERSIONS.indexOf(DEFAULT_PYTHON_VERSION as (typeof PYTHON_VERSIONS)[number]);
  const newer = PYTHON_VERSIONS.slice(index + 1);
  const older = PYTHON_VERSIONS.slice(0, index).reverse();
  const found = [...newer, ...older].find((v) => pythonFits(v, specifiers));
  if (found === undefined) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot choose a Python version for ${file}: no Python ${PYTHON_VERSIONS[0]}–${PYTHON_VERSIONS.at(-1)} satisfies its requires-python ${JSON.stringify(requires)}`,
      {
        field: "requires-python",
        value: requires,
        hint: 'Fix requires-python in the script\'s `# /// script` block (e.g. ">=3.11").',
      },
    );
  }
  return found;
}
