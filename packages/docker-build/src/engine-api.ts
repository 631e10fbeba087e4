/**
 * The Docker Engine API through dockerode, on a connection the builder opened (the local engine, a remote one over
 * TLS or SSH): builds with BuildKit (`version: "2"`) from a session of our own (session/), pushes, inspects. Only
 * types come from dockerode here, so importing this module loads none of it.
 */

import type { Readable } from "node:stream";
import { type CredentialResolver, ImageSpecError, parseImageReference, toDockerEngineAuth } from "@imagespec/core/authoring";
import type Dockerode from "dockerode";
import { type BuildProgress, decodeStatusResponse } from "./progress.js";
import type { DockerBuildSettings } from "./settings.js";

export interface EngineConnection {
  readonly docker: Dockerode;
  /** Where the engine is, for messages: `unix:///var/run/docker.sock`, `tcp://...`. */
  readonly endpoint: string;
}

/** Rejects with `message` when the promise takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Splits a newline-delimited JSON stream into objects, across chunk boundaries. */
async function* jsonMessages(stream: Readable): AsyncGenerator<Record<string, unknown>> {
  let buffer = "";
  for await (const chunk of stream) {
    buffer += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield parseMessage(line);
      newline = buffer.indexOf("\n");
    }
  }
  if (buffer.trim()) yield parseMessage(buffer.trim());
}

function parseMessage(line: string): Record<string, unknown> {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : { stream: line };
  } catch {
    return { stream: line };
  }
}

function errorText(message: Record<string, unknown>): string | undefined {
  const detail = message.errorDetail as { message?: unknown } | undefined;
  if (typeof detail?.message === "string") return detail.message;
  return typeof message.error === "string" ? message.error : undefined;
}

export interface EngineBuildOptions {
  readonly tag: string;
  readonly dockerfile: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly platform: string | undefined;
  readonly network: DockerBuildSettings["network"];
  readonly pull: boolean;
  readonly noCache: boolean;
  /** Images to take build cache from (`cachefrom`): checked references, see DockerBuildSettings.cacheFrom. */
  readonly cacheFrom?: readonly string[];
  /** Writes BuildKit's inline cache into the image (`BUILDKIT_INLINE_CACHE=1`, which dockerd reads as an export). */
  readonly inlineCache?: boolean;
  /** The session that serves the context, the Dockerfile, credentials, secrets and SSH agents (`session=<id>`). */
  readonly session: string;
  readonly signal: AbortSignal;
}

/** `POST /build` with BuildKit, everything from the session (`remote=client-session`): no context in the body. */
function dialBuild(connection: EngineConnection, options: EngineBuildOptions): Promise<Readable> {
  const query = {
    t: options.tag,
    version: "2",
    dockerfile: options.dockerfile,
    remote: "client-session",
    session: options.session,
    // dockerd takes the inline cache export from this build argument, undeclared in the Dockerfile, so it changes
    // no step's cache key; only the exported image's configuration gains the cache record.
    buildargs: { ...options.buildArgs, ...(options.inlineCache && { BUILDKIT_INLINE_CACHE: "1" }) },
    labels: { ...options.labels },
    ...(options.platform !== undefined && { platform: options.platform }),
    ...(options.network !== undefined && options.network !== "default" && { networkmode: options.network }),
    ...(options.pull && { pull: true }),
    ...(options.noCache && { nocache: true }),
    // A JSON array, as dockerd reads it (docker-modem would repeat the key for an array).
    ...(options.cacheFrom !== undefined && options.cacheFrom.length > 0 && { cachefrom: JSON.stringify(options.cacheFrom) }),
    rm: true,
    forcerm: true,
  };
  return new Promise((resolve, reject) => {
    connection.docker.modem.dial(
      {
        path: "/build?",
        method: "POST",
        options: query,
        file: Buffer.alloc(0),
        isStream: true,
        abortSignal: options.signal,
        statusCodes: { 200: true, 400: "bad parameter", 500: "server error" },
      },
      (error, stream) => (error ? reject(error) : resolve(stream as unknown as Readable)),
    );
  });
}

/** Builds through the Engine API with BuildKit. Resolves to the image id and the engine's error text, if any. */
export async function engineBuild(
  connection: EngineConnection,
  options: EngineBuildOptions,
  progress: BuildProgress,
): Promise<{ imageId: string | undefined; error: string | undefined }> {
  const stream = await dialBuild(connection, options);
  let imageId: string | undefined;
  let error: string | undefined;
  for await (const message of jsonMessages(stream)) {
    if (message.id === "moby.buildkit.trace" && typeof message.aux === "string") {
      try {
        progress.status(decodeStatusResponse(Buffer.from(message.aux, "base64")));
      } catch (decodeError) {
        progress.line(`(cannot decode a BuildKit progress message: ${(decodeError as Error).message})`);
      }
    } else if (message.id === "moby.image.id") {
      const id = (message.aux as { ID?: unknown } | undefined)?.ID;
      if (typeof id === "string") imageId = id;
    } else if (errorText(message) !== undefined) {
      error = errorText(message);
      progress.line(`ERROR: ${error}`);
    } else if (typeof message.stream === "string") {
      for (const line of message.stream.split("\n")) if (line.trim()) progress.line(line);
    }
  }
  return { imageId, error };
}

/** `repository:tag` → [repository, tag]; the tag is after the last ':' that follows the last '/'. */
function splitTag(uri: string): [string, string] {
  const slash = uri.lastIndexOf("/");
  const colon = uri.lastIndexOf(":");
  return colon > slash ? [uri.slice(0, colon), uri.slice(colon + 1)] : [uri, "latest"];
}

/** How long a push may report nothing before it is given up (the registry stopped answering). */
export const DEFAULT_PUSH_IDLE_TIMEOUT_MS = 60_000;

/**
 * Pushes a local image with the resolver's credentials; returns the manifest digest. The engine reports progress
 * while it uploads; a push that reports nothing for `idleTimeoutMs` (a registry that accepted the connection and
 * stopped answering, say on the manifest upload) is cancelled on the engine and fails with REGISTRY_ERROR naming the
 * registry and what it was doing, never hangs.
 */
export async function enginePush(
  connection: EngineConnection,
  name: string,
  uri: string,
  credentials: CredentialResolver,
  signal: AbortSignal,
  progress: BuildProgress,
  options: { readonly idleTimeoutMs?: number } = {},
): Promise<string | undefined> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_PUSH_IDLE_TIMEOUT_MS;
  const domain = parseImageReference(uri)?.domain;
  const found = domain === undefined ? undefined : await credentials(domain);
  const [repository, tag] = splitTag(uri);
  const stalled = new AbortController();
  let last = "starting the push";
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stalled.abort(), idleTimeoutMs);
  };
  const stallError = () =>
    new ImageSpecError(
      "REGISTRY_ERROR",
      `Cannot push ${name}: ${domain ?? "the registry"} stopped answering; the engine reported nothing for ${formatSeconds(idleTimeoutMs)} while ${last}`,
      {
        value: uri,
        hint: `Check that ${domain} is up and reachable from the engine. The bound is the docker-build setting pushIdleTimeoutMs (default ${DEFAULT_PUSH_IDLE_TIMEOUT_MS / 1000} s).`,
      },
    );
  arm();
  try {
    let stream: Readable;
    try {
      stream = (await connection.docker.getImage(repository).push({
        tag,
        ...(found && domain !== undefined && { authconfig: toDockerEngineAuth(domain, found) }),
        abortSignal: AbortSignal.any([signal, stalled.signal]),
      } as Dockerode.ImagePushOptions)) as unknown as Readable;
    } catch (error) {
      if (stalled.signal.aborted && !signal.aborted) throw stallError();
      throw error;
    }
    let digest: string | undefined;
    try {
      for await (const message of jsonMessages(stream)) {
        arm();
        const failure = errorText(message);
        if (failure !== undefined) {
          const denied = /unauthorized|authentication required|denied|no basic auth credentials/i.test(failure);
          throw new ImageSpecError(denied ? "AUTH_ERROR" : "REGISTRY_ERROR", `Cannot push ${name}: ${domain ?? "the registry"} refused ${uri}: ${failure}`, {
            value: uri,
            hint: denied
              ? `Log in to ${domain} (docker login ${domain}), or give credentials through registryConfig or the engine's credential resolver.`
              : `Check that ${domain} is reachable and accepts pushes.`,
          });
        }
        const aux = message.aux as { Digest?: unknown } | undefined;
        if (typeof aux?.Digest === "string") digest = aux.Digest;
        if (typeof message.status === "string") {
          last = describePushStatus(message.status, message.id);
          if (message.id === undefined) progress.line(message.status);
        }
      }
    } catch (error) {
      if (stalled.signal.aborted && !signal.aborted) throw stallError();
      throw error;
    }
    if (stalled.signal.aborted && !signal.aborted) throw stallError();
    return digest;
  } finally {
    clearTimeout(timer);
  }
}

/** What the engine was doing, from its last progress message, for the stall error. */
function describePushStatus(status: string, id: unknown): string {
  if (/^Pushed$|^Layer already exists$|^Mounted from/i.test(status))
    return `it had sent layer ${String(id)} and was sending the rest (the image manifest last)`;
  if (/^Pushing/i.test(status)) return `it was sending layer ${String(id)}`;
  if (/^Preparing|^Waiting/i.test(status)) return `it was preparing layer ${String(id)}`;
  return `it was at: ${status}${id === undefined ? "" : ` (${String(id)})`}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Upper bound for asking the engine about one image. */
const INSPECT_TIMEOUT_MS = 30_000;

/** Whether the engine has the image: present (with its id), absent, or an error (thrown). */
export async function engineImageId(connection: EngineConnection, uri: string): Promise<string | undefined> {
  try {
    const info = await withTimeout(
      connection.docker.getImage(uri).inspect(),
      INSPECT_TIMEOUT_MS,
      `the engine ${connection.endpoint} did not answer within ${INSPECT_TIMEOUT_MS / 1000} s`,
    );
    return info.Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}
