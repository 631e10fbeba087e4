/** What the Docker renderers of this package share: where uv comes from, caches, and the install commands. */

import { type DockerPythonEnvironment, type DockerRenderContext, ImageSpecError, type SecretMount, type SshMount } from "@imagespec/core/authoring";

/** uv's official image; its `/uv` is bind-mounted for the install step only, never copied into the image. */
export const DEFAULT_UV_IMAGE = "ghcr.io/astral-sh/uv:0.8.13";
/** Where the uv binary is mounted during a step. */
export const UV_BIN = "/tmp/imagespec/bin/uv";
export const UV_CACHE_DIR = "/var/cache/imagespec/uv";
/** The docker builder's pip cache (same id and path), so pip installs of every layer share it. */
export const PIP_CACHE_DIR = "/var/cache/imagespec/pip";
export const POETRY_CACHE_DIR = "/var/cache/imagespec/poetry";
/** Where a project is copied in `installMode: "project"`. */
export const DEFAULT_PROJECT_DST = "/app";

export function uvEnvironment(python: DockerPythonEnvironment): string[] {
  return [
    "env",
    `UV_CACHE_DIR=${UV_CACHE_DIR}`,
    "UV_LINK_MODE=copy",
    "UV_PYTHON_DOWNLOADS=never",
    "UV_NO_PROGRESS=1",
    `UV_PROJECT_ENVIRONMENT=${python.prefix}`,
  ];
}

/** The mounts every uv step needs: uv's cache (made for concurrent writers, so shared), and the uv binary from its image. */
export function uvMounts(ctx: DockerRenderContext, uvImage: string): string[] {
  const stage = ctx.stage(uvImage);
  return [ctx.cacheMount(UV_CACHE_DIR, { id: "imagespec-uv", sharing: "shared" }), ctx.bindMount("/uv", UV_BIN, { from: stage })];
}

/** uv sync manages a virtual environment; the conda environment of conda/CUDA images is not one. */
export function requireVenv(python: DockerPythonEnvironment, ctx: DockerRenderContext, what: string): void {
  if (python.kind !== "venv") {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot render layers[${ctx.layerIndex}] (${what}) with uv: uv sync installs into a virtual environment, and this image's Python is the conda environment ${python.prefix}`,
      {
        field: `layers[${ctx.layerIndex}].installer`,
        value: "uv",
        hint: 'Use installer: "pip", or leave conda packages and CUDA out of this image.',
      },
    );
  }
}

/** `pip install` into the image's environment, with the docker builder's pip cache. */
export function pipInstall(python: DockerPythonEnvironment, args: readonly string[]): string[] {
  return [...python.pip, "install", "--disable-pip-version-check", "--no-input", "--cache-dir", PIP_CACHE_DIR, ...args];
}

export function pipCacheMount(ctx: DockerRenderContext): string {
  return ctx.cacheMount(PIP_CACHE_DIR, { id: "imagespec-pip" });
}

/** A RUN step's options: its mounts, and the layer's secrets and SSH agents (for that step only). */
export function runOptions(
  layer: { readonly secretMounts?: readonly SecretMount[]; readonly sshMounts?: readonly SshMount[] },
  mounts: readonly string[],
  description: string,
) {
  return { mounts, secrets: layer.secretMounts ?? [], ssh: layer.sshMounts ?? [], description };
}

/** pip's index options for packages locked from these indexes (pip's default, PyPI, needs none). */
export function pipIndexArgs(indexes: readonly string[]): string[] {
  const pypi = "https://pypi.org/simple";
  if (indexes.length === 0) return [];
  const [first, ...rest] = indexes;
  const args = first === pypi ? [] : ["--index-url", first!];
  for (const url of rest) if (url !== pypi) args.push("--extra-index-url", url);
  return args;
}
