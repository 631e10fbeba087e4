/**
 * A user's project in a temporary folder: its own package.json depending on the workspace packages, and a
 * node_modules with those packages linked in as `npm install file:<folder>` links them.
 *
 * The CLI runs in this process through `main(argv, env, { stdout, stderr, cwd })`, its output captured, the way
 * the binary calls it: a process costs a third of a second to start, and most tests are about what a command
 * does, not about the process. Tests about the process itself (start-up, signals, a second copy of core, exit
 * codes as the shell sees them) pass `process: true` and run node_modules/.bin/imagespec as a child process.
 */

import { spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/main.js";
import type { Streams } from "../../src/output.js";

export const packagesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const cliBin = path.join(packagesDir, "cli", "dist", "cli.js");

/** Workspace packages a project can depend on, by name. */
export const WORKSPACE: Readonly<Record<string, string>> = {
  "@imagespec/core": path.join(packagesDir, "core"),
  "@imagespec/builder-noop": path.join(packagesDir, "builder-noop"),
  "@imagespec/builder-docker": path.join(packagesDir, "builder-docker"),
  "@imagespec/python": path.join(packagesDir, "python"),
  imagespec: path.join(packagesDir, "cli"),
};

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Project {
  readonly dir: string;
  write(file: string, content: string): void;
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Runs another program in the project with the same environment rules (e.g. \`script\` for a terminal). */
  runCommand(command: string, args: readonly string[], env?: Record<string, string | undefined>): Promise<RunResult>;
  /** Runs and parses stdout as the single JSON document it must be. */
  json<T = unknown>(args: readonly string[], options?: RunOptions): Promise<{ result: RunResult; value: T }>;
  remove(): void;
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** Run the binary as a child process instead of `main` in this process. */
  readonly process?: boolean;
}

export interface ProjectOptions {
  /** Every run as a child process (see RunOptions.process). */
  readonly process?: boolean;
  /** Workspace packages to depend on (linked into node_modules); default core and builder-noop. */
  readonly dependencies?: readonly string[];
  /** Extra packages written into node_modules and declared as dependencies: name → files. */
  readonly localPackages?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly files?: Readonly<Record<string, string>>;
  /**
   * Install @imagespec/core as a copy of its package (as a registry install would) instead of a link, so the
   * user's module and plugins get a different copy of core than the CLI.
   */
  readonly copyCore?: boolean;
}

/** Environment every run starts from: no CI, no colours unless asked, no settings leaking in from the host. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(IMAGESPEC_(REGISTRY|BUILDER|PUSH|FORCE_PUSH|DEBIAN_BASE_IMAGE)|CI|NO_COLOR|FORCE_COLOR)$/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

function spawnIn(command: string, args: readonly string[], cwd: string, extra: Record<string, string | undefined> = {}): Promise<RunResult> {
  const env = { ...baseEnv(), ...extra };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  let stdout = "";
  let stderr = "";
  const result = new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10 * 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return track([command, ...args], { stdout: () => stdout, stderr: () => stderr }, result);
}

/** A command that has not ended yet, with what it printed so far. */
export interface RunningCommand {
  readonly args: readonly string[];
  readonly startedAt: number;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

const running = new Set<RunningCommand>();

/** Commands still running: a test that timed out says what the command it waited on was doing (test/support/setup.ts). */
export function runningCommands(): readonly RunningCommand[] {
  return [...running];
}

/** Adds the command to `running` until `result` settles. */
function track<T>(args: readonly string[], output: { stdout: () => string; stderr: () => string }, result: Promise<T>): Promise<T> {
  const command: RunningCommand = { args, startedAt: Date.now(), ...output };
  running.add(command);
  return result.finally(() => running.delete(command));
}

/** In-process runs change this process's cwd and environment while they run: one at a time. */
let queue: Promise<unknown> = Promise.resolve();
const requireCache = createRequire(import.meta.url).cache;

/**
 * `main` in this process, as the binary runs it in its own: the environment the child would get (plugins and
 * Image constructors read process.env), the project folder as the current folder (an Image's root defaults to it),
 * output captured. Afterwards the project's modules leave the require cache, so a rewritten images.ts is read anew.
 */
function runInProcess(args: readonly string[], cwd: string, dir: string, extra: Record<string, string | undefined> = {}): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const run = async (): Promise<RunResult> => {
    const env: Record<string, string | undefined> = { ...baseEnv(), ...extra };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
    const sink = (append: (text: string) => void) =>
      ({
        write: (chunk: string | Uint8Array) => {
          append(String(chunk));
          return true;
        },
      }) as unknown as Streams["stdout"];
    const saved = { ...process.env };
    const savedCwd = process.cwd();
    for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
    Object.assign(process.env, env);
    process.chdir(cwd);
    try {
      const code = await main(args, env as NodeJS.ProcessEnv, {
        stdout: sink((t) => (stdout += t)),
        stderr: sink((t) => (stderr += t)),
        cwd,
      });
      return { code, stdout, stderr };
    } finally {
      process.chdir(savedCwd);
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      const real = realpathSync(dir);
      for (const key of Object.keys(requireCache)) if (key.startsWith(`${real}/`) && !key.includes("/node_modules/")) delete requireCache[key];
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return track(["imagespec", ...args], { stdout: () => stdout, stderr: () => stderr }, result);
}

export function createProject(options: ProjectOptions = {}): Project {
  const dir = mkdtempSync(path.join(tmpdir(), "imagespec-cli-"));
  const dependencies = options.dependencies ?? ["@imagespec/core", "@imagespec/builder-noop"];
  const declared: Record<string, string> = {};
  mkdirSync(path.join(dir, "node_modules", ".bin"), { recursive: true });
  for (const name of [...dependencies, "imagespec"]) {
    const target = WORKSPACE[name];
    if (!target) throw new Error(`no workspace package ${name}`);
    declared[name] = `file:${target}`;
    const link = path.join(dir, "node_modules", name);
    mkdirSync(path.dirname(link), { recursive: true });
    if (name === "@imagespec/core" && options.copyCore) {
      cpSync(path.join(target, "package.json"), path.join(link, "package.json"));
      cpSync(path.join(target, "dist"), path.join(link, "dist"), { recursive: true });
      symlinkSync(path.join(target, "node_modules"), path.join(link, "node_modules"), "dir");
    } else {
      symlinkSync(target, link, "dir");
    }
  }
  symlinkSync(
    path.relative(path.join(dir, "node_modules", ".bin"), path.join(dir, "node_modules", "imagespec", "dist", "cli.js")),
    path.join(dir, "node_modules", ".bin", "imagespec"),
  );
  chmodSync(cliBin, 0o755);
  for (const [name, files] of Object.entries(options.localPackages ?? {})) {
    const folder = path.join(dir, "packages", name);
    declared[name] = `file:./packages/${name}`;
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
      writeFileSync(path.join(folder, file), content);
    }
    const link = path.join(dir, "node_modules", name);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(folder, link, "dir");
  }
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify({ name: "demo", private: true, type: "module", dependencies: declared }, null, 2)}\n`);

  const project: Project = {
    dir,
    write(file, content) {
      const abs = path.join(dir, file);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    },
    run(args, runOptions = {}) {
      if (runOptions.process ?? options.process)
        return spawnIn(path.join(dir, "node_modules", ".bin", "imagespec"), args, runOptions.cwd ?? dir, runOptions.env);
      return runInProcess(args, runOptions.cwd ?? dir, dir, runOptions.env);
    },
    runCommand(command, args, env) {
      return spawnIn(command, args, dir, env);
    },
    async json(args, runOptions) {
      const result = await project.run([...args, "--json"], runOptions);
      let value: unknown;
      try {
        value = JSON.parse(result.stdout);
      } catch {
        throw new Error(
          `stdout of imagespec ${args.join(" ")} --json is not one JSON document (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`,
        );
      }
      return { result, value: value as never };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const [file, content] of Object.entries(options.files ?? {})) project.write(file, content);
  return project;
}
