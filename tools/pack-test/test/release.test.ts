/**
 * The release, rehearsed end to end without touching this repository or the public registry:
 *
 *   1. the working tree (pending changesets included) is copied into a temporary git repository of its own and
 *      installed there from the pnpm store; a rehearsal changeset (a patch for every published package) is added,
 *      so there is always something to release;
 *   2. `pnpm version-packages` (changeset version): each package gets the version its changesets ask for — no
 *      surprise majors — a CHANGELOG.md with their text, and internal ranges that admit the new versions;
 *   3. `pnpm release` (turbo build + changeset publish) publishes to a verdaccio on 127.0.0.1 started for the test
 *      (third-party packages proxied from npm's own registry), and tags the copy;
 *   4. every package installs by name from that registry with npm, and `imagespec builders` finds the builders.
 *
 * The registry is stopped and the temporary folders removed afterwards.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { tempProject } from "@imagespec/test-env/project";
import semver from "semver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PendingChangeset, pendingChangesets, requestedBumps } from "../src/changesets.js";
import { commitAll, copyWorkingTree } from "../src/copy.js";
import { type LocalRegistry, startLocalRegistry } from "../src/registry.js";
import { run } from "../src/run.js";
import { DEPENDENCY_FIELDS, type Manifest, PUBLISHED, publishedPackages, REPO_DIR, workspacePackages } from "../src/workspace.js";

let work: string;
let copy: string;
let registry: LocalRegistry | undefined;
let pending: PendingChangeset[];
let before: Map<string, string>;
const rehearsal = `Release rehearsal ${process.pid}-${Date.now()}: nothing changed.`;

/** What versioning and publishing would change in the real repository: versions, changelogs, tags. */
async function repositoryState() {
  return JSON.stringify({
    versions: workspacePackages().map((p) => [p.name, p.manifest.version]),
    tags: await run("git", ["tag", "--list"], { cwd: REPO_DIR }),
    changelogs: publishedPackages()
      .filter((p) => existsSync(path.join(p.dir, "CHANGELOG.md")))
      .map((p) => [p.name, readFileSync(path.join(p.dir, "CHANGELOG.md"), "utf8")]),
  });
}
let repoBefore: string;

beforeAll(async () => {
  repoBefore = await repositoryState();
  work = tempProject({}, { prefix: "imagespec-release-" });
  copy = path.join(work, "repo");
  await copyWorkingTree(REPO_DIR, copy);
  // From the store only: the copy has the same lockfile as this checkout, whose install put everything there.
  await run("pnpm", ["install", "--offline", "--frozen-lockfile", "--ignore-scripts"], { cwd: copy, timeout: 600_000 });
  pending = pendingChangesets(copy);
  const front = PUBLISHED.map((name) => `"${name}": patch`).join("\n");
  await writeFile(path.join(copy, ".changeset", "release-rehearsal.md"), `---\n${front}\n---\n\n${rehearsal}\n`);
  await commitAll(copy, "a rehearsal changeset");
  before = new Map(publishedPackages(copy).map((p) => [p.name, p.manifest.version]));
});

afterAll(async () => {
  await registry?.stop();
});

/** Internal dependency ranges of `manifest` that `versions` does not satisfy (workspace: shorthands are pnpm's). */
function unsatisfiedRanges(manifest: Manifest, versions: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const field of DEPENDENCY_FIELDS.filter((f) => f !== "devDependencies")) {
    for (const [dep, spec] of Object.entries(manifest[field] ?? {})) {
      const version = versions.get(dep);
      if (version === undefined) continue;
      const range = spec.replace(/^workspace:/, "");
      if (["*", "^", "~"].includes(range)) continue;
      if (!semver.satisfies(version, range)) problems.push(`${manifest.name} ${field} ${dep}@${spec} does not admit ${version}`);
    }
  }
  return problems;
}

describe("the release, rehearsed in a copy of the repository", () => {
  let versions: Map<string, string>;

  it("pnpm version-packages bumps each package as its changesets ask, writes its CHANGELOG.md and keeps internal ranges valid", async () => {
    await run("pnpm", ["version-packages"], { cwd: copy });
    const after = publishedPackages(copy);
    versions = new Map(after.map((p) => [p.name, p.manifest.version]));
    const bumps = requestedBumps([
      ...pending,
      { id: "release-rehearsal", releases: Object.fromEntries(PUBLISHED.map((n) => [n, "patch"])), summary: rehearsal },
    ]);

    for (const pkg of after) {
      const old = before.get(pkg.name)!;
      // Exactly the requested bump: a package whose peer range a release leaves would get a major from changesets.
      expect(pkg.manifest.version, `${pkg.name} ${old} + ${bumps.get(pkg.name)}`).toBe(semver.inc(old, bumps.get(pkg.name)!));
      const changelog = readFileSync(path.join(pkg.dir, "CHANGELOG.md"), "utf8");
      expect(changelog.startsWith(`# ${pkg.name}\n\n## ${pkg.manifest.version}\n`), pkg.name).toBe(true);
      expect(changelog).toContain(rehearsal);
      for (const changeset of pending.filter((c) => pkg.name in c.releases)) {
        expect(changelog, `${pkg.name}: .changeset/${changeset.id}.md`).toContain(changeset.summary.split("\n")[0]);
      }
    }
    expect(readdirSync(path.join(copy, ".changeset")).filter((f) => f.endsWith(".md"))).toEqual(["README.md"]);
    expect(after.flatMap((p) => unsatisfiedRanges(p.manifest, versions))).toEqual([]);
    await commitAll(copy, "version packages");

    // The repository under test is as it was: versions, changelogs, tags, and every pending changeset still there.
    expect(await repositoryState()).toBe(repoBefore);
    const still = readdirSync(path.join(REPO_DIR, ".changeset"));
    for (const changeset of pending) expect(still).toContain(`${changeset.id}.md`);
  });

  it("pnpm release builds and publishes every package to a local registry, tags the copy, and each package installs from there", async () => {
    expect(versions, "the versioning test ran").toBeDefined();
    registry = await startLocalRegistry(path.join(work, "registry"));
    const asPublisher = { npm_config_userconfig: registry.npmrc, npm_config_registry: registry.url, npm_config_cache: path.join(work, "npm-cache") };
    const started = Date.now();
    const out = await run("pnpm", ["release"], { cwd: copy, env: asPublisher, timeout: 600_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\nverdaccio:\n${registry?.output()}`);
    });
    console.log(`pnpm release (build + publish of ${PUBLISHED.length} packages) took ${Math.round((Date.now() - started) / 1000)} s`);

    const tags = (await run("git", ["tag", "--list"], { cwd: copy })).split("\n").filter(Boolean).sort();
    expect(tags).toEqual(PUBLISHED.map((name) => `${name}@${versions.get(name)}`).sort());
    for (const name of PUBLISHED) expect(out).toContain(`${name}@${versions.get(name)}`);

    // What the registry serves: versions instead of workspace: ranges, each admitting what was published with it.
    for (const name of PUBLISHED) {
      const view = JSON.parse(await run("npm", ["view", `${name}@${versions.get(name)}`, "--json"], { cwd: work, env: asPublisher })) as Manifest & {
        dist: { tarball: string };
      };
      expect(view.version).toBe(versions.get(name));
      expect(view.license).toBe("Apache-2.0");
      expect(view.dist.tarball.startsWith(registry.url)).toBe(true);
      for (const field of DEPENDENCY_FIELDS.filter((f) => f !== "devDependencies")) {
        for (const [dep, range] of Object.entries(view[field] ?? {})) expect(range, `${name} ${field} ${dep}`).not.toMatch(/^workspace:/);
      }
      expect(unsatisfiedRanges(view, versions)).toEqual([]);
    }

    // A user's project that knows only this registry installs every package by name. Its npm cache is its own:
    // what verdaccio serves (full package documents, tarball addresses on a port of this run) is of no use later.
    const user = path.join(work, "user");
    await mkdir(user);
    await writeFile(path.join(user, "package.json"), JSON.stringify({ name: "user-project", version: "0.0.0", private: true, type: "module" }));
    await writeFile(path.join(user, ".npmrc"), `registry=${registry.url}\n`);
    const specs = PUBLISHED.map((name) => `${name}@${versions.get(name)}`);
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--ignore-scripts", ...specs], {
      cwd: user,
      env: { npm_config_cache: path.join(work, "npm-cache") },
      timeout: 600_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\nverdaccio:\n${registry?.output()}`);
    });
    for (const name of PUBLISHED) {
      const installed = JSON.parse(readFileSync(path.join(user, "node_modules", ...name.split("/"), "package.json"), "utf8")) as Manifest;
      expect(installed.version).toBe(versions.get(name));
    }
    const listed = JSON.parse(await run(path.join(user, "node_modules", ".bin", "imagespec"), ["builders", "--json"], { cwd: user })) as {
      builders: { type: string; version: string }[];
    };
    expect(listed.builders.map((b) => [b.type, b.version])).toEqual([
      ["remote", versions.get("@imagespec/builder-remote")],
      ["docker", versions.get("@imagespec/builder-docker")],
      ["envd", versions.get("@imagespec/builder-envd")],
      ["noop", versions.get("@imagespec/builder-noop")],
    ]);
  });
});
