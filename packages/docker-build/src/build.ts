/**
 * One image built on one Docker engine through the Engine API: render, open a BuildKit session of ours (context,
 * Dockerfile, credentials, secrets, SSH agents), build with BuildKit, map a failed step back to its layer, push from
 * the engine. Which engine, and how it was reached, is the builder's
 * business; this module only needs the open connection. A build that loses its engine (the connection drops, the
 * engine dies) fails with an EngineLostError, which a builder with several engines may retry elsewhere.
 */

import type { Image } from "@imagespec/core";
import { type BuildContext, type BuildResult, ImageSpecError, isImageSpecError } from "@imagespec/core/authoring";
import { type EngineConnection, engineBuild, enginePush } from "./engine-api.js";
import { ociLabels } from "./labels.js";
import type { DockerBuildPlan } from "./plan.js";
import { BuildProgress, type StepFailure } from "./progress.js";
import { renderDockerBuild } from "./render.js";
import { sessionSources, type StartedSession, startBuildSession } from "./session/build-session.js";
import type { DockerBuildSettings } from "./settings.js";

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

  constructor(
    message: string,
    details: { layerIndex?: number; layerKind?: string; command?: string; logTail?: readonly string[]; log: string; hint?: string; cause?: unknown },
  ) {
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

const ENGINE_LOST = Symbol.for("imagespec.docker-build.engine-lost");

/**
 * The engine went away while it built or pushed (the connection was reset or closed, the engine stopped): nothing
 * is wrong with the image, so another engine may succeed. Code ENVIRONMENT; `engine` names the engine.
 */
export class EngineLostError extends ImageSpecError {
  readonly engine: string;
  /** The build log up to the moment the engine was lost. */
  readonly log: string;

  constructor(message: string, details: { engine: string; log: string; hint?: string; cause?: unknown }) {
    super("ENVIRONMENT", message, {
      value: details.engine,
      hint: details.hint ?? "Check that the engine is running and reachable, then build again.",
      ...(details.cause !== undefined && { cause: details.cause }),
    });
    this.name = "EngineLostError";
    this.engine = details.engine;
    this.log = details.log;
    Object.defineProperty(this, ENGINE_LOST, { value: true });
  }
}

/** True for an EngineLostError, from any copy of this package. */
export function isEngineLost(error: unknown): error is EngineLostError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[ENGINE_LOST] === true;
}

const CONNECTION_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_SOCKET_CLOSED",
]);

/** Whether an error (or one of its causes) says the connection to the engine failed, rather than the engine refusing. */
export function isConnectionFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    const message = (current as { message?: unknown }).message;
    if (
      typeof message === "string" &&
      /socket hang up|^aborted$|premature close|connection (?:reset|closed|lost)|not connected|channel (?:open )?failure|no response from server/i.test(message)
    )
      return true;
  }
  return false;
}

/** BuildKit's errors for a step that needed the session after it was dropped (grpc-go's, then the session manager's). */
const SESSION_LOST = /transport is closing|no active session for/;

/** Said with a failure when the engine ended the build's session first: the failure is most likely its consequence. */
const SESSION_ENDED =
  "The engine ended this build's BuildKit session before the build ended: BuildKit does that when the session's health check goes unanswered for about 10 s, so this process was blocked or short of CPU, and a step that needed the session (files, secrets, SSH, credentials) then failed. Give the machine fewer concurrent jobs, or keep long synchronous work off the process that builds.";

/**
 * `Cannot <do what>: <why>`: the image's name (no `:` in it), with the URI in the details; when the engine had ended
 * the session first, that is said too, with what to do about it.
 */
export function buildFailure(
  name: string,
  uri: string,
  failure: StepFailure | undefined,
  engineMessage: string | undefined,
  log: string,
  options: { readonly sessionEnded?: boolean } = {},
): DockerBuildError {
  const error = describeFailure(name, uri, failure, engineMessage, log);
  if (!options.sessionEnded) return error;
  return new DockerBuildError(`${error.message}\n  session: ended by the engine before the build ended`, {
    ...(error.layerIndex !== undefined && { layerIndex: error.layerIndex }),
    ...(error.layerKind !== undefined && { layerKind: error.layerKind }),
    ...(error.command !== undefined && { command: error.command }),
    logTail: error.logTail,
    log,
    hint: SESSION_ENDED,
  });
}

function describeFailure(name: string, uri: string, failure: StepFailure | undefined, engineMessage: string | undefined, log: string): DockerBuildError {
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

/** The CANCELLED error for a build whose signal was aborted. */
export function cancelledError(image: Image, uri: string): ImageSpecError {
  return new ImageSpecError("CANCELLED", `Cannot build ${image.name}: cancelled`, { value: uri });
}

export interface EngineBuildRun {
  /** How to build: network, pull, cache, labels, helper images. */
  readonly settings: DockerBuildSettings;
  /** Names the engine in the result (`BuildResult.engine`) and in errors, e.g. `docker unix:///var/run/docker.sock`. */
  readonly engine: string;
  /** The plan, when the builder rendered it already. */
  readonly plan?: DockerBuildPlan;
  /** Where SOURCE_DATE_EPOCH, environment-variable secrets and SSH_AUTH_SOCK come from. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** The one platform to build (one of an image's several). Default: the image's first. */
  readonly platform?: string;
}

/** How long a closing session may take to say it is closed before the build result is given anyway. */
const SESSION_CLOSE_MS = 5_000;

/**
 * Builds the image on the engine, and pushes it from the engine when `context.push` is set: the image is never
 * loaded anywhere else. Everything the engine needs from this machine (the context and the Dockerfile, registry
 * credentials, secret values, SSH agents) it gets through a BuildKit session of ours, opened on the same
 * connection. Resolves to `{ uri, digest, pushed, cached, engine, log }`. Rejects with a DockerBuildError
 * (BUILD_FAILED) when a step fails, CANCELLED when the signal is aborted, an EngineLostError when the engine goes
 * away, ENVIRONMENT when a secret or SSH agent is missing (before building), and the push's AUTH_ERROR or
 * REGISTRY_ERROR when the registry refuses.
 */
export async function buildOnEngine(connection: EngineConnection, image: Image, context: BuildContext, run: EngineBuildRun): Promise<BuildResult> {
  const { uri, signal } = context;
  const env = run.env ?? process.env;
  if (signal.aborted) throw cancelledError(image, uri);
  const plan = run.plan ?? (await renderDockerBuild(image, { baseUri: context.baseUri, config: run.settings }));
  const sources = await sessionSources(image, plan, env);
  const progress = new BuildProgress((event) => context.report(event), plan.steps);
  // Two git commands: they run while the session opens.
  const labelsRead = ociLabels(image, run.settings.labels ?? {}, env);
  labelsRead.catch(() => {}); // awaited below; not unhandled if the session fails to open first
  const platform = run.platform ?? image.platforms[0];
  // One platform of several: every message says which.
  const name = image.platforms.length > 1 && platform !== undefined ? `${image.name} for ${platform}` : image.name;
  const lost = (what: string, cause?: unknown) =>
    new EngineLostError(`Cannot build ${name}: the engine ${run.engine} went away while ${what}${cause instanceof Error ? ` (${cause.message})` : ""}`, {
      engine: run.engine,
      log: progress.log,
      cause,
    });
  const failed = (error: unknown, what: string): unknown => {
    if (signal.aborted) return cancelledError(image, uri);
    if (isImageSpecError(error)) return error;
    if (isConnectionFailure(error)) return lost(what, error);
    return new DockerBuildError(`Cannot build ${name}: ${(error as Error).message}\n  image: ${uri}`, { log: progress.log, cause: error });
  };

  let started: StartedSession;
  try {
    started = await startBuildSession(connection, image, plan, {
      identity: context.identity,
      credentials: context.credentials,
      env,
      sources,
      trace: (line) => progress.line(`session: ${line}`),
    });
  } catch (error) {
    throw failed(error, "a build session was opened");
  }
  const { session } = started;
  const labels = await labelsRead;
  const closeSession = () => {
    session.close();
    return Promise.race([session.closed, new Promise((resolve) => setTimeout(resolve, SESSION_CLOSE_MS).unref())]);
  };
  // Cancelling closes the session at once and ends the build request; both end what the engine was doing. (One
  // listener on the caller's signal per build: many builds may share it.)
  const request = new AbortController();
  const onAbort = () => {
    session.close();
    request.abort(signal.reason);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  // An abort that came while the context was prepared or the session opened fired no listener: act on it now.
  if (signal.aborted) onAbort();
  const cacheFrom = run.settings.cacheFrom ?? [];
  if (cacheFrom.length > 0) progress.line(`Cache: steps may come from ${cacheFrom.join(", ")}`);
  if (run.settings.cacheTo === "inline") progress.line("Cache: written inline, into the image's configuration");
  let result: { imageId: string | undefined; error: string | undefined };
  try {
    result = await engineBuild(
      connection,
      {
        tag: uri,
        dockerfile: plan.dockerfileName,
        buildArgs: plan.buildArgs,
        labels,
        platform,
        network: run.settings.network,
        pull: run.settings.pull ?? false,
        noCache: run.settings.noCache ?? false,
        ...(run.settings.cacheFrom !== undefined && { cacheFrom: run.settings.cacheFrom }),
        inlineCache: run.settings.cacheTo === "inline",
        session: session.id,
        signal: request.signal,
      },
      progress,
    );
  } catch (error) {
    signal.removeEventListener("abort", onAbort);
    await closeSession();
    throw session.failure() ?? failed(error, "it built");
  }
  signal.removeEventListener("abort", onAbort);
  await closeSession();
  // BuildKit syncs the context more than once (`.dockerignore` first, alone): add them up.
  const sent = session.fileSync.transfers
    .filter((t) => t.name === "context")
    .reduce((sum, t) => ({ files: sum.files + t.files, bytes: sum.bytes + t.bytes }), { files: 0, bytes: 0 });
  progress.line(
    `Context: ${started.context.files} files (${started.context.bytes} bytes) offered; the engine asked for ${sent.files} of them (${sent.bytes} bytes); ${session.fileSync.wireBytes} bytes sent in all`,
  );
  const sessionFailure = session.failure();
  if (sessionFailure !== undefined) throw sessionFailure;
  if (signal.aborted) throw cancelledError(image, uri);
  const failure = progress.failure();
  // An engine that stops cancels its builds: no step failed, the build was cut short.
  if (failure === undefined && result.error !== undefined && /context canceled/i.test(result.error)) throw lost(`it built (${result.error})`);
  if (result.error !== undefined || failure !== undefined) {
    // A failed step may be the consequence of a session the engine had already ended. Dockerd 20.10 keeps the
    // connection open when BuildKit drops the session, so its steps' errors are what says so.
    const sessionEnded = session.endedByEngine() || SESSION_LOST.test(failure?.error ?? result.error ?? "");
    throw buildFailure(name, uri, failure, result.error, progress.log, { sessionEnded });
  }
  if (result.imageId === undefined) throw lost("it built: the build ended without an image and without an error");

  let digest: string | undefined;
  if (context.push) {
    progress.line(`Pushing ${uri}`);
    try {
      digest = await enginePush(connection, name, uri, context.credentials, signal, progress, { idleTimeoutMs: run.settings.pushIdleTimeoutMs });
    } catch (error) {
      if (signal.aborted) throw cancelledError(image, uri);
      if (isImageSpecError(error)) throw error;
      if (isConnectionFailure(error)) throw lost("it pushed", error);
      throw new ImageSpecError("REGISTRY_ERROR", `Cannot push ${name}: ${(error as Error).message}`, { value: uri, cause: error });
    }
    if (digest === undefined) throw lost("it pushed: the push ended without a digest");
  }
  return {
    uri,
    digest: digest ?? result.imageId,
    pushed: context.push,
    cached: progress.allCached,
    engine: run.engine,
    log: progress.log,
  };
}
