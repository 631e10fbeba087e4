import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export interface EnvdCall {
  readonly fn: string;
  readonly args: Record<string, unknown>;
}

const evaluator = path.join(path.dirname(fileURLToPath(import.meta.url)), "eval_envd.py");

/**
 * Runs a rendered build.envd through Python's parser (Starlark's syntax is a subset of Python's) and evaluates
 * build() with recording stand-ins: the calls, with their decoded arguments, are what envd would receive.
 */
export async function evaluateEnvd(content: string): Promise<EnvdCall[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "envd-eval-"));
  try {
    const file = path.join(dir, "build.envd");
    await writeFile(file, content);
    const result = await execa("python3", [evaluator, file], { reject: false });
    if (result.failed) throw new Error(`build.envd did not parse or run:\n${result.stderr}\n--- file ---\n${content}`);
    return JSON.parse(result.stdout) as EnvdCall[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
