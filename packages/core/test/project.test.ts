import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Image, isImageSpecError, loadProject } from "../src/index.js";
import { CORE_DIR, install, writePluginPackage } from "./support/plugin-packages.js";
import { project, write } from "./support/project.js";

/** A pnpm project whose dependencies offer builders with equal and different priorities, plus broken plugins. */
let dir: string;

const localPlugin = `import { definePlugin, type ImageBuilder } from "@imagespec/core";

// TypeScript on purpose: the config file and what it imports load through jiti, without a build step.
const local = (config: Readonly<Record<string, unknown>>): ImageBuilder & { createdWith: unknown } => ({
  type: "local",
  createdWith: config,
  supports: () => true,
  build: async (_image, context) => ({ uri: context.uri, pushed: false }),
});

export default definePlugin({ specificationVersion: "v1", name: "local-plugin", builders: [{ type: "local", priority: 10, create: ({ config }) => local(config) }] });
`;

beforeAll(async () => {
  dir = project({}, "imagespec-project-");
  const vendor = (name: string) => path.join(dir, "vendor", name);
  writePluginPackage(vendor("aaa-plugin"), { name: "aaa-plugin", builders: [{ type: "zulu", priority: 10 }] });
  writePluginPackage(vendor("zzz-plugin"), { name: "zzz-plugin", builders: [{ type: "alpha", priority: 10 }] });
  writePluginPackage(vendor("high-plugin"), { name: "high-plugin", builders: [{ type: "high", priority: 50, refusesLayers: true }] });
  writePluginPackage(vendor("dup-plugin"), { name: "dup-plugin", builders: [{ type: "zulu", priority: 99 }] });
  writePluginPackage(vendor("throwing-plugin"), { name: "throwing-plugin", builders: [{ type: "explodes", priority: 70, createThrows: "no engine here" }] });
  writePluginPackage(vendor("broken-plugin"), { name: "broken-plugin", source: 'throw new Error("boom at import");\n' });
  writePluginPackage(vendor("echo-plugin"), { name: "echo-plugin", builders: [{ type: "echo", priority: 1 }] });
  const dependencies: Record<string, string> = { "@imagespec/core": `link:${CORE_DIR}` };
  for (const name of ["aaa-plugin", "zzz-plugin", "high-plugin", "dup-plugin", "throwing-plugin", "broken-plugin", "echo-plugin"])
    dependencies[name] = `file:./vendor/${name}`;
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", version: "0.0.0", private: true, type: "module", dependencies }, null, 2));
  await install(dir, "pnpm");
  write(dir, { "plugins/local.ts": localPlugin });
}, 180_000);

const plain = () => Image.fromBase("alpine:3.20", { root: dir, name: "plain" });
const layered = () => plain().withEnvVars({ A: "1" });

describe("loadProject: discovered plugins become an engine", () => {
  it("registers every discovered builder with its priority, and reports the ones it could not use", async () => {
    const p = await loadProject({ cwd: dir, configFile: false, env: {} });
    expect(p.builders.map((b) => `${b.type}:${b.priority}:${b.packageName}:${b.via}`)).toEqual([
      "high:50:high-plugin:dependency",
      "zulu:10:aaa-plugin:dependency",
      "alpha:10:zzz-plugin:dependency",
      "echo:1:echo-plugin:dependency",
    ]);
    expect(p.failures).toEqual([
      { packageName: "broken-plugin", reason: "loading ./plugin.js failed: boom at import" },
      {
        packageName: "dup-plugin",
        reason: "its zulu builder was not registered: aaa-plugin already offers the builder type zulu (the first one found is kept)",
      },
      { packageName: "throwing-plugin", reason: "creating the explodes builder failed: no engine here" },
    ]);
    expect(p.warnings).toEqual([]);
  });

  it("picks the highest priority builder that supports an image; equal priorities go to the first package by name", async () => {
    const { engine } = await loadProject({ cwd: dir, configFile: false, env: {} });
    expect(engine.select(plain()).builder.type).toBe("high");
    // high refuses layers; zulu (aaa-plugin) and alpha (zzz-plugin) tie at 10: aaa-plugin registered first.
    expect(engine.select(layered()).builder.type).toBe("zulu");
    expect(engine.builders().map((b) => `${b.builder.type}:${b.source}`)).toEqual([
      "high:high-plugin",
      "zulu:aaa-plugin",
      "alpha:zzz-plugin",
      "echo:echo-plugin",
    ]);
    // An image naming its builder gets it, whatever the priorities.
    expect(engine.select(Image.fromBase("alpine:3.20", { root: dir, builder: "echo" })).builder.type).toBe("echo");
  });
});

describe("loadProject with imagespec.config.ts", () => {
  it("adds plugins by import (TypeScript, through jiti), pins priorities, hands builders their settings, and warns about settings for no builder", async () => {
    write(dir, {
      "imagespec.config.ts": `import { defineConfig } from "@imagespec/core";
import local from "./plugins/local.ts";

export default defineConfig({
  plugins: [local],
  priorities: { alpha: 60, nothere: 5 },
  builders: { echo: { answer: 42 }, local: { mode: "fast" }, ghost: {} },
});
`,
    });
    const nested = path.join(dir, "src", "deep");
    mkdirSync(nested, { recursive: true });
    const p = await loadProject({ cwd: nested, env: {} }); // found by walking up
    expect(p.configFile).toBe(path.join(dir, "imagespec.config.ts"));
    expect(p.builders.map((b) => `${b.type}:${b.priority}:${b.via}`)).toEqual([
      "alpha:60:dependency",
      "high:50:dependency",
      "local:10:config",
      "zulu:10:dependency",
      "echo:1:dependency",
    ]);
    expect(p.engine.select(layered()).builder.type).toBe("alpha");
    const registered = (type: string) => p.engine.builders().find((b) => b.builder.type === type)!;
    expect(registered("echo").config).toEqual({ answer: 42 });
    expect((registered("echo").builder as unknown as { createdWith: unknown }).createdWith).toEqual({ answer: 42 });
    expect((registered("local").builder as unknown as { createdWith: unknown }).createdWith).toEqual({ mode: "fast" });
    expect(p.warnings).toEqual([
      "priorities.nothere in imagespec.config.ts has no effect: no plugin offers a builder of type nothere (offered: alpha, echo, explodes, high, local, zulu)",
      "builders.ghost in imagespec.config.ts has no effect: no plugin offers a builder of type ghost (offered: alpha, echo, explodes, high, local, zulu)",
    ]);
  });

  it("registers config plugins first, so they win ties with discovered ones", async () => {
    write(dir, {
      "configs/tie.ts": `import { defineConfig } from "@imagespec/core";\nimport local from "../plugins/local.ts";\nexport default defineConfig({ plugins: [local] });\n`,
    });
    const p = await loadProject({ cwd: dir, configFile: path.join(dir, "configs", "tie.ts"), env: {} });
    expect(p.engine.select(layered()).builder.type).toBe("local"); // local, zulu and alpha all at 10
  });

  it("turns discovery off: only the plugins the config imports, by path or by package name", async () => {
    write(dir, {
      "configs/no-discovery.ts": `import { defineConfig } from "@imagespec/core";
import local from "../plugins/local.ts";
import alpha from "zzz-plugin/plugin.js";

export default defineConfig({ discovery: false, plugins: [local, alpha] });
`,
    });
    const p = await loadProject({ cwd: dir, configFile: path.join(dir, "configs", "no-discovery.ts"), env: {} });
    expect(p.builders.map((b) => `${b.type}:${b.plugin}:${b.via}`)).toEqual(["local:local-plugin:config", "alpha:zzz-plugin:config"]);
    expect(p.failures).toEqual([]); // the broken dependencies are never even loaded
    expect(p.packageJson).toBeUndefined();
    expect(p.engine.select(layered()).builder.type).toBe("local");
  });

  it("loads a plugin once when the config imports one the project also depends on", async () => {
    write(dir, {
      "configs/both.mjs": `import { defineConfig } from "@imagespec/core";\nimport aaa from "aaa-plugin/plugin.js";\nexport default defineConfig({ plugins: [aaa] });\n`,
    });
    const p = await loadProject({ cwd: dir, configFile: path.join(dir, "configs", "both.mjs"), env: {} });
    expect(p.plugins.filter((l) => l.plugin.name === "aaa-plugin").map((l) => l.via)).toEqual(["config"]);
    expect(p.builders.filter((b) => b.type === "zulu").map((b) => b.via)).toEqual(["config"]);
  });

  it("fails as CONFIG_ERROR, naming the file, when the config is not valid", async () => {
    write(dir, {
      "configs/bad.ts": `import { defineConfig } from "@imagespec/core";\nexport default { plugins: ["not a plugin"], priorities: { alpha: "high" } };\n`,
    });
    const error = await loadProject({ cwd: dir, configFile: path.join(dir, "configs", "bad.ts"), env: {} }).catch((e: unknown) => e);
    expect(isImageSpecError(error) && error.code).toBe("CONFIG_ERROR");
    expect((error as Error).message).toContain(path.join(dir, "configs", "bad.ts"));
    expect((error as Error).message).toMatch(/plugins/);
    expect((error as Error).message).toMatch(/priorities/);
  });
});
