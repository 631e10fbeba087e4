import { execa } from "execa";
import { remoteTestEnv, testEnv } from "./env.js";

export interface DockerOptions {
  /** Written to the command's stdin. */
  input?: string | Uint8Array;
  cwd?: string;
  /** Extra environment for the CLI (added to process.env). */
  env?: Record<string, string>;
  /** Milliseconds before the command is killed; default 10 minutes. */
  timeout?: number;
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Runs the Debian docker client (IMAGESPEC_DOCKER_CLI) with DOCKER_BUILDKIT=1 against the test engine and
 * returns its stdout (final newline stripped). Throws with the command's stderr when it fails.
 */
export async function docker(args: string[], opts: DockerOptions = {}): Promise<string> {
  const env = testEnv();
  const result = await execa(env.dockerCli, args, {
    reject: false,
    cwd: opts.cwd,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : undefined,
    timeout: opts.timeout ?? 10 * 60_000,
    env: { ...opts.env, DOCKER_BUILDKIT: "1", DOCKER_HOST: env.dockerHost },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.failed) {
    const why = result.timedOut ? `timed out after ${opts.timeout ?? 10 * 60_000} ms` : `exit code ${result.exitCode ?? result.signal ?? "unknown"}`;
    const stderr = tail(String(result.stderr ?? ""));
    throw new Error(`Cannot run docker ${args.join(" ")}: ${why}${stderr ? `\n${stderr}` : ""}`);
  }
  return String(result.stdout ?? "");
}

export interface RunImageOptions {
  /** Overrides the image's ENTRYPOINT. */
  entrypoint?: string;
  /** Environment variables for the container. */
  env?: Record<string, string>;
  /** Container network, e.g. "host" to reach servers on the host's 127.0.0.1. */
  network?: string;
  /** Container user. */
  user?: string;
  /** Written to the container's stdin (runs with -i). */
  input?: string;
  /** Milliseconds before the command is killed; default 10 minutes. */
  timeout?: number;
}

/** `docker run --rm` of an image; returns the container's stdout and throws with its stderr when it fails. */
export async function runImage(uri: string, command: string[], opts: RunImageOptions = {}): Promise<string> {
  const args = ["run", "--rm"];
  if (opts.input !== undefined) args.push("-i");
  if (opts.entrypoint !== undefined) args.push("--entrypoint", opts.entrypoint);
  if (opts.network !== undefined) args.push("--network", opts.network);
  if (opts.user !== undefined) args.push("--user", opts.user);
  for (const [key, value] of Object.entries(opts.env ?? {})) args.push("--env", `${key}=${value}`);
  args.push(uri, ...command);
  return docker(args, { input: opts.input, timeout: opts.timeout });
}

export interface HttpAnswerOptions {
  /**
   * The port the server listens on, on the host's 127.0.0.1 (the container shares the host's network). Take one
   * below 32768, outside Linux's ephemeral range: there, any other test's connection may hold it (EADDRINUSE).
   */
  port: number;
  /** Environment variables for the container (PORT and HOST are set from `port`). */
  env?: Record<string, string>;
  /** Overrides the image's command. */
  command?: string[];
  /** How long the server may take to answer; default 90 s (a loaded CI machine takes tens of seconds to start one). */
  timeoutMs?: number;
}

/**
 * Runs the image as a server on the host's network and returns the body of its first non-empty answer to
 * `GET http://127.0.0.1:<port>/`. Asks until the deadline, and stops early when the container has exited; then
 * throws with the container's log and state. The container is removed either way.
 */
export async function imageHttpAnswer(uri: string, options: HttpAnswerOptions): Promise<string> {
  const { port } = options;
  const env = { ...options.env, PORT: String(port), HOST: "127.0.0.1" };
  const container = await docker([
    "run",
    "-d",
    "--network",
    "host",
    ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    uri,
    ...(options.command ?? []),
  ]);
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  try {
    let attempts = 0;
    while (Date.now() < deadline) {
      attempts++;
      const body = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.text(),
        () => "",
      );
      if (body !== "") return body;
      const running = await docker(["inspect", "--format", "{{.State.Running}}", container]).catch(() => "false");
      if (running !== "true") break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const state = await docker(["inspect", "--format", "{{.State.Status}} (exit code {{.State.ExitCode}})", container]).catch((e: Error) => e.message);
    const { dockerCli, dockerHost } = testEnv();
    const logs = await execa(dockerCli, ["logs", container], { all: true, reject: false, env: { DOCKER_HOST: dockerHost } }).then((r) => String(r.all ?? ""));
    throw new Error(
      `${uri} gave no answer on 127.0.0.1:${port} after ${attempts} attempt${attempts === 1 ? "" : "s"}; the container is ${state}; its log:\n${logs}`,
    );
  } finally {
    await docker(["rm", "--force", container]).catch(() => undefined);
  }
}

/**
 * Runs the docker CLI against the test environment's second ("remote") engine, over mutual TLS with the client
 * certificate from IMAGESPEC_TEST_REMOTE_CERT_PATH; `listener` 2 uses its second address. Returns stdout.
 */
export async function remoteDocker(args: string[], opts: DockerOptions & { listener?: 1 | 2 } = {}): Promise<string> {
  const remote = remoteTestEnv();
  const host = opts.listener === 2 ? remote.remoteEngine2 : remote.remoteEngine;
  const result = await execa(testEnv().dockerCli, args, {
    reject: false,
    cwd: opts.cwd,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : undefined,
    timeout: opts.timeout ?? 10 * 60_000,
    env: { ...opts.env, DOCKER_BUILDKIT: "1", DOCKER_HOST: host, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: remote.remoteCertPath },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.failed) {
    const why = result.timedOut ? `timed out after ${opts.timeout ?? 10 * 60_000} ms` : `exit code ${result.exitCode ?? result.signal ?? "unknown"}`;
    const stderr = tail(String(result.stderr ?? ""));
    throw new Error(`Cannot run docker ${args.join(" ")} on the remote engine ${host}: ${why}${stderr ? `\n${stderr}` : ""}`);
  }
  return String(result.stdout ?? "");
}

export interface ImageOccurrences {
  /** In `docker save`'s archive: every layer, the config and the manifest. */
  readonly save: number;
  /** In `docker history --no-trunc` (every step's command). */
  readonly history: number;
  /** In `docker image inspect` (the config: env, labels, entrypoint, ...). */
  readonly config: number;
  /** Bytes `docker save` gave: proof the archive was read. */
  readonly savedBytes: number;
}

function countIn(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}

/**
 * How many times `value` occurs in an image of the local test engine: its saved archive (streamed, every layer
 * read whole, uncompressed as `docker save` writes it), its history and its config. For checking that a secret never
 * reached an image.
 */
export async function occurrencesInImage(uri: string, value: string): Promise<ImageOccurrences> {
  const env = testEnv();
  const needle = Buffer.from(value);
  const saved = execa(env.dockerCli, ["save", uri], { encoding: "buffer", buffer: false, env: { DOCKER_HOST: env.dockerHost }, timeout: 10 * 60_000 });
  let carry = Buffer.alloc(0);
  let save = 0;
  let savedBytes = 0;
  for await (const chunk of saved.stdout!) {
    const data = chunk as Buffer;
    savedBytes += data.length;
    const window = Buffer.concat([carry, data]);
    save += countIn(window, needle);
    // Keep less than a whole needle: a match across two chunks is found once, and no match is found twice.
    carry = window.subarray(Math.max(0, window.length - needle.length + 1));
  }
  await saved;
  const history = countIn(Buffer.from(await docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}", uri])), needle);
  const config = countIn(Buffer.from(await docker(["image", "inspect", uri])), needle);
  return { save, history, config, savedBytes };
}

/** An image index or manifest as `skopeo inspect --raw` prints it. */
export interface RawManifest {
  readonly mediaType?: string;
  readonly manifests?: readonly {
    readonly mediaType: string;
    readonly digest: string;
    readonly size: number;
    readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string };
  }[];
}

/**
 * Debian's skopeo (installed by scripts/test-env), a registry client imagespec did not write: `skopeo <args>` and its
 * stdout. Local registries are plain HTTP, so `--tls-verify=false` belongs in `args` for them.
 */
export async function skopeo(args: string[], opts: { timeout?: number } = {}): Promise<string> {
  const result = await execa("skopeo", args, { reject: false, stdin: "ignore", timeout: opts.timeout ?? 120_000 });
  if (result.failed) {
    throw new Error(
      `Cannot run skopeo ${args.join(" ")}: exit code ${result.exitCode ?? result.signal ?? "unknown"}${result.stderr ? `\n${tail(String(result.stderr))}` : ""}`,
    );
  }
  return String(result.stdout ?? "");
}

/** `skopeo inspect --raw` of an image in a local (plain HTTP) registry: the manifest or index the tag holds, parsed. */
export async function inspectRaw(uri: string): Promise<RawManifest> {
  return JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${uri}`])) as RawManifest;
}
