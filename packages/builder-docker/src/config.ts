/**
 * How the docker builder runs: `defineConfig({ builders: { docker: {...} } })`, an image's `builderConfig`, or the
 * builder's own options. None of it enters the tag: it says where and how to build, not what is built. The build
 * settings (network, pull, cache, labels, helper images) are @imagespec/docker-build's, shared with the remote
 * builder; `host`, `dockerCli` and `maxBuilds` are this builder's own.
 */

import { ImageSpecError } from "@imagespec/core";
import { type DockerBuildSettings, readDockerBuildSettings, valueAt } from "@imagespec/docker-build";
import { z } from "zod";

export { DEFAULT_CUDA_IMAGE, DEFAULT_MICROMAMBA_IMAGE } from "@imagespec/docker-build";

export interface DockerBuilderConfig extends DockerBuildSettings {
  /** Engine endpoint, e.g. `unix:///var/run/docker.sock` or `tcp://127.0.0.1:2375`. Default: `DOCKER_HOST`, else the local socket. */
  readonly host?: string;
  /** The docker CLI for builds the Engine API cannot do (secret mounts). Default: `IMAGESPEC_DOCKER_CLI`, then `docker` on PATH. */
  readonly dockerCli?: string;
  /** Builds the engine runs at once for this builder: images and the platforms of one image. Default 3. */
  readonly maxBuilds?: number;
}

export const DEFAULT_MAX_BUILDS = 3;

const schema = z.object({
  host: z.string().min(1).optional(),
  dockerCli: z.string().min(1).optional(),
  maxBuilds: z.number().int().min(1).max(64).optional(),
});

const KEYS = Object.keys(schema.shape);

/**
 * Reads this builder's settings from a config object. Keys the docker builder does not know are left alone: the
 * config may be shared by several builders.
 */
export function parseDockerConfig(config: Readonly<Record<string, unknown>> | undefined): DockerBuilderConfig {
  const shared = readDockerBuildSettings(config);
  const own = Object.fromEntries(Object.entries(config ?? {}).filter(([key]) => KEYS.includes(key)));
  const result = schema.safeParse(own);
  const issues = [
    ...shared.issues,
    ...(result.success ? [] : result.error.issues.map((issue) => ({ field: issue.path.join("."), value: valueAt(own, issue.path), message: issue.message }))),
  ];
  if (issues.length === 0 && result.success) return { ...shared.settings, ...result.data };
  throw new ImageSpecError("CONFIG_ERROR", `Cannot use the docker builder's configuration: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`, {
    field: issues[0]?.field,
    value: issues[0]?.value,
    issues,
    hint: "Fix builders.docker in imagespec.config.ts or the image's builderConfig.",
  });
}
