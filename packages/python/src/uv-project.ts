/**
 * `uvProject`: a uv project's locked dependencies (pyproject.toml + uv.lock), installed with `uv sync --locked` or,
 * with `installer: "pip"`, exported from the lock and installed with pip.
 */

import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  defineLayer,
  type DockerLayerRenderer,
  imagePath,
  imageReference,
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
import { folderOf, installerSchema, installModeSchema } from "./fields.js";
import { loadUvProject, loadUvProjectSync } from "./project.js";
import {
  DEFAULT_PROJECT_DST,
  DEFAULT_UV_IMAGE,
  pipCacheMount,
  pipIndexArgs,
  pipInstall,
  requireVenv,
  runOptions,
  UV_BIN,
  uvEnvironment,
  uvMounts,
} from "./render-common.js";

export interface UvProjectFields {
  readonly pyproject: string;
  readonly lock: string;
  readonly installMode: "dependencies" | "project";
  readonly installer?: "uv" | "pip";
  readonly extraArgs?: readonly string[];
  readonly secretMounts?: readonly SecretMount[];
  readonly sshMounts?: readonly SshMount[];
  readonly dst?: string;
  readonly uvImage?: string;
}

const schema = z
  .object({
    pyproject: localPath,
    lock: localPath,
    installMode: installModeSchema,
    installer: installerSchema.optional(),
    extraArgs: z.array(shellArgument).optional(),
    secretMounts: z.array(secretMountSchema).optional(),
    sshMounts: z.array(sshMountSchema).optional(),
    dst: imagePath.optional(),
    uvImage: imageReference.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.dst !== undefined && f.installMode !== "project")
      ctx.addIssue({ code: "custom", path: ["dst"], message: 'dst is where installMode "project" copies the project; with "dependencies" nothing is copied' });
    if (f.uvImage !== undefined && f.installer === "pip")
      ctx.addIssue({ code: "custom", path: ["uvImage"], message: 'uvImage is where uv comes from; installer "pip" does not use uv' });
  });

const renderDocker: DockerLayerRenderer<UvProjectFields> = async (layer, ctx) => {
  const installer = layer.installer ?? "uv";
  const project = await loadUvProject(
    { root: ctx.image.root, pyproject: layer.pyproject, lock: layer.lock },
    { pythonVersion: ctx.image.pythonVersion, installer },
  );
  const python = ctx.python();
  const extra = layer.extraArgs ?? [];
  const dst = layer.dst ?? DEFAULT_PROJECT_DST;
  const workdir = `/tmp/imagespec/uv-project-${ctx.layerIndex}`;
  const out: string[] = [];

  if (installer === "uv") {
    requireVenv(python, ctx, "uvProject");
    const uvImage = layer.uvImage ?? DEFAULT_UV_IMAGE;
    const pyproject = ctx.addFile(layer.pyproject, { name: "pyproject.toml" });
    const lock = ctx.addFile(layer.lock, { name: "uv.lock" });
    const sync = [UV_BIN, "sync", "--locked", "--no-dev", "--inexact", "--python", python.python];
    // Dependencies first, from pyproject.toml and uv.lock alone, so a source change does not reinstall them.
    out.push(
      ctx.run(`cd ${ctx.quote.shellQuote(workdir)} && ${shellJoin([...uvEnvironment(python), ...sync, "--no-install-project", ...extra])}`, {
        ...runOptions(
          layer,
          [...uvMounts(ctx, uvImage), ctx.bindMount(pyproject, `${workdir}/pyproject.toml`), ctx.bindMount(lock, `${workdir}/uv.lock`)],
          `uv sync --locked: the dependencies of ${project.name} from ${layer.lock}`,
        ),
      }),
    );
    if (layer.installMode === "project") {
      out.push(ctx.copy(`${ctx.addFolder(folderOf(layer.pyproject))}/`, dst));
      out.push(
        ctx.run(`cd ${ctx.quote.shellQuote(dst)} && ${shellJoin([...uvEnvironment(python), ...sync, "--no-editable", ...extra])}`, {
          ...runOptions(
            layer,
            [...uvMounts(ctx, uvImage), ctx.bindMount(lock, path.posix.join(dst, "uv.lock"))],
            `uv sync --locked --no-editable: ${project.name} from ${dst}`,
          ),
        }),
      );
    }
    return out;
  }

  const exported = project.exported!;
  const indexArgs = pipIndexArgs(exported.indexes);
  if (exported.count > 0) {
    const requirements = ctx.addContent("requirements.txt", exported.text);
    const target = `${workdir}/requirements.txt`;
    const args = ["--no-deps", ...(exported.hashes ? ["--require-hashes"] : []), ...indexArgs, ...extra, "--requirement", target];
    out.push(
      ctx.run(shellJoin(pipInstall(python, args)), {
        ...runOptions(layer, [pipCacheMount(ctx), ctx.bindMount(requirements, target)], `pip install: ${exported.count} packages pinned by ${layer.lock}`),
      }),
    );
  }
  if (layer.installMode === "project") {
    out.push(ctx.copy(`${ctx.addFolder(folderOf(layer.pyproject))}/`, dst));
    out.push(
      ctx.run(shellJoin(pipInstall(python, ["--no-deps", ...indexArgs, ...extra, dst])), {
        ...runOptions(layer, [pipCacheMount(ctx)], `pip install ${project.name} from ${dst}`),
      }),
    );
  }
  return out;
};

export const uvProjectLayer = defineLayer<"uvProject", UvProjectFields>({
  specificationVersion: "v1",
  kind: "uvProject",
  description: "A uv project's locked dependencies (pyproject.toml + uv.lock), and optionally the project itself, installed with uv sync --locked or pip.",
  schema,
  inputs: (f) => [
    { field: "pyproject", path: f.pyproject, type: "file" },
    { field: "lock", path: f.lock, type: "file" },
    ...(f.installMode === "project" ? [{ field: "project", path: folderOf(f.pyproject), type: "folder" as const }] : []),
  ],
  identity: (f) => ({
    ...f,
    installer: f.installer ?? "uv",
    uvImage: (f.installer ?? "uv") === "uv" ? (f.uvImage ?? DEFAULT_UV_IMAGE) : undefined,
    dst: f.installMode === "project" ? (f.dst ?? DEFAULT_PROJECT_DST) : undefined,
    secretMounts: secretIdentity(f.secretMounts),
    sshMounts: sshIdentity(f.sshMounts),
  }),
  renderers: { docker: renderDocker },
});

export interface UvProjectOptions {
  /** pyproject.toml of the project, relative to the image root. Default `pyproject.toml`. */
  pyproject?: string;
  /** The lock. Default: `uv.lock` next to pyproject.toml. */
  lock?: string;
  /** `dependencies` (default): the locked dependencies only. `project`: the project too, copied to `dst` and installed non-editable. */
  installMode?: "dependencies" | "project";
  /** `uv` (default): `uv sync --locked`. `pip`: the lock's pinned versions (with hashes when it has them), installed with pip. */
  installer?: "uv" | "pip";
  /** Extra arguments for `uv sync` (or `pip install`). */
  extraArgs?: readonly string[];
  /** Secrets for the install steps (a private index's credentials), never stored in the image. */
  secretMounts?: readonly SecretMountInput[];
  /** SSH agents for the install steps (`git+ssh://` dependencies): an id (the agent at SSH_AUTH_SOCK) or `{ id?, keys?, target? }`. */
  sshMounts?: readonly SshMountInput[];
  /** Where `installMode: "project"` copies the project. Default `/app`. */
  dst?: string;
  /** The image uv comes from. Default `ghcr.io/astral-sh/uv:0.8.13`. */
  uvImage?: string;
}

/**
 * Installs a uv project's locked dependencies into the image's Python environment. The lock is checked against
 * pyproject.toml now: a missing or stale lock, or a Python version the project does not support, is an error before
 * any build. Both files (and, in project mode, the project folder) enter the tag by content.
 */
export function withUvProject(image: Image, options: UvProjectOptions = {}): Image {
  const pyproject = relativeTo(image.root, options.pyproject ?? "pyproject.toml", "pyproject");
  const lock = options.lock === undefined ? path.posix.join(folderOf(pyproject), "uv.lock") : relativeTo(image.root, options.lock, "lock");
  const fields = { ...options, pyproject, lock, installMode: options.installMode ?? "dependencies" };
  // Fields first (every bad value reported at once), then the files.
  const next = image.withLayer(uvProjectLayer, fields as UvProjectFields);
  loadUvProjectSync({ root: image.root, pyproject, lock }, { pythonVersion: image.pythonVersion, installer: options.installer ?? "uv" });
  return next;
}
