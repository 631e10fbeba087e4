import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const EXAMPLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = path.resolve(EXAMPLE_DIR, "../..");

/**
 * A copy of consumer/ in a temporary folder, its `file:` dependencies pointed back at this checkout, installed
 * with npm (offline: every dependency is a local folder, which npm links).
 */
export async function installedConsumer(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "consumer-"));
  await cp(path.join(EXAMPLE_DIR, "consumer"), dir, { recursive: true, filter: (src) => !/[\\/](node_modules|exported)$/.test(src) });
  const manifest = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  for (const [name, spec] of Object.entries(manifest.dependencies)) {
    manifest.dependencies[name] = `file:${path.resolve(EXAMPLE_DIR, "consumer", spec.slice("file:".length))}`;
  }
  await writeFile(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  await npm(dir, ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", "--ignore-scripts"]);
  return dir;
}

export async function npm(cwd: string, args: readonly string[]): Promise<string> {
  const result = await execa("npm", args, { cwd, reject: false, env: { CI: "1" }, timeout: 300_000 });
  if (result.failed) throw new Error(`npm ${args.join(" ")} failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Runs the project's own `imagespec` command (node_modules/.bin), as a user would with npx. */
export async function imagespec(cwd: string, args: readonly string[]) {
  return execa(path.join(cwd, "node_modules", ".bin", "imagespec"), args, { cwd, reject: false, env: { CI: "1", NO_COLOR: "1" }, timeout: 120_000 });
}
