/**
 * How a Docker build runs, whichever builder runs it: the settings the docker and remote builders share. None of it
 * enters the tag: it says how to build, not what is built. Each builder reads these keys from its own configuration
 * (`defineConfig({ builders: { <type>: {...} } })`, an image's `builderConfig`) next to its own keys.
 */

import { type ValidationIssue, zodIssuesToValidation } from "@imagespec/core/authoring";
import { z } from "zod";

export interface DockerBuildSettings {
  /** Network for RUN steps: `host` reaches servers on the build machine's 127.0.0.1 (a local package index). */
  readonly network?: "default" | "host" | "none";
  /** Pull base images even when the engine has them. */
  readonly pull?: boolean;
  /** Build without the build cache. */
  readonly noCache?: boolean;
  /** OCI labels added to every image (not to the tag). */
  readonly labels?: Readonly<Record<string, string>>;
  /** A push that reports no progress for this many milliseconds is given up (default 60000). */
  readonly pushIdleTimeoutMs?: number;
}

/**
 * Settings that used to be builderConfig and change what is built: they are builderOptions now (options.ts), which
 * enter the tag. Given as builderConfig, they are refused with where they go, never ignored.
 */
const MOVED_TO_BUILDER_OPTIONS = z.unknown().superRefine((_value, ctx) => {
  ctx.addIssue({
    code: "custom",
    message: "changes what is built, so it is a builder option: set it in the image's builderOptions (which enter the tag), not in builderConfig",
  });
});

/**
 * The shared settings' schemas, for a builder to spread into its own strict settings schema next to its own keys:
 * `z.object({ ...dockerBuildSettingsShape, host: ... }).strict()`. One place per setting, so checks added here (and
 * settings that come to enter the tag) reach every builder that renders with this package.
 */
export const dockerBuildSettingsShape = {
  network: z.enum(["default", "host", "none"]).optional(),
  pull: z.boolean().optional(),
  noCache: z.boolean().optional(),
  micromambaImage: MOVED_TO_BUILDER_OPTIONS.optional(),
  cudaImage: MOVED_TO_BUILDER_OPTIONS.optional(),
  labels: z.record(z.string().min(1), z.string()).optional(),
  pushIdleTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
};

const schema = z.object(dockerBuildSettingsShape);

/** The configuration keys the shared settings use; a builder's own keys must not collide with them. */
export const DOCKER_BUILD_SETTING_KEYS: readonly string[] = Object.freeze(Object.keys(schema.shape));

/**
 * Reads the shared settings from a builder's configuration. Keys it does not know are left alone (the builder's
 * own keys); problems come back as issues, so the builder can report them together with its own in one error.
 */
export function readDockerBuildSettings(config: Readonly<Record<string, unknown>> | undefined): { settings: DockerBuildSettings; issues: ValidationIssue[] } {
  const own = Object.fromEntries(Object.entries(config ?? {}).filter(([key]) => DOCKER_BUILD_SETTING_KEYS.includes(key)));
  const result = schema.safeParse(own);
  if (result.success) return { settings: result.data, issues: [] };
  return { settings: {}, issues: zodIssuesToValidation(result.error.issues, own) };
}
