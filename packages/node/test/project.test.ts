/**
 * Reading a workspace without building: the package manager by its lockfile, one package's closure, the lock pruned
 * to it (and accepted by the real package manager's frozen install), the tag that follows only the closure, and the
 * checks that refuse a stale lock or a project imagespec cannot build, before any build.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Image } from "@imagespec/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_NODE_BASE_TEMPLATE, fromNodeBase, loadNodeProject, nodeBaseImage, withNodeProject } from "../src/index.js";
import { MANAGERS, type Manager, npmrc, runManager, thrown, workspace, write } from "./support/project.js";

const LOCKFILE: Record<Manager, string> = { pnpm: "pnpm-lock.yaml", npm: "package-lock.json", yarn: "yarn.lock" };
const load = (root: string, pkg: string, nodeVersion?: string) => loadNodeProject({ root, package: pkg, workspace: undefined, nodeVersion });
const api = (root: string) => withNodeProject(Image.fromBase("127.0.0.1:5000/imagespec/node:18-bookworm-slim", { root }), { package: "apps/api" });
const web = (root: string) => withNodeProject(Image.fromBase("127.0.0.1:5000/imagespec/node:18-bookworm-slim", { root }), { package: "apps/web" });

describe("fromNodeBase", () => {
  it("starts from the official node:<version>-bookworm-slim and states the version", () => {
    delete process.env.IMAGESPEC_NODE_BASE_IMAGE;
    const image = fromNodeBase({ nodeVersion: "20" });
    expect(image.base).toEqual({ type: "uri", uri: "node:20-bookworm-slim" });
    expect(image.layers.map((l) => [l.kind, l.version])).toEqual([["nodeVersion", "20"]]);
    expect(DEFAULT_NODE_BASE_TEMPLATE).toBe("node:{node_version}-bookworm-slim");
    expect(fromNodeBase().base).toEqual({ type: "uri", uri: "node:22-bookworm-slim" });
  });

  it("follows IMAGESPEC_NODE_BASE_IMAGE, which changes the tag", async () => {
    delete process.env.IMAGESPEC_NODE_BASE_IMAGE;
    const official = await fromNodeBase({ nodeVersion: "18" }).tag();
    process.env.IMAGESPEC_NODE_BASE_IMAGE = "127.0.0.1:5000/mirror/node:{node_version}-slim";
    try {
      const mirrored = fromNodeBase({ nodeVersion: "18" });
      expect(mirrored.base).toEqual({ type: "uri", uri: "127.0.0.1:5000/mirror/node:18-slim" });
      expect(await mirrored.tag()).not.toBe(official);
      process.env.IMAGESPEC_NODE_BASE_IMAGE = "Not A Reference {node_version}";
      const error = await thrown(() => nodeBaseImage("18"));
      expect(error.code).toBe("CONFIG_ERROR");
      expect(error.message).toContain("IMAGESPEC_NODE_BASE_IMAGE");
    } finally {
      delete process.env.IMAGESPEC_NODE_BASE_IMAGE;
    }
  });

  it("refuses a version that is not one, naming the field", async () => {
    const error = await thrown(() => fromNodeBase({ nodeVersion: "lts/iron" }));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.field).toBe("nodeVersion");
    expect(error.message).toMatch(/^Cannot create an image from the Node.js base: nodeVersion = "lts\/iron"/);
  });
});

describe.each(MANAGERS)("a %s workspace", (manager) => {
  it("is read from its lockfile: the package, the workspace packages it needs, in build order", () => {
    const root = workspace(manager);
    const project = load(root, "apps/api");
    expect(project.workspace.manager).toBe(manager);
    expect(project.workspace.lockfile).toBe(LOCKFILE[manager]);
    expect(project.workspace.packages.map((p) => p.dir)).toEqual([".", "apps/api", "apps/web", "packages/shared"]);
    expect(project.closure).toEqual(["packages/shared", "apps/api"]);
    expect(project.runtimeClosure).toEqual(["packages/shared", "apps/api"]);
    expect(project.command).toEqual(["node", "dist/server.js"]);
    expect(load(root, "@fx/web").closure).toEqual(["packages/shared", "apps/web"]);
    expect(load(root, "@fx/web").command).toEqual(["node", "src/server.js"]);
  });

  it("prunes the lock to the closure: what only another package needs is not in it", () => {
    const root = workspace(manager);
    const full = readFileSync(path.join(root, LOCKFILE[manager]), "utf8");
    const { lockText } = load(root, "apps/api");
    // ms@2.0.0 is apps/web's alone; api gets ms 2.1.3 through the shared package.
    expect(full).toMatch(/ms@2\.0\.0|ms-2\.0\.0\.tgz/);
    expect(lockText).not.toMatch(/ms@2\.0\.0|ms-2\.0\.0\.tgz/);
    expect(lockText).toMatch(/ms@2\.1\.3|ms-2\.1\.3\.tgz|ms@\^2\.1\.3/);
    expect(lockText).not.toContain("@fx/web");
    expect(lockText).not.toContain("apps/web");
    expect(lockText).toContain("typescript");
  });

  it("gives a pruned lock the real package manager installs from, frozen, with only the closure's packages", async () => {
    const root = workspace(manager);
    const project = load(root, "apps/api");
    // The workspace as the image's install stage has it: root config, the closure's manifests, the pruned lock.
    const only = workspace(manager, { ".npmrc": npmrc() });
    rmSync(path.join(only, "apps/web"), { recursive: true });
    writeFileSync(path.join(only, project.workspace.lockfile), project.lockText);
    await runManager(
      manager,
      manager === "npm"
        ? ["ci", "--omit=dev"]
        : manager === "pnpm"
          ? ["install", "--frozen-lockfile", "--prod"]
          : ["install", "--frozen-lockfile", "--production=true"],
      only,
    );
    const probe = (request: string, from: string) => {
      try {
        return createRequire(path.join(only, from, "package.json")).resolve(request);
      } catch {
        return undefined;
      }
    };
    expect(probe("@imagespec-test/private-greeting", "apps/api")).toBeDefined();
    expect(probe("@fx/shared", "apps/api")).toBeDefined();
    expect(readFileSync(path.join(path.dirname(probe("ms/package.json", "packages/shared")!), "package.json"), "utf8")).toContain('"version": "2.1.3"');
    expect(probe("typescript", "apps/api"), "a dev dependency in a production install").toBeUndefined();
  }, 300_000);

  it("ties the tag to the closure: another package's edit changes nothing, the shared package's changes both", async () => {
    const root = workspace(manager);
    const before = { api: await api(root).tag(), web: await web(root).tag() };
    write(root, { "apps/web/src/server.js": "// edited\n" });
    expect(await api(root).tag()).toBe(before.api);
    expect(await web(root).tag()).not.toBe(before.web);
    const webEdited = await web(root).tag();
    write(root, { "packages/shared/index.js": `${readFileSync(path.join(root, "packages/shared/index.js"), "utf8")}// edited\n` });
    expect(await api(root).tag()).not.toBe(before.api);
    expect(await web(root).tag()).not.toBe(webEdited);
  });

  it("never hashes (nor sends) node_modules or an .npmrc inside the closure", async () => {
    const root = workspace(manager);
    const before = await api(root).tag();
    write(root, {
      "apps/api/node_modules/left-over/index.js": "x\n",
      "apps/api/.npmrc": "//example.com/:_authToken=secret\n",
      "packages/shared/node_modules/.bin/x": "y\n",
    });
    expect(await api(root).tag()).toBe(before);
  });

  it("refuses a lock that is out of date with a manifest of the closure, naming the package, before any build", async () => {
    const root = workspace(manager);
    const file = path.join(root, "apps/api/package.json");
    const manifest = JSON.parse(readFileSync(file, "utf8"));
    manifest.dependencies.ms = "^2.1.1";
    writeFileSync(file, JSON.stringify(manifest, null, 2));
    const error = await thrown(() => api(root));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.message).toMatch(
      new RegExp(`^Cannot use the ${manager} lock ${LOCKFILE[manager].replace(".", "\\.")} for apps/api \\(@fx/api\\): it is out of date`),
    );
    expect(error.message).toContain("apps/api/package.json (@fx/api)");
    expect(error.message).toContain("ms");
    expect(error.hint).toContain(`${manager} install`);
    // A stale entry of a package outside the closure is not this image's business.
    expect(await web(root).tag()).toMatch(/^[a-z0-9]/);
  });
});

describe("what withNodeProject refuses, with the reason", () => {
  it("a folder without a lockfile", async () => {
    const root = workspace("pnpm");
    rmSync(path.join(root, "pnpm-lock.yaml"));
    const error = await thrown(() => api(root));
    expect(error.code).toBe("FILE_NOT_FOUND");
    expect(error.message).toMatch(/^Cannot find the Node.js workspace of "apps\/api": no folder at or above .* has a lockfile/);
  });

  it("two lockfiles and no packageManager to choose", async () => {
    const root = workspace("npm", { "yarn.lock": "# yarn lockfile v1\n" });
    const error = await thrown(() => api(root));
    expect(error.message).toMatch(/has 2 lockfiles \(package-lock.json, yarn.lock\) and package.json names no packageManager/);
  });

  it("a package the workspace does not have, listing those it has", async () => {
    const error = await thrown(() => withNodeProject(Image.fromBase("node:18", { root: workspace("pnpm") }), { package: "@fx/nope" }));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.field).toBe("package");
    expect(error.hint).toContain("@fx/api (apps/api)");
  });

  it("the root of a workspace of several packages", async () => {
    const error = await thrown(() => withNodeProject(Image.fromBase("node:18", { root: workspace("pnpm") })));
    expect(error.message).toMatch(/^Cannot build the root of the workspace at .*: it has 3 packages/);
  });

  it("files entries that are patterns", async () => {
    const root = workspace("pnpm");
    const file = path.join(root, "packages/shared/package.json");
    writeFileSync(file, readFileSync(file, "utf8").replace('"files": ["index.js"]', '"files": ["*.js"]'));
    const error = await thrown(() => api(root));
    expect(error.message).toMatch(/^Cannot take the files of packages\/shared \(@fx\/shared\): "files" entry "\*\.js": patterns are not supported/);
  });

  it("an engines.node the image's Node.js does not satisfy", async () => {
    const root = workspace("npm");
    const file = path.join(root, "apps/api/package.json");
    writeFileSync(file, readFileSync(file, "utf8").replace('"private": true,', '"private": true,\n  "engines": { "node": ">=20" },'));
    process.env.IMAGESPEC_NODE_BASE_IMAGE = "127.0.0.1:5000/imagespec/node:{node_version}-bookworm-slim";
    try {
      const error = await thrown(() => withNodeProject(fromNodeBase({ nodeVersion: "18", root }), { package: "apps/api" }));
      expect(error.message).toBe('Cannot run apps/api (@fx/api) on Node.js 18: its engines.node is ">=20"');
      expect(withNodeProject(fromNodeBase({ nodeVersion: "20", root }), { package: "apps/api" }).layers).toHaveLength(2);
    } finally {
      delete process.env.IMAGESPEC_NODE_BASE_IMAGE;
    }
  });

  it("a yarn 2+ lock and a pnpm lock older than format 9", async () => {
    const yarn = workspace("yarn", { "yarn.lock": '__metadata:\n  version: 6\n\n"ms@npm:^2.1.3":\n  version: 2.1.3\n' });
    expect((await thrown(() => api(yarn))).message).toMatch(/written by yarn 2 or later/);
    const pnpm = workspace("pnpm", { "pnpm-lock.yaml": "lockfileVersion: '6.0'\n" });
    expect((await thrown(() => api(pnpm))).message).toMatch(/lockfileVersion is "6.0", and imagespec reads version 9/);
  });

  it("an npmrc that does not exist; and mounts the workspace's own .npmrc by default", async () => {
    const root = workspace("pnpm");
    const error = await thrown(() => withNodeProject(Image.fromBase("node:18", { root }), { package: "apps/api", npmrc: "nope/.npmrc" }));
    expect(error.code).toBe("FILE_NOT_FOUND");
    expect(api(root).layers[0]!.npmrc).toBeUndefined();
    write(root, { ".npmrc": "registry=http://127.0.0.1:4873/\n" });
    const withRc = api(root);
    expect(withRc.layers[0]!.npmrc).toBe(".npmrc");
    // Where the npmrc comes from is not part of the image; that installs read one is.
    const tag = await withRc.tag();
    write(root, { ".npmrc": "registry=http://127.0.0.1:4873/\n//127.0.0.1:4873/:_authToken=other\n" });
    expect(await api(root).tag()).toBe(tag);
    expect(
      await withNodeProject(Image.fromBase("127.0.0.1:5000/imagespec/node:18-bookworm-slim", { root }), { package: "apps/api", npmrc: false }).tag(),
    ).not.toBe(tag);
  });
});
