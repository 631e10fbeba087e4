import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { tempProject } from "@imagespec/test-env/project";
import { attempt, run } from "./run.js";

export type Manager = "npm" | "pnpm";

/**
 * Installs from the registry that this machine's npm and pnpm use, preferring their caches: third-party packages
 * (zod, execa, dockerode, ...) come from there, ours from tarballs or a local registry.
 */
const INSTALL_ARGS: Record<Manager, string[]> = {
  npm: ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", "--ignore-scripts"],
  // CI=1 would make pnpm insist on a lockfile that a fresh project does not have yet.
  pnpm: ["install", "--prefer-offline", "--ignore-scripts", "--no-frozen-lockfile"],
};

/**
 * A fresh project in a temporary folder (removed after the test file), as a user of imagespec would have,
 * installed with npm or pnpm.
 */
export class UserProject {
  private constructor(
    readonly manager: Manager,
    readonly dir: string,
  ) {}

  /**
   * `overrides` stand in for a registry: a package our packages depend on but the user does not list (the docker
   * builder's @imagespec/docker-build) resolves to its tarball too (npm's `overrides`, pnpm's `pnpm.overrides`).
   */
  static create(manager: Manager, overrides: Record<string, string> = {}): UserProject {
    const manifest = { name: "user-project", version: "0.0.0", private: true, type: "module", dependencies: {}, overrides, pnpm: { overrides } };
    const dir = tempProject({ "package.json": `${JSON.stringify(manifest, null, 2)}\n` }, { prefix: `imagespec-user-${manager}-` });
    return new UserProject(manager, dir);
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** Adds these dependencies to package.json (as a user would write them) and installs. */
  async add(dependencies: Record<string, string>): Promise<void> {
    const file = this.path("package.json");
    const manifest = JSON.parse(await readFile(file, "utf8")) as { dependencies: Record<string, string> };
    manifest.dependencies = { ...manifest.dependencies, ...dependencies };
    await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      await run(this.manager, INSTALL_ARGS[this.manager], { cwd: this.dir, timeout: 600_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n(third-party dependencies come from the npm registry, through the local cache when they are in it)`);
    }
  }

  /** The project's own `imagespec` command (node_modules/.bin), as `npx imagespec` would run it. */
  imagespec(args: readonly string[], env: Record<string, string> = {}) {
    return attempt(this.path("node_modules", ".bin", "imagespec"), args, { cwd: this.dir, env, timeout: 600_000 });
  }

  node(args: readonly string[]) {
    return run(process.execPath, args, { cwd: this.dir });
  }
}

export interface BuildersJson {
  builders: { type: string; priority: number; package: string; version: string }[];
  failures: unknown[];
}

/** `imagespec builders --json`, checked to have succeeded. */
export async function listBuilders(project: UserProject): Promise<BuildersJson> {
  const result = await project.imagespec(["builders", "--json"]);
  if (result.exitCode !== 0) throw new Error(`imagespec builders failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as BuildersJson;
}
