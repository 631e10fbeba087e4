/**
 * How a Docker build runs, whichever builder runs it: the settings the docker and remote builders share. None of it
 * enters the tag: it says how to build, not what is built. Each builder reads these keys from its own configuration
 * (`defineConfig({ builders: { <type>: {...} } })`, an image's `builderConfig`) next to its own keys.
 *
 * The cache settings (`cacheFrom`, `cacheTo`) do not enter the tag either: a step taken from another build's cache
 * gives the layer that step made, the same files and image configuration a fresh run gives (what `noCache` turns
 * off, `cacheFrom` only widens). Inline cache adds BuildKit's cache record (`moby.buildkit.cache.v0`) to the pushed
 * image's configuration, which changes the digest but nothing a container sees (files, env, entrypoint, labels), and
 * the digest of a rebuilt image differs anyway; so one tag still means one image.
 */

import { grammar, type ValidationIssue, z, zodIssuesToValidation } from "@imagespec/core/authoring";

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
  /**
   * Images whose build cache this build may reuse: pushed images that carry BuildKit's inline cache (built with
   * `cacheTo: "inline"`), e.g. the image's last build on another machine. Steps whose inputs match are `CACHED` and
   * their layers come from the registry. An image that has no cache, or is missing, only costs a lookup.
   */
  readonly cacheFrom?: readonly string[];
  /**
   * Writes the build cache: `"inline"` puts BuildKit's cache record into the image's configuration, so a later
   * build anywhere can name the pushed image in `cacheFrom`. Docker Engine API builds (the docker and remote
   * builders) write inline cache only; registry and local cache exporters are refused.
   */
  readonly cacheTo?: "inline";
}

/** At most this many `cacheFrom` images: each is a registry lookup before the build starts. */
export const MAX_CACHE_FROM = 16;

const cacheFromReference = z.string().superRefine((value, ctx) => {
  const problem = grammar.checkImageReference(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `is not an image to take cache from: ${problem}` });
});

/**
 * `cacheTo`: `"inline"`, the one cache export the Engine API's `/build` has (the build argument
 * `BUILDKIT_INLINE_CACHE`, read by dockerd). Anything else is refused with why, never dropped: a CI that asks for a
 * registry cache and silently gets none would rebuild everything without saying so.
 */
const cacheTo = z.custom<"inline">((value) => value === "inline", { error: (issue) => cacheToRefusal(issue.input) });

function cacheToRefusal(value: unknown): string {
  const type = typeof value === "string" ? (/^(?:type=)?([a-z0-9-]+)/i.exec(value)?.[1] ?? value).toLowerCase() : undefined;
  if (type !== undefined && ["registry", "local", "gha", "s3", "azblob"].includes(type))
    return `asks for the ${type} cache exporter, but the Docker Engine API that the docker and remote builders build through writes only inline cache (its /build has no cache-to: registry and local exporters are BuildKit's own API, as docker buildx uses it); use "inline" and push the image, then name it in cacheFrom`;
  return 'must be "inline" (the cache goes into the pushed image, for cacheFrom elsewhere): the Docker Engine API writes no other cache';
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
  cacheFrom: z.array(cacheFromReference).max(MAX_CACHE_FROM).optional(),
  cacheTo: cacheTo.optional(),
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
