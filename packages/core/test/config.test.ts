import { mkdirSync, symlinkSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_FILE_NAMES, defineConfig, definePlugin, findConfigFile, type ImageSpecError, isImageSpecError, loadConfigFile } from "../src/index.js";
import { CORE_DIR } from "./support/plugin-packages.js";
import { project, write } from "./support/project.js";

/** A project folder whose config files can `import ... from "@imagespec/core"` (this workspace's build). */
function configProject(files: Record<string, string>): string {
  const dir = project(files, "imagespec-config-");
  mkdirSync(path.join(dir, "node_modules", "@imagespec"), { recursive: true });
  symlinkSync(CORE_DIR, path.join(dir, "node_modules", "@imagespec", "core"));
  return dir;
}

async function configError(promise: Promise<unknown>): Promise<ImageSpecError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isImageSpecError(error), `expected an ImageSpecError, got ${String(error)}`).toBe(true);
  expect((error as ImageSpecError).code).toBe("CONFIG_ERROR");
  return error as ImageSpecError;
}

describe("defineConfig", () => {
  it("returns the configuration, frozen", () => {
    const plugin = definePlugin({ specificationVersion: "v1", name: "p" });
    const config = defineConfig({
      plugins: [plugin],
      discovery: false,
      priorities: { envd: 200 },
      builders: { envd: { binary: "/opt/envd" } },
      builder: "envd",
    });
    expect(config.plugins).toEqual([plugin]);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reports every invalid field at once as CONFIG_ERROR, with a suggestion for a misspelled one", () => {
    let error: unknown;
    try {
      defineConfig({ plugins: [{ name: "looks like a plugin" }], priorities: { envd: "high" }, builder: "Docker", discovry: false } as never);
    } catch (caught) {
      error = caught;
    }
    expect(isImageSpecError(error) && error.code).toBe("CONFIG_ERROR");
    const message = (error as Error).message;
    expect(message).toMatch(/^Cannot read the imagespec configuration: 4 invalid fields:/);
    expect(message).toContain("plugins[0]");
    expect(message).toContain("expected a plugin made with definePlugin()");
    expect(message).toContain("priorities.envd");
    expect(message).toContain("builder");
    expect(message).toMatch(/discovry.*did you mean discovery\?/);
    expect((error as ImageSpecError).issues).toHaveLength(4);
  });
});

describe("findConfigFile", () => {
  it("walks up from the start folder, and prefers .ts, .mts, .js, .mjs in that order", () => {
    const dir = project({ "imagespec.config.mjs": "", "imagespec.config.ts": "", "a/b/c/.keep": "" });
    expect(findConfigFile(path.join(dir, "a", "b", "c"))).toBe(path.join(dir, "imagespec.config.ts"));
    write(dir, { "a/imagespec.config.js": "" });
    expect(findConfigFile(path.join(dir, "a", "b"))).toBe(path.join(dir, "a", "imagespec.config.js"));
    expect(CONFIG_FILE_NAMES).toEqual(["imagespec.config.ts", "imagespec.config.mts", "imagespec.config.js", "imagespec.config.mjs"]);
  });

  it("finds none where there is none", () => {
    expect(findConfigFile(project({ "src/.keep": "" }))).toBeUndefined();
  });
});

describe("loadConfigFile", () => {
  const body = `import { defineConfig, definePlugin } from "@imagespec/core";
const plugin = definePlugin({ specificationVersion: "v1", name: "inline" });
export default defineConfig({ plugins: [plugin], priorities: { envd: 200 } });
`;

  it.each(["imagespec.config.ts", "imagespec.config.mts", "imagespec.config.js", "imagespec.config.mjs"])("loads %s", async (name) => {
    const typed = name.includes(".ts") || name.includes(".mts") ? body.replace("const plugin =", "const plugin: ReturnType<typeof definePlugin> =") : body;
    const dir = configProject({ [name]: typed, "package.json": JSON.stringify({ type: "module" }) });
    const config = await loadConfigFile(path.join(dir, name));
    expect(config.plugins?.map((p) => p.name)).toEqual(["inline"]);
    expect(config.priorities).toEqual({ envd: 200 });
  });

  it("names the file when it does not exist", async () => {
    const error = await configError(loadConfigFile("/nowhere/imagespec.config.ts"));
    expect(error.message).toBe('Cannot load config "/nowhere/imagespec.config.ts": the file does not exist');
  });

  it("names the file and the problem when it cannot be loaded", async () => {
    const dir = configProject({ "syntax.ts": "export default defineConfig({ oops: \n", "throws.ts": 'throw new Error("no config for you");\n' });
    expect((await configError(loadConfigFile(path.join(dir, "syntax.ts")))).message).toMatch(/^Cannot load config ".*syntax\.ts": /);
    expect((await configError(loadConfigFile(path.join(dir, "throws.ts")))).message).toMatch(/^Cannot load config ".*throws\.ts": no config for you$/);
  });

  it("reports the fields defineConfig() rejected while the file loaded, once, naming the file", async () => {
    const dir = configProject({
      "imagespec.config.ts": `import { defineConfig } from "@imagespec/core";\nexport default defineConfig({ discovery: "no" } as never);\n`,
    });
    const error = await configError(loadConfigFile(path.join(dir, "imagespec.config.ts")));
    expect(error.message).toBe(`Cannot use config "${path.join(dir, "imagespec.config.ts")}": discovery = "no": expected a boolean`);
    expect(error.issues).toHaveLength(1);
  });

  it("validates a default export that did not go through defineConfig()", async () => {
    const dir = configProject({ "plain.mjs": 'export default { plugins: ["docker"] };\n' });
    const error = await configError(loadConfigFile(path.join(dir, "plain.mjs")));
    expect(error.message).toMatch(/^Cannot use config ".*plain\.mjs": plugins\[0\] = "docker": expected a plugin made with definePlugin\(\)/);
  });

  it("asks for a default export when there is none", async () => {
    const dir = configProject({ "named.ts": `import { defineConfig } from "@imagespec/core";\nexport const config = defineConfig({});\n` });
    const error = await configError(loadConfigFile(path.join(dir, "named.ts")));
    expect(error.message).toMatch(/it has no default export$/);
    expect(error.hint).toMatch(/export default defineConfig/);
  });
});
