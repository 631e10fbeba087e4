/**
 * Building, pushing and checking images: loaded only when the builder builds (the builder's `supports()` and
 * `render()` never load dockerode, execa or tar-stream). The Engine API path is @imagespec/docker-build's; the
 * docker CLI path, for secret mounts, is this builder's own. Several platforms are one build per platform (each
 * through the path it needs), then an image index (@imagespec/docker-build's buildPlatformIndex).
 */

import { access } from "node:fs/promises";
import path from "node:path";
import {
  type BuildContext,
  type BuildResult,
  type Existence,
  type Image,
  ImageSpecError,
  isImageSpecError,
  limiter,
  type NativePlatform,
  parseImageReference,
  type SecretMount,
} from "@imagespec/core";
import { type DockerBuildPlan, renderDockerBuild } from "@imagespec/docker-build";
import {
  abortOnFailure,
  BuildProgress,
  buildFailure,
  buildOnEngine,
  buildPlatformIndex,
  cancelledError,
  cannotRunReason,
  contextTar,
  DockerBuildError,
  type EngineConnection,
  engineImageId,
  engineNativePlatform,
  enginePlatforms,
  enginePush,
  ociLabels,
  registryAuths,
  unsupportedPlatformError,
  unsupportedPlatforms,
} from "@imagespec/docker-build/engine";
import { cliBuild, findDockerCli } from "./cli.js";
import { DEFAULT_MAX_BUILDS, type DockerBuilderConfig } from "./config.js";
import { connectEngine } from "./local-engine.js";

export { DockerBuildError };

/** Secrets with their sources checked and `src` made absolute; a missing source is an error before the build. */
async function resolveSecrets(image: Image, secrets: readonly SecretMount[], env: NodeJS.ProcessEnv): Promise<SecretMount[]> {
  const problems: string[] = [];
  const resolved: SecretMount[] = [];
  for (const secret of secrets) {
    if (secret.src !== undefined) {
      const abs = path.resolve(image.root, secret.src);
      if (!(await access(abs).then(() => true, () => false))) problems.push(`secret ${secret.id}: the file ${abs} does not exist`);
      resolved.push({ id: secret.id, src: abs });
    } else {
      const variable = secret.env ?? secret.id;
      if (env[variable] === undefined) problems.push(`secret ${secret.id}: the environment variable ${variable} is not set`);
      resolved.push({ id: secret.id, env: variable });
    }
  }
  if (problems.length > 0) {
    throw new ImageSpecError("ENVIRONMENT", `Cannot build ${image.name}: ${problems.join("; ")}`, {
      field: "secretMounts",
      hint: "Secret values are read when the build runs: set the variable or create the file (it never enters the image, the tag or the log).",
    });
  }
  return resolved;
}

/** The engine's build slots, per endpoint: platform builds and images share them. */
const slots = new Map<string, <T>(task: () => Promise<T>) => Promise<T>>();

function engineSlots(endpoint: string, maxBuilds: number): <T>(task: () => Promise<T>) => Promise<T> {
  const key = `${endpoint} ${maxBuilds}`;
  let slot = slots.get(key);
  if (slot === undefined) {
    slot = limiter(maxBuilds);
    slots.set(key, slot);
  }
  return slot;
}

export async function runBuild(image: Image, context: BuildContext, config: DockerBuilderConfig, env: NodeJS.ProcessEnv = process.env): Promise<BuildResult> {
  const { uri, signal } = context;
  if (signal.aborted) throw cancelledError(image, uri);

  const plan: DockerBuildPlan = await renderDockerBuild(image, { baseUri: context.baseUri, config });
  const connection = await connectEngine(config, `build ${image.name}`, env);
  const engine = `docker ${connection.endpoint}`;
  await checkPlatforms(image, connection, engine, (message) => context.report({ type: "warning", message }));
  const slot = engineSlots(connection.endpoint, config.maxBuilds ?? DEFAULT_MAX_BUILDS);
  const buildOne = (platform: string | undefined, platformContext: BuildContext): Promise<BuildResult> =>
    slot(() =>
      plan.secrets.length === 0
        ? buildOnEngine(connection, image, platformContext, { settings: config, engine, plan, env, ...(platform !== undefined && { platform }) })
        : cliRunBuild(image, platformContext, config, plan, connection, env, platform),
    );
  if (image.platforms.length > 1) {
    return buildPlatformIndex(image, context, { build: buildOne, concurrency: config.maxBuilds ?? DEFAULT_MAX_BUILDS });
  }
  return buildOne(image.platforms[0], context);
}

/**
 * Fails before anything is built when the engine cannot run one of the image's platforms (no emulator for it on its
 * host). When the engine cannot be asked which platforms it emulates, the build goes ahead with a warning.
 */
async function checkPlatforms(image: Image, connection: EngineConnection, engine: string, warn: (message: string) => void): Promise<void> {
  const platforms = await enginePlatforms(connection);
  const missing = unsupportedPlatforms(image.platforms, platforms);
  if (missing.length === 0) return;
  if (platforms.workersError !== undefined) {
    warn(`Cannot ask ${engine} which platforms it emulates (${platforms.workersError}); building ${missing.join(", ")} anyway`);
    return;
  }
  throw unsupportedPlatformError(image, missing, cannotRunReason(engine, missing, platforms));
}

/** The local engine's platform, for images whose platform is `native`. */
export async function nativePlatform(config: DockerBuilderConfig, env: NodeJS.ProcessEnv = process.env): Promise<NativePlatform> {
  const connection = await connectEngine(config, "find the Docker engine's platform", env);
  return { platform: await engineNativePlatform(connection), source: `docker ${connection.endpoint}` };
}

/** Secret mounts: the docker CLI builds one platform (it serves secrets through its BuildKit session). */
async function cliRunBuild(
  image: Image,
  context: BuildContext,
  config: DockerBuilderConfig,
  plan: DockerBuildPlan,
  connection: EngineConnection,
  env: NodeJS.ProcessEnv,
  platform: string | undefined,
): Promise<BuildResult> {
  const { uri, signal } = context;
  const progress = new BuildProgress((event) => context.report(event), plan.steps);
  const labels = await ociLabels(image, config.labels ?? {}, env);
  const tar = contextTar(plan.context, { env, image, identity: context.identity });
  const tarFailure = tar.done.then(
    () => undefined,
    (error: unknown) => error,
  );
  // A context that cannot be sent (a file changed since the tag was computed) stops the build: the engine would
  // otherwise wait for the rest of the stream.
  const buildSignal = abortOnFailure(signal, tar.done);
  let imageId: string | undefined;
  let digest: string | undefined;
  let pushed = false;
  let engineMessage: string | undefined;
  try {
    const secrets = await resolveSecrets(image, plan.secrets, env);
    const cli = await findDockerCli(config, env, (message) => context.report({ type: "warning", message }));
    progress.line(`Building with ${cli.path} (docker ${cli.version}${cli.buildx ? ", buildx" : ", BuildKit"}): secret mounts need the CLI`);
    const auths = await registryAuths(plan.baseReferences, context.credentials);
    const result = await cliBuild(
      cli,
      tar.stream,
      {
        tag: uri,
        dockerfile: plan.dockerfileName,
        buildArgs: plan.buildArgs,
        labels,
        platform,
        network: config.network,
        pull: config.pull ?? false,
        noCache: config.noCache ?? false,
        secrets,
        auths,
        host: config.host,
        signal: buildSignal,
      },
      progress,
    );
    if (result.exitCode !== 0) engineMessage = result.failure ?? `${path.basename(cli.path)} exited with ${result.exitCode}`;
    imageId = result.imageId;
  } catch (error) {
    const tarError = await Promise.race([tarFailure, new Promise((resolve) => setTimeout(resolve, 100, undefined))]);
    if (tarError !== undefined) throw tarError;
    if (signal.aborted) throw cancelledError(image, uri);
    if (isImageSpecError(error)) throw error;
    throw new DockerBuildError(`Cannot build ${image.name}: ${(error as Error).message}\n  image: ${uri}`, { log: progress.log, cause: error });
  }
  const tarError = await tarFailure;
  if (tarError !== undefined) throw tarError;
  if (signal.aborted) throw cancelledError(image, uri);
  const failure = progress.failure();
  if (engineMessage !== undefined || failure !== undefined) throw buildFailure(image.name, uri, failure, engineMessage, progress.log);

  if (context.push) {
    progress.line(`Pushing ${uri}`);
    digest = await enginePush(connection, image.name, uri, context.credentials, signal, progress, { idleTimeoutMs: config.pushIdleTimeoutMs });
    pushed = true;
  }
  return {
    uri,
    ...((digest ?? imageId) !== undefined && { digest: digest ?? imageId }),
    pushed,
    cached: progress.allCached,
    engine: `docker ${connection.endpoint}`,
    log: progress.log,
  };
}

export async function imageExists(uri: string, config: DockerBuilderConfig, env: NodeJS.ProcessEnv = process.env): Promise<Existence> {
  if (parseImageReference(uri) === undefined) return { status: "unknown", reason: `${uri} is not an image reference` };
  const connection = await connectEngine(config, "check whether an image exists in the Docker engine", env);
  const id = await engineImageId(connection, uri);
  return id === undefined ? { status: "absent" } : { status: "present", digest: id };
}
