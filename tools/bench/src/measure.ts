/**
 * What every section shares: running a command and timing it, interleaving contenders (A B A B ...), medians, the
 * table's rows, and the test environment and project folders the sections that need Docker build in.
 */

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "../../..");
/** The installed binary, as users run it (it turns on Node's compile cache where Node has one, then loads dist/cli.js). */
export const cliBin = path.join(repoRoot, "packages/cli/bin/imagespec.js");

export interface Options {
  only: Set<string>;
  rounds: number;
  files: number;
  dir: string;
  /** The Node that runs imagespec, its hashing children and the `node -e 0` anchor (default: the bench's own). */
  node: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Running and timing

export interface Run {
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Run {
  const started = performance.now();
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
    ...(options.input !== undefined && { input: options.input }),
  });
  const ms = performance.now() - started;
  if (result.error) throw new Error(`Cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}):\n${result.stderr}`);
  return { ms, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `run` without blocking the event loop, for sections that serve something from this process while a command runs
 * (the package index the builds install from).
 */
export function runAsync(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (error) => reject(new Error(`Cannot run ${command}: ${error.message}`)));
    child.on("close", (status) => {
      const ms = performance.now() - started;
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (status !== 0) reject(new Error(`${command} ${args.join(" ")} failed (exit ${status}):\n${stderr.slice(-8000)}`));
      else resolve({ ms, stdout, stderr });
    });
  });
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Runs each contender once per round, in turn (A B A B ...), after `before` when given; returns medians in ms. */
export function interleave(rounds: number, contenders: Readonly<Record<string, () => number>>, before?: () => void): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, measure] of Object.entries(contenders)) {
      before?.();
      times[name]!.push(measure());
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

/** `interleave` for contenders that run asynchronously: each is awaited before the next starts. */
export async function interleaveAsync(
  rounds: number,
  contenders: Readonly<Record<string, (round: number) => Promise<number>>>,
): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, measure] of Object.entries(contenders)) times[name]!.push(await measure(round));
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

export interface Row {
  readonly what: string;
  readonly imagespec: string;
  readonly anchor: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

export const rows: Row[] = [];
export const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

export function compare(what: string, mine: number, anchors: readonly [string, number][], target?: { max: number; against: string }): void {
  const ratios = anchors.map(([name, ms]) => `${(mine / ms).toFixed(2)}× ${name}`);
  const against = target ? anchors.find(([name]) => name === target.against) : undefined;
  const met = against ? mine / against[1] <= target!.max : undefined;
  rows.push({
    what,
    imagespec: seconds(mine),
    anchor: anchors.map(([name, ms]) => `${name} ${seconds(ms)}`).join("; "),
    ratio: ratios.join("; "),
    target: target ? `≤ ${target.max}× ${target.against}` : "",
    met,
  });
  console.error(`  ${what}: imagespec ${seconds(mine)} | ${rows.at(-1)!.anchor} | ${rows.at(-1)!.ratio}${met === undefined ? "" : met ? " ✓" : " ✗"}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The test environment (Docker engine, registry, seeded base image)

export function testEnvironment(): Record<string, string> {
  run("bash", [path.join(repoRoot, "scripts/test-env"), "up"]);
  const text = run("bash", [path.join(repoRoot, "scripts/test-env"), "env"]).stdout;
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^(?:export )?([A-Z0-9_]+)=['"]?(.*?)['"]?$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  if (!env.IMAGESPEC_TEST_REGISTRY || !env.IMAGESPEC_TEST_BASE_IMAGE)
    throw new Error("Cannot read the test environment: scripts/test-env env did not name a registry and a base image");
  return env;
}

function readlinkOrNull(link: string): string | null {
  try {
    return readlinkSync(link);
  } catch {
    return null;
  }
}

/** A project folder whose node_modules links the workspace's packages, as an installed project has them. */
export function benchProject(dir: string, files: Readonly<Record<string, string>>): void {
  mkdirSync(path.join(dir, "node_modules/@imagespec"), { recursive: true });
  const links: Record<string, string> = {
    "@imagespec/core": "packages/core",
    "@imagespec/builder-docker": "packages/builder-docker",
    "@imagespec/docker-build": "packages/docker-build",
  };
  for (const [name, target] of Object.entries(links)) {
    const link = path.join(dir, "node_modules", name);
    const wanted = path.join(repoRoot, target);
    // A link left by a checkout elsewhere (another worktree, a removed clone) may dangle: point it here.
    if (readlinkOrNull(link) !== wanted) {
      rmSync(link, { force: true });
      symlinkSync(wanted, link, "dir");
    }
  }
  writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({
      name: "imagespec-bench-project",
      private: true,
      type: "module",
      dependencies: { "@imagespec/core": "*", "@imagespec/builder-docker": "*" },
    }),
  );
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
}
