import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_DIR, imagespec, npm, REPO_DIR } from "./support.js";

/**
 * What a user gets from the registry, without a registry: each package packed by pnpm (workspace: ranges become
 * versions, only `files` ship) and installed from the tarballs by npm into a fresh project. npm fetches the
 * packages' own third-party dependencies (zod, execa, ...) through its cache (`--prefer-offline`), from
 * registry.npmjs.org the first time.
 */
let tarballs: Record<string, string>;
const work: string[] = [];

async function packed(dir: string, into: string): Promise<string> {
  const result = await execa("pnpm", ["pack", "--pack-destination", into], { cwd: dir, env: { CI: "1" } });
  return result.stdout.trim().split("\n").at(-1)!;
}

async function userProject(dependencies: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "imagespec-user-"));
  work.push(dir);
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "user-project", version: "0.0.0", private: true, type: "module", dependencies }, null, 2));
  try {
    await npm(dir, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", "--ignore-scripts"]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n(the first run needs registry.npmjs.org for the packages' third-party dependencies)`);
  }
  return dir;
}

beforeAll(async () => {
  const into = await mkdtemp(path.join(os.tmpdir(), "imagespec-tarballs-"));
  work.push(into);
  tarballs = {
    "@imagespec/core": await packed(path.join(REPO_DIR, "packages", "core"), into),
    imagespec: await packed(path.join(REPO_DIR, "packages", "cli"), into),
    "@imagespec/builder-noop": await packed(path.join(REPO_DIR, "packages", "builder-noop"), into),
    "imagespec-builder-export": await packed(EXAMPLE_DIR, into),
  };
}, 300_000);
afterAll(async () => {
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

const only = (...names: string[]) => Object.fromEntries(names.map((n) => [n, `file:${tarballs[n]}`]));

async function buildersOf(dir: string) {
  const run = await imagespec(dir, ["builders", "--json"]);
  expect(run.exitCode, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { builders: { type: string; package: string; version: string }[]; failures: unknown[] };
}

describe("installing from packed tarballs, as from a registry", () => {
  it(
    "core, the CLI and noop give a working `imagespec builders` listing noop only, with no dockerode installed",
    async () => {
      const dir = await userProject(only("@imagespec/core", "imagespec", "@imagespec/builder-noop"));
      const listed = await buildersOf(dir);
      expect(listed.builders.map((b) => [b.type, b.package, b.version])).toEqual([["noop", "@imagespec/builder-noop", "0.1.0"]]);
      expect(listed.failures).toEqual([]);
      expect(existsSync(path.join(dir, "node_modules", "@imagespec", "core", "package.json"))).toBe(true);
      expect(existsSync(path.join(dir, "node_modules", "dockerode"))).toBe(false);
      expect(existsSync(path.join(dir, "node_modules", "@imagespec", "builder-docker"))).toBe(false);
      expect(await npm(dir, ["ls", "--all", "--parseable"])).not.toMatch(/[\\/]dockerode$/m);
    },
    300_000,
  );

  it(
    "adding the third-party builder's tarball adds its builder, found by discovery",
    async () => {
      const dir = await userProject(only("@imagespec/core", "imagespec", "@imagespec/builder-noop", "imagespec-builder-export"));
      const listed = await buildersOf(dir);
      expect(listed.builders.map((b) => [b.type, b.package])).toEqual([
        ["export", "imagespec-builder-export"],
        ["noop", "@imagespec/builder-noop"],
      ]);
      // The tarball carries only what `files` lists.
      expect(existsSync(path.join(dir, "node_modules", "imagespec-builder-export", "dist", "plugin.js"))).toBe(true);
      expect(existsSync(path.join(dir, "node_modules", "imagespec-builder-export", "src"))).toBe(false);
    },
    300_000,
  );
});
