import { run } from "./run.js";
import type { WorkspacePackage } from "./workspace.js";

/**
 * `pnpm pack` of each package into `into`, one after another: what a registry would serve (only what `files`
 * lists, plus package.json, README and LICENSE; `workspace:` ranges replaced by the versions they point at).
 * Returns the tarball of each package by name.
 */
export async function packAll(packages: readonly WorkspacePackage[], into: string): Promise<Map<string, string>> {
  const tarballs = new Map<string, string>();
  for (const pkg of packages) {
    const out = await run("pnpm", ["pack", "--pack-destination", into], { cwd: pkg.dir });
    const tarball = out.trim().split("\n").at(-1)!.trim();
    if (!tarball.endsWith(".tgz")) throw new Error(`pnpm pack in ${pkg.relDir} printed no tarball:\n${out}`);
    tarballs.set(pkg.name, tarball);
  }
  return tarballs;
}
