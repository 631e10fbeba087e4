/**
 * The docker CLI, for what the Engine API cannot do yet: secret mounts (they need a BuildKit session that serves
 * secrets). A client is usable when `docker buildx` works, or when it is older than 23, whose `docker build` still
 * runs BuildKit itself when DOCKER_BUILDKIT=1. Newer clients without the buildx plugin refuse BuildKit. Several
 * platforms never come here: they are one Engine API build each, and an index (@imagespec/docker-build).
 */

import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { type DockerEngineAuthConfig, ImageSpecError, type SecretMount } from "@imagespec/core";
import { type BuildProgress, PlainProgressParser } from "@imagespec/docker-build/engine";
import { execa } from "execa";
import type { DockerBuilderConfig } from "./config.js";

export interface DockerCli {
  readonly path: string;
  /** `docker buildx build` works; otherwise `DOCKER_BUILDKIT=1 docker build`. */
  readonly buildx: boolean;
  readonly version: string;
}

const probes = new Map<string, Promise<DockerCli | string>>();

/** Checks one client: the DockerCli, or why it cannot build with BuildKit. Cached per process. */
function probe(cli: string, env: NodeJS.ProcessEnv): Promise<DockerCli | string> {
  let pending = probes.get(cli);
  if (!pending) {
    pending = (async () => {
      const options = { reject: false, timeout: 20_000, env, stdin: "ignore" } as const;
      const version = await execa(cli, ["version", "--format", "{{.Client.Version}}"], options);
      if ((version.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return "not found";
      // `docker version` exits non-zero when no engine answers, after printing the client's version.
      const clientVersion = String(version.stdout ?? "").trim().split("\n")[0] ?? "";
      if (!/^\d+\.\d+/.test(clientVersion)) return `it does not run (${String(version.stderr || version.message).trim().split("\n")[0]})`;
      const buildx = await execa(cli, ["buildx", "version"], options);
      if (buildx.exitCode === 0) return { path: cli, buildx: true, version: clientVersion };
      if (Number.parseInt(clientVersion, 10) < 23) return { path: cli, buildx: false, version: clientVersion };
      return `docker ${clientVersion} runs BuildKit only through the buildx plugin, which is not installed`;
    })();
    probes.set(cli, pending);
  }
  return pending;
}

/**
 * The first docker client that can do what the build needs: the configured one (`dockerCli`, then
 * `IMAGESPEC_DOCKER_CLI`), then `docker` on PATH, /usr/bin/docker and /usr/local/bin/docker.
 */
export async function findDockerCli(config: DockerBuilderConfig, env: NodeJS.ProcessEnv, warn: (message: string) => void): Promise<DockerCli> {
  const configured = [config.dockerCli, env.IMAGESPEC_DOCKER_CLI].filter((c): c is string => Boolean(c));
  const candidates = [...new Set([...configured, "docker", "/usr/bin/docker", "/usr/local/bin/docker"])];
  const refusals: string[] = [];
  for (const candidate of candidates) {
    const result = await probe(candidate, env);
    if (typeof result !== "string") {
      if (configured.length > 0 && candidate !== configured[0]) warn(`The configured docker CLI ${configured[0]} cannot be used (${refusals[0]}); using ${candidate} instead.`);
      return result;
    }
    refusals.push(result);
  }
  const tried = candidates.map((c, i) => `${c}: ${refusals[i]}`).join("; ");
  throw new ImageSpecError(
    "ENVIRONMENT",
    `Cannot build with secret mounts: they need the docker CLI with BuildKit, and no usable docker CLI was found (${tried})`,
    {
      hint: "Install the buildx plugin (Debian/Ubuntu: apt-get install docker-buildx, or docker-buildx-plugin from Docker's repository), or point IMAGESPEC_DOCKER_CLI (or the docker builder's dockerCli setting) at a docker client that has it.",
    },
  );
}

export interface CliBuildOptions {
  readonly tag: string;
  readonly dockerfile: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** The one platform to build. */
  readonly platform: string | undefined;
  readonly network: DockerBuilderConfig["network"];
  readonly pull: boolean;
  readonly noCache: boolean;
  /** Secrets with their sources: `src` is an absolute path here. */
  readonly secrets: readonly SecretMount[];
  /** Registry credentials the CLI needs (base images). */
  readonly auths: Record<string, DockerEngineAuthConfig>;
  readonly host: string | undefined;
  readonly signal: AbortSignal;
}

/** Runs the build with the CLI, the context tar on stdin, into the engine. Returns the image id it reports. */
export async function cliBuild(
  cli: DockerCli,
  context: Readable,
  options: CliBuildOptions,
  progress: BuildProgress,
): Promise<{ imageId: string | undefined; exitCode: number | undefined; failure: string | undefined }> {
  const scratch = await mkdtemp(path.join(tmpdir(), "imagespec-docker-"));
  try {
    const env: Record<string, string> = { DOCKER_BUILDKIT: "1", BUILDKIT_PROGRESS: "plain" };
    if (options.host !== undefined) env.DOCKER_HOST = options.host;
    if (Object.keys(options.auths).length > 0) env.DOCKER_CONFIG = await dockerConfigDir(scratch, options.auths);

    const args = cli.buildx ? ["buildx", "build"] : ["build"];
    args.push("--progress=plain", "--file", options.dockerfile, "--tag", options.tag);
    const idFile = path.join(scratch, "image-id");
    const metadataFile = path.join(scratch, "metadata.json");
    if (options.platform !== undefined) args.push("--platform", options.platform);
    if (cli.buildx) {
      args.push("--load", "--metadata-file", metadataFile);
    } else {
      args.push("--iidfile", idFile);
    }
    if (options.network !== undefined && options.network !== "default") args.push("--network", options.network);
    if (options.pull) args.push("--pull");
    if (options.noCache) args.push("--no-cache");
    for (const [name, value] of Object.entries(options.buildArgs)) args.push("--build-arg", `${name}=${value}`);
    for (const [name, value] of Object.entries(options.labels)) args.push("--label", `${name}=${value}`);
    for (const secret of options.secrets) {
      const source = secret.src !== undefined ? csvField("src", secret.src) : csvField("env", secret.env ?? secret.id);
      args.push("--secret", `${csvField("id", secret.id)},${source}`);
    }
    args.push("-");

    progress.line(`$ ${path.basename(cli.path)} ${args.filter((a) => !a.startsWith("--build-arg") && !a.includes("\n")).join(" ")}`);
    const subprocess = execa(cli.path, args, {
      env,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      buffer: false,
      reject: false,
      cancelSignal: options.signal,
      // The docker CLI cancels its build on SIGINT at once; on SIGTERM it waited, and execa killed it 5 s later.
      killSignal: "SIGINT",
      forceKillAfterDelay: 2_000,
    });
    const parser = new PlainProgressParser(progress);
    subprocess.stderr?.setEncoding("utf8").on("data", (chunk: string) => parser.write(chunk));
    subprocess.stdout?.setEncoding("utf8").on("data", (chunk: string) => parser.write(chunk));
    context.on("error", () => subprocess.stdin?.destroy());
    context.pipe(subprocess.stdin!);
    subprocess.stdin?.on("error", () => {
      // The CLI stopped reading (it failed early); its exit code and output say why.
    });
    const result = await subprocess;
    parser.end();
    if (result.exitCode !== 0) {
      return { imageId: undefined, exitCode: result.exitCode, failure: result.isCanceled ? "cancelled" : (result.cause as Error | undefined)?.message };
    }
    let imageId: string | undefined;
    if (cli.buildx) {
      const metadata = JSON.parse(await readFile(metadataFile, "utf8").catch(() => "{}")) as Record<string, unknown>;
      imageId = typeof metadata["containerimage.config.digest"] === "string" ? (metadata["containerimage.config.digest"] as string) : undefined;
    } else {
      imageId = (await readFile(idFile, "utf8").catch(() => "")).trim() || undefined;
    }
    return { imageId, exitCode: 0, failure: undefined };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * One `key=value` field of the CLI's `--secret` option, which the CLI reads as CSV from its own argv (not a Dockerfile:
 * any UTF-8 path arrives as written there).
 */
function csvField(key: string, value: string): string {
  const field = `${key}=${value}`;
  return /[",\r\n]/.test(field) || field !== field.trim() ? `"${field.replaceAll('"', '""')}"` : field;
}

/**
 * A private DOCKER_CONFIG holding the credentials the build needs, so the CLI uses the same credentials as the
 * rest of imagespec; plugins installed in the user's config folder stay reachable.
 */
async function dockerConfigDir(scratch: string, auths: Record<string, DockerEngineAuthConfig>): Promise<string> {
  const dir = path.join(scratch, "docker-config");
  const entries: Record<string, Record<string, string>> = {};
  for (const [domain, auth] of Object.entries(auths)) {
    entries[auth.serveraddress || domain] =
      auth.identitytoken !== undefined
        ? { identitytoken: auth.identitytoken }
        : { auth: Buffer.from(`${auth.username ?? ""}:${auth.password ?? ""}`, "utf8").toString("base64") };
  }
  const { mkdir } = await import("node:fs/promises");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, "config.json"), JSON.stringify({ auths: entries }), { mode: 0o600 });
  const userConfig = process.env.DOCKER_CONFIG || path.join(process.env.HOME || "", ".docker");
  await symlink(path.join(userConfig, "cli-plugins"), path.join(dir, "cli-plugins")).catch(() => {});
  return dir;
}
