/**
 * The packages as a user gets them from a registry, without a registry: every published package is packed once with
 * `pnpm pack` (only what `files` lists ships; `workspace:` ranges become versions), and the tarballs are installed
 * into fresh projects, once with npm and once with pnpm, step by step as a user would add them:
 *
 *   1. core, the CLI and noop: `imagespec builders` lists noop only, and no dockerode is installed;
 *   2. + @imagespec/builder-docker: listed, and a real build with it works (the test engine and registry), and runs;
 *   3. + everything else and a third-party builder (examples/custom-builder): each entry point imports as ESM, and a
 *      consumer file importing all of them type-checks with tsc (strict, NodeNext, declarations checked too).
 *
 * Third-party dependencies come from the npm registry through the local npm/pnpm cache.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { runImage } from "@imagespec/test-env";
import { tempProject } from "@imagespec/test-env/project";
import { beforeAll, describe, expect, it } from "vitest";
import { packAll } from "../src/pack.js";
import { listBuilders, type Manager, UserProject } from "../src/project.js";
import { run } from "../src/run.js";
import { entryPoints, publishedPackages, workspacePackages } from "../src/workspace.js";

const require = createRequire(import.meta.url);
const published = publishedPackages();
const thirdParty = workspacePackages().find((p) => p.name === "imagespec-builder-export")!;
const version = (name: string) => [...published, thirdParty].find((p) => p.name === name)!.manifest.version;

let tarballs: Map<string, string>;
let tarballDir: string;

beforeAll(async () => {
  tarballDir = tempProject({}, { prefix: "imagespec-tarballs-" });
  tarballs = await packAll([...published, thirdParty], tarballDir);
});

const fromTarballs = (...names: string[]) => Object.fromEntries(names.map((name) => [name, `file:${tarballs.get(name)}`]));

describe("pnpm pack", () => {
  it("writes each package's manifest with versions instead of workspace: ranges, and ships only dist, README and LICENSE", async () => {
    for (const pkg of published) {
      const listing = await run("tar", ["-tzf", tarballs.get(pkg.name)!], { cwd: tarballDir });
      const top = new Set(
        listing
          .split("\n")
          .filter(Boolean)
          .map((entry) => entry.split("/")[1]),
      );
      // package.json, README and LICENSE always; then what `files` lists (dist, the CLI's bin, core's JSON Schema).
      const expected = [...new Set(["package.json", "README.md", "LICENSE", ...(pkg.manifest.files ?? [])])];
      expect([...top].sort(), pkg.name).toEqual(expected.sort());
      const manifest = JSON.parse(await run("tar", ["-xzOf", tarballs.get(pkg.name)!, "package/package.json"], { cwd: tarballDir })) as Record<
        string,
        Record<string, string>
      >;
      for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
        for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
          expect(range, `${pkg.name} ${field} ${dep}`).not.toMatch(/^workspace:/);
          const internal = published.find((p) => p.name === dep);
          // A workspace: range packs as the version it points at; an explicit range (a peer on core) stays.
          if (internal && pkg.manifest[field as "dependencies"]?.[dep]?.startsWith("workspace:")) expect(range).toBe(`^${internal.manifest.version}`);
        }
      }
    }
  });
});

describe.each<Manager>(["npm", "pnpm"])("installed from tarballs with %s", (manager) => {
  let project: UserProject;
  beforeAll(() => {
    project = UserProject.create(manager, fromTarballs(...tarballs.keys()));
  });

  it("core, the CLI and noop alone: `imagespec builders` lists noop only, and no dockerode is installed", async () => {
    await project.add(fromTarballs("@imagespec/core", "imagespec", "@imagespec/builder-noop"));
    const listed = await listBuilders(project);
    expect(listed.builders.map((b) => [b.type, b.package, b.version])).toEqual([["noop", "@imagespec/builder-noop", version("@imagespec/builder-noop")]]);
    expect(listed.failures).toEqual([]);
    expect(existsSync(project.path("node_modules", "@imagespec", "core", "package.json"))).toBe(true);
    expect(existsSync(project.path("node_modules", "dockerode"))).toBe(false);
    expect(existsSync(project.path("node_modules", "@imagespec", "docker-build"))).toBe(false);
    if (manager === "npm") {
      expect(await run("npm", ["ls", "--all", "--parseable"], { cwd: project.dir })).not.toMatch(/[\\/]dockerode$/m);
    } else {
      // pnpm: nothing in the lockfile, nothing in the virtual store.
      expect(readFileSync(project.path("pnpm-lock.yaml"), "utf8")).not.toMatch(/\bdockerode@/);
      const store = readdirSync(project.path("node_modules", ".pnpm"));
      expect(store.some((entry) => entry.startsWith("@imagespec+core@"))).toBe(true);
      expect(store.filter((entry) => /^(dockerode|docker-modem|ssh2)@/.test(entry))).toEqual([]);
    }
  });

  it("+ @imagespec/builder-docker: `imagespec builders` lists it, and it builds a real image that runs", async () => {
    await project.add(fromTarballs("@imagespec/builder-docker"));
    const listed = await listBuilders(project);
    expect(listed.builders.map((b) => [b.type, b.package, b.version])).toEqual([
      ["docker", "@imagespec/builder-docker", version("@imagespec/builder-docker")],
      ["noop", "@imagespec/builder-noop", version("@imagespec/builder-noop")],
    ]);
    expect(
      existsSync(project.path("node_modules", "dockerode")) || readdirSync(project.path("node_modules", ".pnpm")).some((e) => e.startsWith("dockerode@")),
    ).toBe(true);

    const base = process.env.IMAGESPEC_TEST_BASE_IMAGE!;
    const registry = process.env.IMAGESPEC_TEST_REGISTRY!;
    expect(base, "IMAGESPEC_TEST_BASE_IMAGE from the test environment").toBeTruthy();
    // A value new to every run, so the tag is new and the image is really built (and pushed), not found.
    const marker = `${manager}-${process.pid}-${Date.now()}`;
    await writeFile(
      project.path("images.ts"),
      [
        `import { Image } from "@imagespec/core";`,
        ``,
        `export const packed = Image.fromBase(${JSON.stringify(base)}, { registry: ${JSON.stringify(registry)}, name: "imagespec/pack-test" })`,
        `  .withEnvVars({ PACKED_WITH: ${JSON.stringify(marker)} });`,
        ``,
      ].join("\n"),
    );
    const build = await project.imagespec(["build", "images.ts", "--json"]);
    expect(build.exitCode, build.stderr).toBe(0);
    const [outcome] = JSON.parse(build.stdout) as { name: string; uri: string; builder: string; status: string; pushed: boolean }[];
    expect(outcome).toMatchObject({ name: "packed", builder: "docker", status: "built", pushed: true });
    expect(outcome!.uri.startsWith(`${registry}/imagespec/pack-test:`)).toBe(true);
    expect(await runImage(outcome!.uri, ["printenv", "PACKED_WITH"])).toBe(marker);
  });

  it("+ every other package and a third-party builder: entry points import as ESM and type-check (tsc, strict, NodeNext)", async () => {
    const rest = published
      .map((p) => p.name)
      .filter((name) => !["@imagespec/core", "imagespec", "@imagespec/builder-noop", "@imagespec/builder-docker"].includes(name));
    // @types/node: the declarations use Node's types (streams, AbortSignal), as any Node library's do.
    await project.add({ ...fromTarballs(...rest, thirdParty.name), "@types/node": "^20.19.0" });

    const listed = await listBuilders(project);
    expect(listed.builders.map((b) => b.type)).toEqual(["remote", "docker", "envd", "export", "noop"]);
    expect(listed.failures).toEqual([]);
    // Only what `files` lists is installed: no sources, no tests.
    for (const name of [...published.map((p) => p.name), thirdParty.name]) {
      const dir = project.path("node_modules", ...name.split("/"));
      expect(existsSync(path.join(dir, "dist")), name).toBe(true);
      expect(existsSync(path.join(dir, "src")), name).toBe(false);
      expect(existsSync(path.join(dir, "test")), name).toBe(false);
    }

    const specifiers = published.flatMap((p) => entryPoints(p.manifest));
    expect(specifiers.length).toBeGreaterThan(published.length);

    // ESM: each entry point imports in plain Node; a plugin entry default-exports its definePlugin() result.
    await writeFile(
      project.path("imports.mjs"),
      [
        `const out = {};`,
        `for (const specifier of ${JSON.stringify(specifiers)}) {`,
        `  const module = await import(specifier);`,
        `  out[specifier] = { exports: Object.keys(module).sort(), plugin: module.default?.name ?? null };`,
        `}`,
        `console.log(JSON.stringify(out));`,
      ].join("\n"),
    );
    const imported = JSON.parse(await project.node(["imports.mjs"])) as Record<string, { exports: string[]; plugin: string | null }>;
    for (const specifier of specifiers) {
      expect(imported[specifier]!.exports.length, specifier).toBeGreaterThan(0);
      if (specifier.endsWith("/plugin")) expect(imported[specifier]!.plugin).toBe(specifier.slice(0, -"/plugin".length));
    }

    // Types: every entry point resolves to declarations that are not `any`, and the declarations themselves
    // compile (skipLibCheck off): a type a package uses but does not depend on fails here, not in a user's project.
    const lines = [
      `type IsAny<T> = 0 extends 1 & T ? true : false;`,
      ...specifiers.map((s, i) => `import * as entry${i} from ${JSON.stringify(s)};`),
      ...specifiers.map((s, i) => `export const check${i}: [keyof typeof entry${i}] extends [never] ? "no exports in ${s}" : "ok" = "ok";`),
      `import { Image, ImageBuildEngine, loadProject } from "@imagespec/core";
import { type ImageBuilder, type ImageSpecPlugin } from "@imagespec/core/authoring";`,
      `import { createDockerBuilder } from "@imagespec/builder-docker";`,
      `import { createNoopBuilder } from "@imagespec/builder-noop";`,
      `import { renderDockerBuild, type DockerBuildPlan } from "@imagespec/docker-build";`,
      `import { type EngineConnection } from "@imagespec/docker-build/engine";`,
      `import { withUvProject } from "@imagespec/python";`,
      `import { fromNodeBase, withNodeProject } from "@imagespec/node";`,
      `import { describeBuilderConformance } from "@imagespec/testing";`,
      `import docker from "@imagespec/builder-docker/plugin";`,
      `import envd from "@imagespec/builder-envd/plugin";`,
      `import noop from "@imagespec/builder-noop/plugin";`,
      `import remote from "@imagespec/builder-remote/plugin";`,
      `import python from "@imagespec/python/plugin";`,
      `import node from "@imagespec/node/plugin";`,
      `export const plugins: readonly ImageSpecPlugin[] = [docker, envd, noop, remote, python, node];`,
      `const image: Image = Image.fromBase("python:3.12-slim").withEnvVars({ A: "1" });`,
      `const builder: ImageBuilder = createNoopBuilder();`,
      `export const engine = new ImageBuildEngine().register(builder, { priority: 0 }).register(createDockerBuilder(), { priority: 100 });`,
      `export const plan: Promise<DockerBuildPlan> = renderDockerBuild(image);`,
      `export const project = loadProject({ cwd: "." });`,
      `export const notAny: [IsAny<EngineConnection["docker"]>, IsAny<typeof withUvProject>, IsAny<typeof describeBuilderConformance>, IsAny<typeof withNodeProject>, IsAny<typeof fromNodeBase>] = [false, false, false, false, false];`,
      ``,
    ];
    await writeFile(project.path("consumer.ts"), lines.join("\n"));
    await writeFile(
      project.path("tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          lib: ["ES2023"],
          types: ["node"],
          noEmit: true,
          skipLibCheck: false,
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
    await project.node([tsc, "--noEmit", "-p", "tsconfig.json"]);
  });
});
