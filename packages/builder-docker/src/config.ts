/**
 * How the docker builder runs: `defineConfig({ builders: { docker: {...} } })`, an image's `builderConfig`, or the
 * builder's own options. None of it enters the tag: it says where and how to build, not what is built.
 */

import { ImageSpecError } from "@imagespec/core";
import { z } from "zod";

export interface DockerBuilderConfig {
  /** Engine endpoint, e.g. `unix:///var/run/docker.sock` or `tcp://127.0.0.1:2375`. Default: `DOCKER_HOST`, else the local socket. */
  readonly host?: string;
  /** Network for RUN steps: `host` reaches servers on the build machine's 127.0.0.1 (a local package index). */
  readonly network?: "default" | "host" | "none";
  /** The docker CLI for builds the Engine API cannot do (secrets, several platforms). Default: `IMAGESPEC_DOCKER_CLI`, then `docker` on PATH. */
  readonly dockerCli?: string;
  /** Pull base images even when the engine has them. */
  readonly pull?: boolean;
  /** Build without the build cache. */
  readonly noCache?: boolean;
  /** The image micromamba is taken from, for conda packages and CUDA images. */
  readonly micromambaImage?: string;
  /** The NVIDIA CUDA base for `withCuda`: a template with `{cuda}` and `{cudnn}` (e.g. `cudnn9-` or empty). */
  readonly cudaImage?: string;
  /** OCI labels added to every image (not to the tag). */
  readonly labels?: Readonly<Record<string, string>>;
}

export const DEFAULT_MICROMAMBA_IMAGE = "mambaorg/micromamba:2.0.5";
/** `{cudnn}` becomes `cudnn-` for cuDNN 9 and later (NVIDIA's tags drop the number), `cudnn8-` for 8, empty without. */
export const DEFAULT_CUDA_IMAGE = "nvidia/cuda:{cuda}-{cudnn}runtime-ubuntu22.04";

const schema = z.object({
  host: z.string().min(1).optional(),
  network: z.enum(["default", "host", "none"]).optional(),
  dockerCli: z.string().min(1).optional(),
  pull: z.boolean().optional(),
  noCache: z.boolean().optional(),
  micromambaImage: z.string().min(1).optional(),
  cudaImage: z.string().min(1).optional(),
  labels: z.record(z.string().min(1), z.string()).optional(),
});

const KEYS = Object.keys(schema.shape);

/**
 * Reads this builder's settings from a config object. Keys the docker builder does not know are left alone: the
 * config may be shared by several builders.
 */
export function parseDockerConfig(config: Readonly<Record<string, unknown>> | undefined): DockerBuilderConfig {
  const own = Object.fromEntries(Object.entries(config ?? {}).filter(([key]) => KEYS.includes(key)));
  const result = schema.safeParse(own);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ field: issue.path.join("."), value: valueAt(own, issue.path), message: issue.message }));
  throw new ImageSpecError("CONFIG_ERROR", `Cannot use the docker builder's configuration: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`, {
    field: issues[0]?.field,
    value: issues[0]?.value,
    issues,
    hint: "Fix builders.docker in imagespec.config.ts or the image's builderConfig.",
  });
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) current = (current as Record<PropertyKey, unknown> | undefined)?.[key];
  return current;
}
