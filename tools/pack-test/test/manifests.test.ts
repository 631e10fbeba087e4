/**
 * What every published package.json must say, checked without packing anything: the metadata a user's package
 * manager, bundler and TypeScript read, and the dependency rules of the house (DESIGN.md: builders and layer packages
 * have @imagespec/core as a peer and never depend on each other; the CLI depends on core).
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { run } from "../src/run.js";
import { PUBLISHED, publishedPackages, REPO_DIR, workspacePackages } from "../src/workspace.js";

const published = publishedPackages();
const LICENSE = readFileSync(path.join(REPO_DIR, "LICENSE"), "utf8");
const BUILDERS = published.filter((p) => p.name.startsWith("@imagespec/builder-")).map((p) => p.name);
const CORE_VERSION = published.find((p) => p.name === "@imagespec/core")!.manifest.version;
const PRIVATE = workspacePackages()
  .filter((p) => p.manifest.private)
  .map((p) => p.name);

describe("the workspace's packages", () => {
  it("are the ones pnpm lists, in this repository and in a workspace with a scratch folder whose name starts with a dot", async () => {
    const pnpmList = async (root: string) =>
      (JSON.parse(await run("pnpm", ["ls", "--recursive", "--depth", "-1", "--json"], { cwd: root })) as { name: string; path: string }[])
        .filter((p) => p.path !== root)
        .map((p) => p.name)
        .sort();
    const ours = (root: string) => workspacePackages(root).map((p) => p.name);
    expect(ours(REPO_DIR)).toEqual(await pnpmList(REPO_DIR));

    const root = mkdtempSync(path.join(tmpdir(), "imagespec-workspace-"));
    try {
      const write = (file: string, content: string) => {
        mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        writeFileSync(path.join(root, file), content);
      };
      write("pnpm-workspace.yaml", "packages:\n  - packages/*\n  - examples/*\n  - tools/*\n");
      write("package.json", '{ "name": "root", "private": true }\n');
      for (const [dir, name] of [
        ["packages/a", "a"],
        ["examples/b", "b"],
        ["examples/.scratch-b", "b"],
        ["tools/.hidden", "hidden"],
      ]) {
        write(`${dir}/package.json`, JSON.stringify({ name, version: "1.0.0" }));
      }
      const listed = await pnpmList(root);
      expect(listed).toEqual(["a", "b"]);
      expect(ours(root)).toEqual(listed);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the published packages", () => {
  it("are exactly the ones this test knows", () => {
    expect(published.map((p) => p.name)).toEqual([...PUBLISHED].sort((a, b) => a.localeCompare(b)));
  });

  it("the repository is Apache-2.0 licensed (LICENSE at the root)", () => {
    expect(LICENSE).toContain("Apache License");
    expect(LICENSE).toContain("Version 2.0, January 2004");
  });
});

describe.each(published.map((p) => [p.name, p] as const))("%s", (name, pkg) => {
  const m = pkg.manifest;

  it("is Apache-2.0, with the license text in the package", () => {
    expect(m.license).toBe("Apache-2.0");
    expect(readFileSync(path.join(pkg.dir, "LICENSE"), "utf8")).toBe(LICENSE);
  });

  it("is ESM for Node >= 20.19, ships dist only, says whether it has side effects, and publishes publicly", () => {
    expect(m.type).toBe("module");
    expect(m.engines).toEqual({ node: ">=20.19" });
    expect(m.files).toContain("dist");
    expect(m.sideEffects).toBeDefined();
    if (name.startsWith("@")) expect(m.publishConfig?.access).toBe("public");
    expect(m.scripts?.publint).toBe("publint --strict");
  });

  it("has an exports map whose every entry gives types before default, and files that exist once built", () => {
    expect(m.exports?.["./package.json"]).toBe("./package.json");
    const entries = Object.entries(m.exports ?? {}).filter(([key]) => key !== "./package.json");
    if (m.bin) {
      // The CLI is a command, not a library.
      expect(entries).toEqual([]);
      for (const bin of Object.values(m.bin)) expect(existsSync(path.join(pkg.dir, bin))).toBe(true);
      return;
    }
    expect(entries.map(([key]) => key)).toContain(".");
    for (const [key, target] of entries) {
      // A data file (core's image-spec.schema.json) is exported as itself, and shipped through `files`.
      if (typeof target === "string" && key.endsWith(".json")) {
        expect(target, key).toBe(key);
        expect(m.files, key).toContain(key.slice(2));
        expect(existsSync(path.join(pkg.dir, target)), key).toBe(true);
        continue;
      }
      expect(typeof target, key).toBe("object");
      const conditions = target as Record<string, string>;
      // `default`, not `import`: Node >= 20.19 can then also require() the ESM build (a "type": "commonjs" project
      // run with tsx does), which an `import`-only map refuses with ERR_PACKAGE_PATH_NOT_EXPORTED.
      expect(Object.keys(conditions), key).toEqual(["types", "default"]);
      for (const file of Object.values(conditions)) expect(existsSync(path.join(pkg.dir, file)), `${key}: ${file}`).toBe(true);
    }
    const root = m.exports?.["."] as Record<string, string>;
    expect(m.types).toBe(root.types);
    expect(m.main).toBe(root.default);
  });

  it("declares a plugin exactly when it is one (keyword, field and a ./plugin entry)", () => {
    const isPlugin = m.imagespec?.plugin !== undefined;
    expect(m.keywords?.includes("imagespec-plugin") ?? false).toBe(isPlugin);
    if (isPlugin) expect((m.exports?.["./plugin"] as Record<string, string> | undefined)?.default).toBe(m.imagespec!.plugin);
  });

  it("says where it comes from: repository (with its folder), homepage and bugs, the same repository for every package", () => {
    const repository = m.repository as { type?: string; url?: string; directory?: string } | undefined;
    expect(repository).toEqual({ type: "git", url: "git+https://github.com/imagespec/imagespec.git", directory: path.relative(REPO_DIR, pkg.dir) });
    expect(m.homepage).toBe(`https://github.com/imagespec/imagespec/tree/main/${path.relative(REPO_DIR, pkg.dir)}#readme`);
    expect(m.bugs).toEqual({ url: "https://github.com/imagespec/imagespec/issues" });
  });

  it("has a README whose links work on npmjs.com: no relative links out of the package", () => {
    const readme = readFileSync(path.join(pkg.dir, "README.md"), "utf8");
    const relative = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((l) => l[1]!).filter((target) => !/^[a-z]+:/.test(target) && !target.startsWith("#"));
    expect(relative).toEqual([]);
  });

  it("has a README with an install line naming it and an example", () => {
    const readme = readFileSync(path.join(pkg.dir, "README.md"), "utf8");
    expect(readme.startsWith(`# ${name}\n`)).toBe(true);
    const installs = readme.split("\n").filter((line) => /^(npm install|npm i|pnpm add|yarn add)\b/.test(line.trim()));
    expect(
      installs.some((line) => line.split(/\s+/).includes(name)),
      installs.join("\n"),
    ).toBe(true);
    // One install style across the docs: `npm install ...` naming it, with pnpm's `pnpm add ...` beside it.
    expect(
      installs.some((line) => line.trim().startsWith("npm install ") && line.split(/\s+/).includes(name)),
      installs.join("\n"),
    ).toBe(true);
    expect(readme).toMatch(/pnpm add (-D )?[^\n]*/);
    expect(readme).toMatch(/```(ts|typescript)\n/);
  });

  it("follows the dependency rules: core as a peer (the CLI: a dependency), no builder depends on another, nothing private", () => {
    const runtime = { ...m.dependencies, ...m.peerDependencies, ...m.optionalDependencies };
    if (name === "@imagespec/core") {
      expect(Object.keys(runtime).filter((d) => d.startsWith("@imagespec/") || d === "imagespec")).toEqual([]);
    } else if (name === "imagespec") {
      expect(m.dependencies?.["@imagespec/core"]).toBe("workspace:^");
      expect(m.peerDependencies?.["@imagespec/core"]).toBeUndefined();
    } else {
      // One copy of core in a user's project: Images, layer definitions and the engine are core's objects.
      const peer = m.peerDependencies?.["@imagespec/core"];
      expect(peer).toBeDefined();
      expect(semver.satisfies(CORE_VERSION, peer!), `${peer} admits core ${CORE_VERSION}`).toBe(true);
      // While core is 0.x, the range spans the next minor too: changesets gives every package whose peer range a
      // release leaves a major bump, which would take each builder to 1.0.0 at core's next minor.
      if (semver.major(CORE_VERSION) === 0) expect(semver.satisfies(semver.inc(CORE_VERSION, "minor")!, peer!), peer).toBe(true);
      expect(m.dependencies?.["@imagespec/core"]).toBeUndefined();
      expect(m.devDependencies?.["@imagespec/core"]).toBe("workspace:*");
    }
    for (const dep of Object.keys(runtime)) {
      expect(BUILDERS, `${name} depends on ${dep}`).not.toContain(dep);
      expect(PRIVATE, `${name} depends on ${dep}`).not.toContain(dep);
    }
  });
});
