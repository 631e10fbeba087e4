/**
 * `poetryProject`: a poetry project's locked dependencies (pyproject.toml + poetry.lock), installed by poetry into the
 * image's Python environment, with poetry's own virtualenv creation turned off.
 */

import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  defineLayer,
  type DockerLayerRenderer,
  imagePath,
  localPath,
  relativeTo,
  secretIdentity,
  type SecretMount,
  type SecretMountInput,
  secretMountSchema,
  shellArgument,
  shellJoin,
  sshIdentity,
  type SshMount,
  type SshMountInput,
  sshMountSchema,
  z,
} from "@imagespec/core/authoring";
import { folderOf, installModeSchema } from "./fields.js";
import { hasPoetryDevGroup } from "./poetry-lock.js";
import { loadPoetryProject, loadPoetryProjectSync } from "./project.js";
import { DEFAULT_PROJECT_DST, POETRY_CACHE_DIR, runOptions } from "./render-common.js";

export interface PoetryProjectFields {
  readonly pyproject: string;
  readonly lock: string;
  readonly installMode: "dependencies" | "project";
  readonly extraArgs?: readonly string[];
  readonly secretMounts?: readonly SecretMount[];
  readonly sshMounts?: readonly SshMount[];
  readonly dst?: string;
  readonly poetry?: string;
}

const schema = z
  .object({
    pyproject: localPath,
    lock: localPath,
    installMode: installModeSchema,
    extraArgs: z.array(shellArgument).optional(),
    secretMounts: z.array(secretMountSchema).optional(),
    sshMounts: z.array(sshMountSchema).optional(),
    dst: imagePath.optional(),
    poetry: shellArgument.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.dst !== undefined && f.installMode !== "project")
      ctx.addIssue({ code: "custom", path: ["dst"], message: 'dst is where installMode "project" copies the project; with "dependencies" nothing is copied' });
  });

const renderDocker: DockerLayerRenderer<PoetryProjectFields> = async (layer, ctx) => {
  const project = await loadPoetryProject({ root: ctx.image.root, pyproject: layer.pyproject, lock: layer.lock }, ctx.image.pythonVersion);
  const python = ctx.python();
  const q = ctx.quote.shellQuote;
  const poetry = layer.poetry ?? "poetry";
  const dst = layer.dst ?? DEFAULT_PROJECT_DST;
  const workdir = `/tmp/imagespec/poetry-project-${ctx.layerIndex}`;
  // Poetry installs into the environment VIRTUAL_ENV names (the image's), never into a virtualenv of its own.
  const env = [
    "env",
    `VIRTUAL_ENV=${python.prefix}`,
    "POETRY_VIRTUALENVS_CREATE=false",
    "POETRY_NO_INTERACTION=1",
    `POETRY_CACHE_DIR=${POETRY_CACHE_DIR}`,
    "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring",
  ];
  const check = `command -v ${q(poetry)} >/dev/null 2>&1 || { echo ${q(`imagespec: the image has no ${poetry} command; install poetry in the base image (Debian: python3-poetry) or set poetry to its path`)} >&2; exit 1; }`;
  const install = [poetry, "install", "--no-ansi", "--no-interaction"];
  const withoutDev = hasPoetryDevGroup(project.pyproject) ? ["--without", "dev"] : [];
  const pyproject = ctx.addFile(layer.pyproject, { name: "pyproject.toml" });
  const lock = ctx.addFile(layer.lock, { name: "poetry.lock" });
  const cache = ctx.cacheMount(POETRY_CACHE_DIR, { id: "imagespec-poetry" });

  const out = [
    ctx.run(`${check}; cd ${q(workdir)} && ${shellJoin([...env, ...install, "--no-root", ...withoutDev, ...(layer.extraArgs ?? [])])}`, {
      ...runOptions(
        layer,
        [cache, ctx.bindMount(pyproject, `${workdir}/pyproject.toml`), ctx.bindMount(lock, `${workdir}/poetry.lock`)],
        `poetry install --no-root: the dependencies locked in ${layer.lock}`,
      ),
    }),
  ];
  if (layer.installMode === "project") {
    out.push(ctx.copy(`${ctx.addFolder(folderOf(layer.pyproject))}/`, dst));
    out.push(
      ctx.run(`${check}; cd ${q(dst)} && ${shellJoin([...env, ...install, "--only-root"])}`, {
        ...runOptions(layer, [cache, ctx.bindMount(lock, path.posix.join(dst, "poetry.lock"))], `poetry install --only-root: the project in ${dst}`),
      }),
    );
  }
  return out;
};

export const poetryProjectLayer = defineLayer<"poetryProject", PoetryProjectFields>({
  specificationVersion: "v1",
  kind: "poetryProject",
  description:
    "A poetry project's locked dependencies (pyproject.toml + poetry.lock), and optionally the project itself, installed by poetry into the image's environment.",
  schema,
  inputs: (f) => [
    { field: "pyproject", path: f.pyproject, type: "file" },
    { field: "lock", path: f.lock, type: "file" },
    ...(f.installMode === "project" ? [{ field: "project", path: folderOf(f.pyproject), type: "folder" as const }] : []),
  ],
  identity: (f) => ({
    ...f,
    dst: f.installMode === "project" ? (f.dst ?? DEFAULT_PROJECT_DST) : undefined,
    poetry: f.poetry ?? "poetry",
    secretMounts: secretIdentity(f.secretMounts),
    sshMounts: sshIdentity(f.sshMounts),
  }),
  renderers: { docker: renderDocker },
});

export interface PoetryProjectOptions {
  /** pyproject.toml of the project, relative to the image root. Default `pyproject.toml`. */
  pyproject?: string;
  /** The lock. Default: `poetry.lock` next to pyproject.toml. */
  lock?: string;
  /** `dependencies` (default): `poetry install --no-root`. `project`: the project too (copied to `dst`, `poetry install --only-root`). */
  installMode?: "dependencies" | "project";
  /** Extra arguments for `poetry install` (e.g. `["--with", "docs"]`, `["--extras", "plot"]`). */
  extraArgs?: readonly string[];
  /** Secrets for the install step (e.g. `asEnv: "POETRY_HTTP_BASIC_PRIVATE_PASSWORD"`), never stored in the image. */
  secretMounts?: readonly SecretMountInput[];
  /** SSH agents for the install steps (`git+ssh://` dependencies): an id (the agent at SSH_AUTH_SOCK) or `{ id?, keys?, target? }`. */
  sshMounts?: readonly SshMountInput[];
  /** Where `installMode: "project"` copies the project. Default `/app`. */
  dst?: string;
  /** The poetry command in the image. Default `poetry` (on PATH). */
  poetry?: string;
}

/**
 * Installs a poetry project's locked dependencies into the image's Python environment with the image's poetry. The lock
 * is checked against pyproject.toml now (poetry's content-hash): a missing or stale lock, or a Python version outside
 * the project's constraint, is an error before any build.
 */
export function withPoetryProject(image: Image, options: PoetryProjectOptions = {}): Image {
  const pyproject = relativeTo(image.root, options.pyproject ?? "pyproject.toml", "pyproject");
  const lock = options.lock === undefined ? path.posix.join(folderOf(pyproject), "poetry.lock") : relativeTo(image.root, options.lock, "lock");
  const fields = { ...options, pyproject, lock, installMode: options.installMode ?? "dependencies" };
  const next = image.withLayer(poetryProjectLayer, fields as PoetryProjectFields);
  loadPoetryProjectSync({ root: image.root, pyproject, lock }, image.pythonVersion);
  return next;
}
