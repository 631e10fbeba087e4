/**
 * `docker build` as the oracle for what a build context selects (.dockerignore) and what COPY keeps (modes): a
 * context folder built with `FROM scratch` + `COPY . /ctx/`, and the files that landed in the image listed with
 * their modes (`docker cp` of a created container, read by `tar`).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";

export interface DockerClient {
  readonly path: string;
  readonly version: string;
  /** DOCKER_BUILDKIT for its builds: "0" is the classic builder (the client's own ignore matcher). */
  readonly buildkit: "0" | "1";
}

async function clientVersion(cli: string): Promise<string | undefined> {
  const result = await execa(cli, ["version", "--format", "{{.Client.Version}}"], { reject: false, timeout: 20_000 });
  return result.exitCode === 0 ? String(result.stdout).trim() : undefined;
}

/**
 * A Docker client of version 23 or later (moby/patternmatcher: the .dockerignore semantics of current Docker), for
 * classic builds: with no buildx here, its classic builder is what applies its own matcher. Fails clearly without one.
 */
export async function modernDockerClient(): Promise<DockerClient> {
  const tried: string[] = [];
  for (const candidate of [process.env.IMAGESPEC_TEST_MODERN_DOCKER_CLI, "docker", "/usr/local/bin/docker", "/usr/bin/docker"]) {
    if (!candidate) continue;
    const version = await clientVersion(candidate);
    tried.push(`${candidate}: ${version ?? "not runnable"}`);
    if (version && Number.parseInt(version, 10) >= 23) return { path: candidate, version, buildkit: "0" };
  }
  throw new Error(
    `Cannot compare .dockerignore handling with Docker: no Docker client of version 23 or later (moby/patternmatcher) was found (${tried.join("; ")}). ` +
      "Install one, or point IMAGESPEC_TEST_MODERN_DOCKER_CLI at it.",
  );
}

/** The test environment's Debian client (20.10) with BuildKit: the engine's BuildKit reads the ignore files. */
export function buildkitDockerClient(): DockerClient {
  const cli = process.env.IMAGESPEC_DOCKER_CLI;
  if (!cli) throw new Error("Cannot run docker build with BuildKit: IMAGESPEC_DOCKER_CLI is not set (the test environment's global setup did not run)");
  return { path: cli, version: "20.10", buildkit: "1" };
}

export interface ImageEntry {
  readonly type: "dir" | "file" | "symlink";
  /** Permission bits with setuid, setgid and sticky. */
  readonly mode: number;
}

const MODE_LETTERS = (perm: string): number => {
  let mode = 0;
  const bit = (i: number, value: number) => (perm[i] !== "-" && perm[i] !== "S" && perm[i] !== "T" ? value : 0);
  mode |= bit(0, 0o400) | bit(1, 0o200) | bit(2, 0o100) | bit(3, 0o40) | bit(4, 0o20) | bit(5, 0o10) | bit(6, 0o4) | bit(7, 0o2) | bit(8, 0o1);
  if (perm[2] === "s" || perm[2] === "S") mode |= 0o4000;
  if (perm[5] === "s" || perm[5] === "S") mode |= 0o2000;
  if (perm[8] === "t" || perm[8] === "T") mode |= 0o1000;
  return mode;
};

/**
 * Builds `context` (Dockerfile outside it, `dockerfile` next to it when given) and lists what COPY put in /ctx.
 * Returns the build's error output instead when Docker refuses the build.
 */
export async function dockerSelection(
  client: DockerClient,
  context: string,
  tag: string,
  options: { dockerfile?: string } = {},
): Promise<Map<string, ImageEntry> | { error: string }> {
  const built = await dockerBuild(client, context, tag, options);
  if (built !== undefined) return built;
  try {
    return await imageFolder(client, tag, "/ctx");
  } finally {
    await execa(client.path, ["rmi", "--no-prune", tag], { env: clientEnv(client), reject: false });
  }
}

const clientEnv = (client: DockerClient) => ({ DOCKER_BUILDKIT: client.buildkit, DOCKER_HOST: process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock" });

async function dockerBuild(client: DockerClient, context: string, tag: string, options: { dockerfile?: string }): Promise<{ error: string } | undefined> {
  let dockerfile = options.dockerfile;
  if (!dockerfile) {
    dockerfile = path.join(mkdtempSync(path.join(tmpdir(), "imagespec-oracle-df-")), "Dockerfile");
    writeFileSync(dockerfile, "FROM scratch\nCOPY . /ctx/\n");
  }
  // --no-cache: concurrent builds of identical contexts must not reuse (and then lose) each other's images.
  const build = await execa(client.path, ["build", "-q", "--no-cache", "-f", dockerfile, "-t", tag, context], {
    reject: false,
    env: clientEnv(client),
    timeout: 120_000,
  });
  return build.exitCode === 0 ? undefined : { error: `${build.stderr}` };
}

/** The entries below `folder` in an image (which needs no shell: the container is created, never started), with modes. */
export async function imageFolder(client: DockerClient, image: string, folder: string): Promise<Map<string, ImageEntry>> {
  const env = clientEnv(client);
  const created = await execa(client.path, ["create", image, "x"], { env, timeout: 60_000 });
  const id = String(created.stdout).trim();
  try {
    const copy = execa(client.path, ["cp", `${id}:${folder}`, "-"], { env, timeout: 60_000, encoding: "buffer" });
    const top = path.posix.basename(folder);
    const listing = await execa("tar", ["-tvf", "-", "--quoting-style=escape"], { input: (await copy).stdout, timeout: 60_000 });
    const entries = new Map<string, ImageEntry>();
    for (const line of String(listing.stdout).split("\n")) {
      const m = /^(\S)(\S{9})\s+\S+\s+\d+\s+\S+\s+\S+\s+(.*)$/.exec(line);
      if (!m || !m[3]!.startsWith(`${top}/`)) continue;
      m[3] = m[3]!.slice(top.length + 1);
      if (m[3] === "") continue;
      const type = m[1] === "d" ? "dir" : m[1] === "l" ? "symlink" : "file";
      const name = (type === "symlink" ? m[3]!.replace(/ -> .*$/, "") : m[3]!).replace(/\/$/, "");
      entries.set(tarName(name), { type, mode: type === "symlink" ? 0o777 : MODE_LETTERS(m[2]!) });
    }
    return entries;
  } finally {
    await execa(client.path, ["rm", id], { env, reject: false });
  }
}

/** GNU tar's escape quoting: `\\`, `\n` and octal `\ooo` bytes back to the UTF-8 (or raw) name. */
function tarName(name: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "\\" && /[0-7]{3}/.test(name.slice(i + 1, i + 4))) {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (name[i] === "\\" && i + 1 < name.length) {
      const c = name[++i]!;
      bytes.push(({ n: 10, t: 9, "\\": 92, " ": 32 } as Record<string, number>)[c] ?? c.charCodeAt(0));
    } else {
      bytes.push(...Buffer.from(name[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Runs `tasks` with at most `limit` at once. */
export async function inParallel<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}
