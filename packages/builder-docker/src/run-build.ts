/**
 * Building, pushing and checking images: loaded only when the builder builds (the builder's `supports()` and
 * `render()` never load dockerode, execa or tar-stream).
 */

import { access } from "node:fs/promises";
import path from "node:path";
import { type BuildContext, type BuildResult, type Existence, type Image, ImageSpecError, isImageSpecError, parseImageReference, type SecretMount } from "@imagespec/core";
import { cliBuild, findDockerCli } from "./cli.js";
import type { DockerBuilderConfig } from "./config.js";
import { contextTar } from "./context-tar.js";
import { connectEngine, engineBuild, engineImageId, enginePush, registryAuths } from "./engine-api.js";
import { ociLabels } from "./labels.js";
import type { DockerBuildPlan } from "./plan.js";
import { BuildProgress, type StepFailure } from "./progress.js";
import { renderDockerBuild } from "./render.js";

/** A failed build: which layer the failing step came from, its command, and the tail of its log. */
export class DockerBuildError extends ImageSpecError {
  /** Index in `image.layers` of the layer the failed step belongs to, when it belongs to one. */
  readonly layerIndex: number | undefined;
  readonly layerKind: string | undefined;
  /** The failed step's command (a layer's command, the pip or apt line), or the step's name. */
  readonly command: string | undefined;
  /** The last lines the failed step printed. */
  readonly logTail: readonly string[];
  /** The whole build log. */
  readonly log: string;

  constructor(message: string, details: { layerIndex?: number; layerKind?: string; command?: string; logTail?: readonly string[]; log: string; hint?: string; cause?: unknown }) {
    super("BUILD_FAILED", message, {
      ...(details.layerIndex !== undefined && { field: `layers[${details.layerIndex}]` }),
      ...(details.command !== undefined && { value: details.command }),
      ...(details.hint !== undefined && { hint: details.hint }),
      ...(details.cause !== undefined && { cause: details.cause }),
    });
    this.name = "DockerBuildError";
    this.layerIndex = details.layerIndex;
    this.layerKind = details.layerKind;
    this.command = details.command;
    this.logTail = details.logTail ?? [];
    this.log = details.log;
  }
}

/** `Cannot <do what>: <why>`: the image's name (no `:` in it), with the URI in the details. */
function failureError(name: string, uri: string, failure: StepFailure | undefined, engineMessage: string | undefined, log: string): DockerBuildError {
  if (failure === undefined) {
    const tail = log.split("\n").slice(-20);
    return new DockerBuildError(`Cannot build ${name}: ${engineMessage ?? "the build failed"}\n  image: ${uri}${tail.length > 0 ? `\n${indent(tail)}` : ""}`, {
      log,
      logTail: tail,
      hint: "The full build log is in the error's `log`; run with --debug to see it.",
    });
  }
  const origin = failure.origin;
  const where =
    origin?.layerIndex !== undefined
      ? `layers[${origin.layerIndex}] (${origin.layerKind})`
      : origin?.stage !== undefined
        ? `the helper image ${origin.description}`
        : origin !== undefined
          ? origin.keyword === "FROM"
            ? "the base image"
            : "imagespec's own steps"
          : failure.name.startsWith("[internal]")
            ? "preparing the build"
            : "the Dockerfile";
  const command = origin?.description ?? failure.name;
  const lines = [
    `Cannot build ${name}: a step of ${where} failed: ${failure.error ?? "unknown error"}`,
    `  image: ${uri}`,
    `  step: ${failure.name}`,
    `  command: ${command}`,
    ...(failure.logTail.length > 0 ? ["  log tail:", indent(failure.logTail, "    ")] : ["  (the step printed nothing)"]),
  ];
  const hint = failure.name.includes("load metadata for")
    ? "The base image could not be resolved: check the reference, that its registry is reachable, and the credentials for it."
    : origin?.layerIndex !== undefined
      ? `Fix layers[${origin.layerIndex}] (${origin.layerKind}); the full build log is in the error's \`log\`.`
      : "The full build log is in the error's `log`.";
  return new DockerBuildError(lines.join("\n"), {
    ...(origin?.layerIndex !== undefined && { layerIndex: origin.layerIndex }),
    ...(origin?.layerKind !== undefined && { layerKind: origin.layerKind }),
    command,
    logTail: failure.logTail,
    log,
    hint,
  });
}

function indent(lines: readonly string[], prefix = "  "): string {
  return lines.map((l) => `${prefix}${l}`).join("\n");
}

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
  const cancelled = () => new ImageSpecError("CANCELLED", `Cannot build ${image.name}: cancelled`, { value: uri });
  if (signal.aborted) throw cancelled();

  const plan: DockerBuildPlan = await renderDockerBuild(image, { baseUri: context.baseUri, config });
  const progress = new BuildProgress((event) => context.report(event), plan.steps);
  const connection = await connectEngine(config, `build ${image.name}`, env);
  const labels = await ociLabels(image, config.labels ?? {}, env);
  const severalPlatforms = image.platforms.length > 1;
  const useCli = plan.secrets.length > 0 || severalPlatforms;
  if (severalPlatforms && !context.push) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot build ${image.name} for ${image.platforms.join(", ")}: an image of several platforms cannot be kept in the local engine, only pushed`, {
      field: "platform",
      value: image.platforms,
      hint: "Give the image a registry (and leave IMAGESPEC_PUSH unset), or build one platform.",
    });
  }

  const tar = contextTar(plan.context, { env });
  const tarFailure = tar.done.then(
    () => undefined,
    (error: unknown) => error,
  );
  let imageId: string | undefined;
  let digest: string | undefined;
  let pushed = false;
  let engineMessage: string | undefined;
  try {
    if (useCli) {
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
          signal,
        },
        progress,
      );
      if (result.exitCode !== 0) engineMessage = result.failure ?? `${path.basename(cli.path)} exited with ${result.exitCode}`;
      imageId = result.imageId;
      if (severalPlatforms && result.exitCode === 0) {
        digest = result.digest;
        pushed = true;
      }
    } else {
      const result = await engineBuild(
        connection,
        tar.stream,
        {
          tag: uri,
          dockerfile: plan.dockerfileName,
          buildArgs: plan.buildArgs,
          labels,
          platform: image.platforms[0],
          network: config.network,
          pull: config.pull ?? false,
          noCache: config.noCache ?? false,
          auths: await registryAuths(plan.baseReferences, context.credentials),
          signal,
        },
        progress,
      );
      imageId = result.imageId;
      engineMessage = result.error;
    }
  } catch (error) {
    const tarError = await Promise.race([tarFailure, new Promise((resolve) => setTimeout(resolve, 100, undefined))]);
    if (tarError !== undefined) throw tarError;
    if (signal.aborted) throw cancelled();
    if (isImageSpecError(error)) throw error;
    throw new DockerBuildError(`Cannot build ${image.name}: ${(error as Error).message}\n  image: ${uri}`, { log: progress.log, cause: error });
  }
  const tarError = await tarFailure;
  if (tarError !== undefined) throw tarError;
  if (signal.aborted) throw cancelled();
  const failure = progress.failure();
  if (engineMessage !== undefined || failure !== undefined) throw failureError(image.name, uri, failure, engineMessage, progress.log);

  if (context.push && !pushed) {
    progress.line(`Pushing ${uri}`);
    digest = await enginePush(connection, image.name, uri, context.credentials, signal, progress);
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
