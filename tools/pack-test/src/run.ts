import { execa } from "execa";

/**
 * The environment for a package manager run in a temporary project: this process's, less the `npm_config_*`
 * settings that pnpm hands to the scripts it runs (a registry, overrides, this workspace's user agent), which would
 * otherwise leak into an install that is meant to be a user's.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^npm_(config|package|lifecycle)_/i.test(key) || key === "npm_execpath" || key === "INIT_CWD") continue;
    env[key] = value;
  }
  return { ...env, CI: "1", NO_COLOR: "1", ...extra };
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Milliseconds; default 5 minutes. */
  timeout?: number;
}

function execute(command: string, args: readonly string[], options: RunOptions) {
  return execa(command, args, {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    timeout: options.timeout ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Runs a command to completion and returns its stdout; throws with the tail of its output when it fails. */
export async function run(command: string, args: readonly string[], options: RunOptions): Promise<string> {
  const result = await execute(command, args, options);
  if (result.failed) {
    const why = result.timedOut ? `timed out after ${options.timeout ?? 300_000} ms` : `exit code ${result.exitCode ?? result.signal}`;
    throw new Error(`${command} ${args.join(" ")} failed in ${options.cwd} (${why}):\n${tail(String(result.stdout))}\n${tail(String(result.stderr))}`);
  }
  return String(result.stdout);
}

/** Like `run`, but returns the exit code and both outputs instead of throwing. */
export async function attempt(command: string, args: readonly string[], options: RunOptions) {
  const result = await execute(command, args, options);
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
