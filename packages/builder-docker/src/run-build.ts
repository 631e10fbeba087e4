/**
 * Building, pushing and checking images: loaded only when the builder builds (the builder's `supports()` and
 * `render()` never load dockerode, execa or tar-stream). The Engine API path is @imagespec/docker-build's; the
 * docker CLI path, for secret mounts and several platforms, is this builder's own.
 */

import { access } from "node:fs/promises";
import path from "node:path";
import { type BuildContext, type BuildResult, type Existence, type Image, ImageSpecError, isImageSpecError, parseImageReference, type SecretMount } from "@imagespec/core";
import { type DockerBuildPlan, renderDockerBuild } from "@imagespec/docker-build";
import {
  BuildProgress,
  abortOnFailure,
  buildFailure,
  buildOnEngine,
  cancelledError,
  contextTar,
  DockerBuildError,
  engineImageId,
  enginePush,
  ociLabels,
  registryAuths,
} from "@imagespec/docker-build/engine";
import { cliBuild, findDockerCli } from "./cli.js";
import type { DockerBuilderConfig } from "./config.js";
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

export async function runBuild(image: Image, context: BuildContext, config: DockerBuilderConfig, env: NodeJS.ProcessEnv = process.env): Promise<BuildResult> {
  const { uri, signal } = context;
  if (signal.aborted) throw cancelledError(image, uri);

  const plan: DockerBuildPlan = await renderDockerBuild(image, { baseUri: context.baseUri, config });
  const connection = await connectEngine(config, `build ${image.name}`, env);
  const severalPlatforms = image.platforms.length > 1;
  if (severalPlatforms && !context.push) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot build ${image.name} for ${image.platforms.join(", ")}: an image of several platforms cannot be kept in the local engine, only pushed`, {
      field: "platform",
      value: image.platforms,
      hint: "Give the image a registry (and leave IMAGESPEC_PUSH unset), or build one platform.",
    });
  }
  if (plan.secrets.length === 0 && !severalPlatforms) {
    return buildOnEngine(connection, image, context, { settings: config, engine: `docker ${connection.endpoint}`, plan, env });
  }
  return cliRunBuild(image, context, config, plan, connection, env);
}

/** Secret mounts and several platforms: the docker CLI builds (it serves secrets through its BuildKit session). */
async function cliRunBuild(
  image: Image,
  context: BuildContext,
  config: DockerBuilderConfig,
  plan: DockerBuildPlan,
  connection: Awaited<ReturnType<typeof connectEngine>>,
  env: NodeJS.ProcessEnv,
): Promise<BuildResult> {
  const { uri, signal } = context;
  const severalPlatforms = image.platforms.length > 1;
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
    const cli = await findDockerCli(config, severalPlatforms ? "platforms" : "secrets", env, (message) => context.report({ type: "warning", message }));
    progress.line(`Building with ${cli.path} (docker ${cli.version}${cli.buildx ? ", buildx" : ", BuildKit"}): ${severalPlatforms ? "several platforms" : "secret mounts"} need the CLI`);
    const auths = await registryAuths(severalPlatforms ? [...plan.baseReferences, uri] : plan.baseReferences, context.credentials);
    const result = await cliBuild(
      cli,
      tar.stream,
      {
        tag: uri,
        dockerfile: plan.dockerfileName,
        buildArgs: plan.buildArgs,
        labels,
        platforms: image.platforms,
        network: config.network,
        pull: config.pull ?? false,
        noCache: config.noCache ?? false,
        secrets,
        push: severalPlatforms,
        auths,
        host: config.host,
        signal: buildSignal,
      },
      progress,
    );
    if (result.exitCode !== 0) engineMessage = result.failure ?? `${path.basename(cli.path)} exited with ${result.exitCode}`;
    imageId = result.imageId;
    if (severalPlatforms && result.exitCode === 0) {
      digest = result.digest;
      pushed = true;
    }
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

  if (context.push && !pushed) {
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
