/** Temporary copies of the fixture workspaces, and helpers to read what the renderer wrote. */
import { execa } from "execa";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { nodeTestEnv, testNpmrc } from "@imagespec/test-env";
import { tempProject, writeFiles } from "@imagespec/test-env/project";

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
export type Manager = "pnpm" | "npm" | "yarn";
export const MANAGERS: readonly Manager[] = ["pnpm", "npm", "yarn"];

/** A fresh copy of `<manager>-workspace` with `files` written over it. */
export function workspace(manager: Manager, files: Record<string, string> = {}): string {
  return tempProject(files, { prefix: `imagespec-node-${manager}-`, copyFrom: path.join(FIXTURES, `${manager}-workspace`) });
}

export const write = writeFiles;

/** An .npmrc for the test npm registry, with its token (as a user's own would be). */
export function npmrc(): string {
  return testNpmrc(nodeTestEnv());
}

/** Runs a package manager on the host against the test npm registry (yarn 1 through npm exec, as it is not installed). */
export async function runManager(manager: Manager, args: string[], cwd: string): Promise<string> {
  // `pnpm run` (how turbo starts these tests) exports npm_config_registry and friends, which outrank any .npmrc:
  // without this the install asks registry.npmjs.org for the test registry's private packages.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name)));
  const env = { ...inherited, NPM_CONFIG_USERCONFIG: path.join(cwd, ".npmrc"), CI: "true", npm_config_update_notifier: "false" };
  const [command, argv] = manager === "yarn" ? ["npm", ["exec", "--yes", "--package=yarn@1.22.22", "--", "yarn", ...args]] : [manager, args];
  const result = await execa(command, argv, { cwd, env, extendEnv: false, reject: false, timeout: 300_000, all: true });
  if (result.failed) throw new Error(`${manager} ${args.join(" ")} failed in ${cwd}:\n${result.all}`);
  return String(result.all ?? "");
}

/** The instructions of a Dockerfile: every line that is not blank or a comment. */
export function instructions(dockerfile: string): string[] {
  return dockerfile.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

/** Catches the error a function throws (sync or async) so a test can look at it. */
export async function thrown(fn: () => unknown): Promise<Error & { code?: string; field?: string; value?: unknown; hint?: string }> {
  try {
    await fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected an error, but nothing was thrown");
}
