/**
 * The Dockerfile of a nodeProject layer, without an engine: its stages, what each installs from, where the .npmrc
 * secret is mounted (install steps only) and what the image itself gets.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Image } from "@imagespec/core";
import { renderDockerBuild } from "@imagespec/docker-build";
import { contextEntries } from "@imagespec/docker-build/engine";
import { describe, expect, it } from "vitest";
import { withNodeProject } from "../src/index.js";
import { instructions, MANAGERS, thrown, workspace, write } from "./support/project.js";

const BASE = "127.0.0.1:5000/imagespec/node:18-bookworm-slim";

describe.each(MANAGERS)("the Dockerfile of a %s workspace package", (manager) => {
  it("installs production dependencies in one stage, builds with every dependency in another, and the image takes both results", async () => {
    const root = workspace(manager, { ".npmrc": "registry=http://127.0.0.1:4873/\n" });
    const image = withNodeProject(Image.fromBase(BASE, { root }), { package: "apps/api" });
    const plan = await renderDockerBuild(image);
    const lines = instructions(plan.dockerfile);
    const froms = lines.filter((l) => l.startsWith("FROM "));
    expect(froms).toEqual([
      `FROM ${BASE} AS imagespec-before-layer-0`,
      "FROM imagespec-before-layer-0 AS imagespec-layer-0-tools",
      "FROM imagespec-layer-0-tools AS imagespec-layer-0-deps",
      "FROM imagespec-layer-0-tools AS imagespec-layer-0-build",
      "FROM imagespec-before-layer-0",
    ]);
    const image0 = lines.slice(lines.lastIndexOf("FROM imagespec-before-layer-0"));
    expect(image0).toEqual([
      "FROM imagespec-before-layer-0",
      'COPY --from=imagespec-layer-0-deps ["/app","/app"]',
      'COPY --from=imagespec-layer-0-build ["/tmp/imagespec/node-output/","/app/"]',
      'WORKDIR "/app/apps/api"',
      'ENV NODE_ENV="production"',
      'ENV PATH="/app/apps/api/node_modules/.bin:/app/node_modules/.bin":$PATH',
      'USER "node"',
      'CMD ["node","dist/server.js"]',
      `ENV IMAGESPEC_IMAGE_ID="${image.id}"`,
    ]);
    // The secret is mounted for the steps that reach the registry, and nothing copies an .npmrc.
    const withSecret = lines.filter((l) => l.includes("--mount=type=secret"));
    expect(withSecret.length).toBe(manager === "npm" ? 2 : 3);
    for (const line of withSecret) expect(line).toMatch(/ci|install/);
    expect(plan.secrets).toEqual([{ id: "imagespec-npmrc-0", src: ".npmrc" }]);
    expect(lines.filter((l) => l.startsWith("COPY") && l.includes("npmrc"))).toEqual([]);
    expect(plan.context.map((c) => c.path).filter((p) => p.includes("npmrc"))).toEqual([]);
    // npm's cache (which also installs pnpm and yarn) is made for concurrent writers and is shared; pnpm's store and
    // yarn's cache are one per concurrent build.
    const caches = new Set(lines.flatMap((l) => [...l.matchAll(/--mount=type=cache,id=([^,]+),[^ ]*sharing=(\w+)/g)].map((m) => `${m[1]} ${m[2]}`)));
    expect([...caches].sort()).toEqual(
      {
        npm: ["imagespec-npm shared"],
        pnpm: ["imagespec-npm shared", "imagespec-pnpm-store private"],
        yarn: ["imagespec-npm shared", "imagespec-yarn private"],
      }[manager],
    );
    // The lock the stages install from is the pruned one, generated; the workspace's own is never sent.
    const lockfile = { pnpm: "pnpm-lock.yaml", npm: "package-lock.json", yarn: "yarn.lock" }[manager];
    const locks = plan.context.filter((c) => c.path.endsWith(lockfile));
    expect(locks).toHaveLength(1);
    expect(locks[0]!.type).toBe("content");
    expect(Buffer.from((locks[0] as { content: Uint8Array }).content).toString("utf8")).not.toBe(readFileSync(path.join(root, lockfile), "utf8"));
    // Sources: the shared package's, then its build (none), then the api's, then its build.
    const build = lines.slice(lines.indexOf("FROM imagespec-layer-0-tools AS imagespec-layer-0-build"), lines.indexOf("FROM imagespec-before-layer-0", 1));
    const copies = build.filter((l) => l.startsWith("COPY") && l.endsWith('/"]'));
    expect(copies.map((l) => JSON.parse(l.slice(5))[1])).toEqual(["/app/packages/shared/", "/app/apps/api/"]);
    expect(build.findIndex((l) => l.includes(`${manager} run build`))).toBeGreaterThan(build.indexOf(copies[1]!));
    const folders = plan.context.filter((c) => c.type === "folder");
    expect(folders.map((f) => (f as { source: string }).source)).toEqual([path.join(root, "packages/shared"), path.join(root, "apps/api")]);
    // What is sent is what the tag counted: no node_modules and no .npmrc, wherever they are.
    write(root, { "apps/api/node_modules/x/index.js": "x\n", "packages/shared/.npmrc": "//r/:_authToken=t\n" });
    const fresh = withNodeProject(Image.fromBase(BASE, { root }), { package: "apps/api" });
    const sent = contextEntries((await renderDockerBuild(fresh)).context, fresh, await fresh.identity()).map((e) => e.name);
    expect(sent.some((name) => name.endsWith("/src/server.js"))).toBe(true);
    expect(sent.filter((name) => /node_modules|\.npmrc/.test(name))).toEqual([]);
  });
});

describe("the Dockerfile's options", () => {
  it("builds nothing with buildScript false, runs as the user and command given, in dst", async () => {
    const root = workspace("pnpm");
    const image = withNodeProject(Image.fromBase(BASE, { root }), {
      package: "apps/web",
      buildScript: false,
      dst: "/srv/acme",
      user: "1000",
      command: ["node", "src/server.js", "--port", "80"],
    });
    const lines = instructions((await renderDockerBuild(image)).dockerfile);
    expect(lines.some((l) => l.includes("run build"))).toBe(false);
    expect(lines.filter((l) => l.includes("pnpm install")).length).toBe(1);
    expect(lines).toContain('WORKDIR "/srv/acme/apps/web"');
    expect(lines).toContain('USER "1000"');
    expect(lines).toContain('CMD ["node","src/server.js","--port","80"]');
    expect(image.layers[0]).toMatchObject({ manager: "pnpm", managerVersion: "10.34.9", closure: ["packages/shared", "apps/web"] });
  });

  it("copies workspace files the build needs into the build stage only, and counts them in the tag", async () => {
    const root = workspace("npm", { "tsconfig.base.json": "{}\n" });
    const image = withNodeProject(Image.fromBase(BASE, { root }), { package: "apps/api", workspaceFiles: ["tsconfig.base.json"] });
    const lines = instructions((await renderDockerBuild(image)).dockerfile);
    const copy = lines.find((l) => l.endsWith('"/app/tsconfig.base.json"]'))!;
    expect(lines.indexOf(copy)).toBeGreaterThan(lines.indexOf("FROM imagespec-layer-0-tools AS imagespec-layer-0-build"));
    const before = await image.tag();
    write(root, { "tsconfig.base.json": '{ "compilerOptions": {} }\n' });
    expect(await withNodeProject(Image.fromBase(BASE, { root }), { package: "apps/api", workspaceFiles: ["tsconfig.base.json"] }).tag()).not.toBe(before);
  });

  it("refuses to render when the workspace changed after the image was defined", async () => {
    const root = workspace("pnpm");
    const image = withNodeProject(Image.fromBase(BASE, { root }), { package: "apps/api" });
    // Still a current lock, but another one: what the image would install from is not what its tag says.
    write(root, { "pnpm-lock.yaml": readFileSync(path.join(root, "pnpm-lock.yaml"), "utf8").replace("autoInstallPeers: true", "autoInstallPeers: false") });
    const error = await thrown(() => renderDockerBuild(image));
    expect(error.message).toMatch(/^Cannot render layers\[0\] \(nodeProject\): the workspace at .* changed after the image was defined \(lockDigest\)$/);
    expect(error.hint).toMatch(/^Define the image again/);
  });
});
