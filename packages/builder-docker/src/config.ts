/**
 * How the docker builder runs: `defineConfig({ builders: { docker: {...} } })`, an image's `builderConfig`, or the
 * builder's own options. None of it enters the tag: it says where and how to build, not what is built. The build
 * settings (network, pull, cache, labels, helper images) are @imagespec/docker-build's, shared with the remote
 * builder; `host` (with `identityFile` and `knownHosts` for ssh://) and `maxBuilds` are this builder's own.
 *
 * `dockerBuilderSettings` is the strict schema core checks the settings against before anything builds (the plugin
 * declares it on its builder factory); the declaration below makes `defineConfig` complete them in an editor.
 */

import { checkBuilderSettings, ImageSpecError, z } from "@imagespec/core/authoring";
import { type DockerBuildSettings, dockerBuildSettingsShape } from "@imagespec/docker-build";

export { DEFAULT_CUDA_IMAGE, DEFAULT_MICROMAMBA_IMAGE } from "@imagespec/docker-build";

export interface DockerBuilderConfig extends DockerBuildSettings {
  /**
   * Engine endpoint: `unix:///var/run/docker.sock`, `tcp://host:2375`, `tcp://host:2376` (TLS: DOCKER_TLS_VERIFY and
   * DOCKER_CERT_PATH as for the docker CLI) or `ssh://user@host[:port]`. Default: `DOCKER_HOST`, else the local socket.
   */
  readonly host?: string;
  /** ssh:// engines: the private key. Default: the SSH agent (SSH_AUTH_SOCK), else ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  readonly identityFile?: string;
  /** ssh:// engines: the known_hosts file the engine's host key must be in (an unknown or changed key is refused). Default ~/.ssh/known_hosts. */
  readonly knownHosts?: string;
  /** Builds the engine runs at once for this builder: images and the platforms of one image. Default 3. */
  readonly maxBuilds?: number;
}

declare module "@imagespec/core" {
  interface BuilderSettings {
    /** @imagespec/builder-docker: the local Docker engine. */
    docker: DockerBuilderConfig;
  }
}

export const DEFAULT_MAX_BUILDS = 3;

/** Every setting of the docker builder; unknown keys are errors. */
export const dockerBuilderSettings = z
  .object({
    ...dockerBuildSettingsShape,
    host: z.string().min(1).optional(),
    identityFile: z.string().min(1).optional(),
    knownHosts: z.string().min(1).optional(),
    maxBuilds: z.number().int().min(1).max(64).optional(),
  })
  .strict();

/** Reads (and checks) this builder's settings from a config object; a key it does not know is a CONFIG_ERROR. */
export function parseDockerConfig(config: Readonly<Record<string, unknown>> | undefined): DockerBuilderConfig {
  const issues = checkBuilderSettings(dockerBuilderSettings, config ?? {}, { type: "docker", at: "builders.docker" });
  if (issues.length === 0) return dockerBuilderSettings.parse(config ?? {}) as DockerBuilderConfig;
  throw new ImageSpecError("CONFIG_ERROR", `Cannot use the docker builder's configuration: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`, {
    field: issues[0]?.field,
    value: issues[0]?.value,
    issues,
    hint: "Fix builders.docker in imagespec.config.ts or the image's builderConfig.",
  });
}
