/**
 * Flyte users' definitions work unchanged: flytekit's spellings in the declarative door (ImageSpec objects and YAML),
 * and no setting silently dropped (builder settings checked against the schema each builder declares).
 */

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { z } from "zod";
import { describe, expect, it } from "vitest";
import {
  definePlugin,
  Image,
  ImageBuildEngine,
  type ImageBuilder,
  type ImageSpecError,
  ImageSpec,
  isImageSpecError,
  parseImageSpecYaml,
} from "../src/index.js";
import { checkBuilderSettings, isInstallerVariable } from "../src/authoring.js";
import { CORE_DIR } from "./support/plugin-packages.js";
import { project } from "./support/project.js";

const builder = (type: string): ImageBuilder => ({ type, supports: () => true, build: async (_image, context) => ({ uri: context.uri, pushed: false }) });

const dockerSettings = z
  .object({
    network: z.enum(["default", "host", "none"]).optional(),
    micromambaImage: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .strict();
const remoteSettings = z
  .object({
    engines: z.array(z.union([z.string(), z.object({ host: z.string(), maxBuilds: z.number().optional() }).strict()])).optional(),
    network: z.string().optional(),
  })
  .strict();

function engineWithSettings(): ImageBuildEngine {
  const engine = new ImageBuildEngine({ env: {} });
  engine.register(builder("docker"), { priority: 100, settings: dockerSettings });
  engine.register(builder("remote"), { priority: 10, settings: remoteSettings });
  engine.register(builder("loose"), { priority: 1 });
  return engine;
}

function thrown(fn: () => unknown): ImageSpecError {
  try {
    fn();
  } catch (error) {
    expect(isImageSpecError(error), String(error)).toBe(true);
    return error as ImageSpecError;
  }
  throw new Error("expected an error");
}

describe("flytekit's spellings", () => {
  it("builder: default is the docker builder (it was NO_BUILDER)", () => {
    const engine = engineWithSettings();
    const spec = new ImageSpec({ builder: "default", packages: ["numpy"] });
    expect(spec.builder).toBe("docker");
    expect(engine.select(spec).builder.type).toBe("docker");
    expect(parseImageSpecYaml("builder: default\n", { root: "/tmp" }).toImage().builder).toBe("docker");
  });

  it("source_copy_mode takes ALL and NO_COPY; LOADED_MODULES copies all files, with a warning", () => {
    const root = project({ "src/app.py": "print(1)\n" });
    const all = parseImageSpecYaml("source_root: src\nsource_copy_mode: ALL\n", { root });
    expect(all.toImage().layers).toEqual([expect.objectContaining({ kind: "codeBundle", select: "all" })]);
    expect(all.warnings).toEqual([]);
    expect(new ImageSpec({ root, sourceRoot: "src", sourceCopyMode: "NO_COPY" }).toImage().layers).toEqual([]);
    const loaded = new ImageSpec({ root, sourceRoot: "src", sourceCopyMode: "LOADED_MODULES" });
    expect(loaded.fields.sourceCopyMode).toBe("all");
    expect(loaded.warnings).toEqual([expect.stringContaining('sourceCopyMode "LOADED_MODULES" copies all of sourceRoot')]);
    expect(thrown(() => new ImageSpec({ root, sourceRoot: "src", sourceCopyMode: "SOME" as never })).issues[0]).toMatchObject({
      field: "sourceCopyMode",
      value: "SOME",
    });
  });

  it("lower-cases name and registry as flytekit does, and says so (they were rejected)", async () => {
    const spec = new ImageSpec({ name: "MyTeam/Trainer", registry: "GHCR.io/Acme" });
    expect(spec.name).toBe("myteam/trainer");
    expect(spec.registry).toBe("ghcr.io/acme");
    expect(await spec.uri()).toMatch(/^ghcr\.io\/acme\/myteam\/trainer:/);
    expect(spec.warnings).toEqual([
      'name "MyTeam/Trainer" is used as "myteam/trainer": image references are lowercase (flytekit lower-cases them too); write it in lowercase to silence this warning',
      'registry "GHCR.io/Acme" is used as "ghcr.io/acme": image references are lowercase (flytekit lower-cases them too); write it in lowercase to silence this warning',
    ]);
    // Helpers keep the warnings; a base spec's come along, named.
    expect(spec.withPackages("numpy").warnings).toEqual(spec.warnings);
    expect(new ImageSpec({ baseImage: spec, packages: ["x"] }).warnings[0]).toMatch(/^baseImage: name "MyTeam\/Trainer"/);
    // Still invalid once lower-cased: reported as written.
    expect(thrown(() => new ImageSpec({ name: "My Image" })).issues[0]).toMatchObject({ field: "name", value: "My Image" });
    expect(new ImageSpec({ name: "lower" }).warnings).toEqual([]);
  });

  it("reads builder_config's snake_case keys as camelCase, and refuses both spellings of one", () => {
    const spec = parseImageSpecYaml("builder_config:\n  micromamba_image: mirror.example.com/micromamba:2\n  network: host\n", { root: "/tmp" });
    // micromambaImage changes what is built: it goes to builderOptions, which enter the tag (issue 19).
    expect(spec.toImage().builderConfig).toEqual({ network: "host" });
    expect(spec.toImage().builderOptions).toEqual({ micromambaImage: "mirror.example.com/micromamba:2" });
    const both = new ImageSpec({ builderConfig: { micromamba_image: "a", micromambaImage: "b" } });
    const error = thrown(() => engineWithSettings().select(both));
    expect(error.code).toBe("CONFIG_ERROR");
    expect(error.issues).toEqual([
      expect.objectContaining({ field: "builderConfig.micromamba_image", message: expect.stringContaining("did you mean micromambaImage?") }),
    ]);
  });

  it("installs flytekit from GitHub as its docs show: bare VCS URLs in packages (they were rejected as not PEP 508)", () => {
    const packages = [
      "git+https://github.com/flyteorg/flytekit@90a4455c2cc2b3e171dfff69f605f47d48ea1ff1",
      "git+https://github.com/flyteorg/flytekit.git@90a4455c2cc2b3e171dfff69f605f47d48ea1ff1#subdirectory=plugins/flytekit-spark",
    ];
    expect(
      new ImageSpec({ aptPackages: ["git"], packages, runtimePackages: ["https://files.example.com/x-1.0-py3-none-any.whl"] }).toImage().layers[1],
    ).toMatchObject({ packages });
    expect(thrown(() => new ImageSpec({ packages: ["git+https:// spaces"] })).issues[0]).toMatchObject({
      field: "packages[0]",
      message: "a URL requirement cannot contain spaces, newlines or NUL",
    });
  });

  it("builderConfig.uvImage has no effect without a uv.lock: a warning, and the builder never sees it", () => {
    const spec = new ImageSpec({ packages: ["numpy"], builderConfig: { uv_image: "mirror/uv:1", micromamba_image: "mirror/mm:2" } });
    expect(spec.warnings).toEqual([expect.stringContaining("builderConfig.uvImage has no effect")]);
    expect(spec.toImage().builderConfig).toEqual({});
    expect(spec.toImage().builderOptions).toEqual({ micromambaImage: "mirror/mm:2" });
    expect(engineWithSettings().select(spec).builder.type).toBe("docker");
  });
});

describe("env in effect for the installs", () => {
  it("puts the variables installers read before the installs, and the rest where it was", () => {
    const root = project({ "requirements.txt": "numpy\n" });
    const spec = new ImageSpec({
      root,
      aptPackages: ["git"],
      packages: ["pandas"],
      requirements: "requirements.txt",
      commands: ["echo hi"],
      env: {
        APP_MODE: "prod",
        PIP_INDEX_URL: "http://127.0.0.1:9/simple",
        UV_EXTRA_INDEX_URL: "http://x/simple",
        https_proxy: "http://proxy:3128",
        Debug: "True",
      },
    });
    const layers = spec.toImage().layers;
    expect(layers.map((l) => l.kind)).toEqual(["env", "aptPackages", "pipPackages", "requirements", "env", "commands"]);
    expect(layers[0]).toMatchObject({
      vars: { PIP_INDEX_URL: "http://127.0.0.1:9/simple", UV_EXTRA_INDEX_URL: "http://x/simple", https_proxy: "http://proxy:3128" },
    });
    expect(layers[4]).toMatchObject({ vars: { APP_MODE: "prod", Debug: "True" } });
    // Without installer variables, the layers (and the tag) are what they always were.
    const plain = new ImageSpec({ root, packages: ["pandas"], env: { APP_MODE: "prod" } }).toImage();
    expect(plain.layers.map((l) => l.kind)).toEqual(["pipPackages", "env"]);
  });

  it("knows the installers' variables", () => {
    for (const name of [
      "PIP_INDEX_URL",
      "PIP_EXTRA_INDEX_URL",
      "UV_INDEX_URL",
      "POETRY_HTTP_BASIC_X_PASSWORD",
      "CONDA_CHANNELS",
      "HTTPS_PROXY",
      "no_proxy",
      "SSL_CERT_FILE",
    ]) {
      expect(isInstallerVariable(name), name).toBe(true);
    }
    for (const name of ["PATH", "PIPELINE", "APP_PIP_INDEX", "Https_Proxy", "DEBUG"]) expect(isInstallerVariable(name), name).toBe(false);
  });
});

describe("requirements: uv.lock / poetry.lock", () => {
  it("is accepted by the schema (it was rejected as not .txt), other files still are not", () => {
    expect(() => new ImageSpec({ requirements: "uv.lock" })).not.toThrow();
    expect(() => new ImageSpec({ requirements: "deps/poetry.lock" })).not.toThrow();
    expect(thrown(() => new ImageSpec({ requirements: "requirements.in" })).issues[0]).toMatchObject({
      field: "requirements",
      message: "a requirements file is a .txt file, a uv.lock or a poetry.lock",
    });
  });

  it("is a PLUGIN_ERROR naming the package to install when @imagespec/python cannot be found", async () => {
    const root = project({ "uv.lock": "version = 1\n", "pyproject.toml": "[project]\nname='x'\n" });
    // A process of its own: pnpm's NODE_PATH (set for this test run) would find the workspace's @imagespec/python.
    const { NODE_PATH: _, ...env } = process.env;
    const script = `import { ImageSpec } from ${JSON.stringify(pathToFileURL(path.join(CORE_DIR, "dist", "index.js")).href)};
try { new ImageSpec({ root: ${JSON.stringify(root)}, requirements: "uv.lock" }).toImage(); } catch (e) { console.log(JSON.stringify(e)); }`;
    const { stdout } = await execa("node", ["--input-type=module", "-e", script], { env, extendEnv: false });
    const error = JSON.parse(stdout) as { code: string; message: string; hint: string };
    expect(error.code, error.message).toBe("PLUGIN_ERROR");
    expect(error.message).toBe(
      `Cannot install requirements from uv.lock: @imagespec/python, which turns it into layers, is not installed in the project at ${root}`,
    );
    expect(error.hint).toContain("npm install @imagespec/python");
  });

  it("becomes the layers of the plugin that handles the file, found from the spec's root", () => {
    const root = project({ "deps/uv.lock": "version = 1\n", "deps/pyproject.toml": "[project]\nname='x'\n" });
    const pkg = path.join(root, "node_modules", "@imagespec", "python");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      path.join(pkg, "package.json"),
      JSON.stringify({ name: "@imagespec/python", version: "9.9.9", type: "module", imagespec: { plugin: "./plugin.js" } }),
    );
    // A stand-in written without importing core (the test project has none): the Symbol.for marker makes it a plugin.
    writeFileSync(
      path.join(pkg, "plugin.js"),
      `const plugin = { specificationVersion: "v1", name: "@imagespec/python", builders: [], requirementsFiles: [{ fileName: "uv.lock", apply: (image, o) => image.withEnvVars({ LOCK: o.file, INDEX: o.pip.extraArgs?.join(" ") ?? "", UV: String(o.builderConfig.uvImage) }) }] };
Object.defineProperty(plugin, Symbol.for("imagespec.plugin"), { value: true });
export default plugin;
`,
    );
    const spec = new ImageSpec({
      root,
      packages: ["numpy"],
      requirements: "deps/uv.lock",
      pipExtraArgs: "--no-cache",
      builderConfig: { uv_image: "mirror/uv:1", network: "host" },
    });
    expect(spec.warnings).toEqual([]);
    const image = spec.toImage();
    expect(image.layers.map((l) => l.kind)).toEqual(["pipPackages", "env"]);
    expect(image.layers[1]).toMatchObject({ vars: { LOCK: "deps/uv.lock", INDEX: "--no-cache", UV: "mirror/uv:1" } });
    expect(image.builderConfig).toEqual({ network: "host" });
    // A plugin from a real definePlugin carries the handler too.
    expect(
      definePlugin({ specificationVersion: "v1", name: "p", requirementsFiles: [{ fileName: "x.lock", apply: (i) => i }] }).requirementsFiles.map(
        (h) => h.fileName,
      ),
    ).toEqual(["x.lock"]);
  });
});

describe("builder settings are checked, never silently dropped", () => {
  it("an image's builderConfig: unknown flat keys against the chosen builder, with a suggestion", () => {
    const engine = engineWithSettings();
    const spec = new ImageSpec({ builderConfig: { netwrk: "host" } });
    const error = thrown(() => engine.select(spec));
    expect(error.code).toBe("CONFIG_ERROR");
    expect(error.field).toBe("builderConfig.netwrk");
    expect(error.message).toBe(
      'Cannot build imagespec with the docker builder: builderConfig.netwrk = "host": is not a setting of the docker builder; did you mean network?',
    );
    // Existence checks and builds select the same way, before anything is built.
    return expect(engine.build(spec, { dryRun: true })).rejects.toMatchObject({ code: "CONFIG_ERROR" });
  });

  it("sections against their own builder's settings, chosen or not; a misspelled section suggests the builder type", () => {
    const engine = engineWithSettings();
    const error = thrown(() =>
      engine.select(
        new ImageSpec({
          builderConfig: { remote: { engins: ["tcp://a:2376"], engines: [{ host: "tcp://b:2376", maxbuilds: 2 }] }, dokcer: { network: "host" } },
        }),
      ),
    );
    expect(error.issues.map((i) => [i.field, i.message]).sort()).toEqual([
      ["builderConfig.dokcer", "is not a setting of the docker builder; did you mean the docker section?"],
      ["builderConfig.remote.engines[0].maxbuilds", "is not known here; did you mean maxBuilds?"],
      ["builderConfig.remote.engins", "is not a setting of the remote builder; did you mean engines?"],
    ]);
    expect(thrown(() => engine.select(new ImageSpec({ builderConfig: { docker: { network: "hots" } } }))).issues[0]).toMatchObject({
      field: "builderConfig.docker.network",
      value: "hots",
    });
  });

  it("accepts what the builders declare, and leaves builders that declare nothing alone", () => {
    const engine = engineWithSettings();
    const ok = Image.fromBase("alpine:3", { builderConfig: { network: "host", remote: { engines: ["tcp://a:2376"] } } });
    const selected = engine.select(ok);
    expect(engine.configFor(ok, selected)).toEqual({ network: "host" });
    expect(engine.select(Image.fromBase("alpine:3", { builder: "loose", builderConfig: { whatever: 1 } })).builder.type).toBe("loose");
  });

  it("checkBuilderSettings names the full path and suggests nested keys", () => {
    expect(checkBuilderSettings(remoteSettings, { engines: [{ hots: "x" }] }, { type: "remote", at: "builders.remote" })).toEqual([
      { field: "builders.remote.engines[0].host", value: undefined, message: "is required (a string)" },
      { field: "builders.remote.engines[0].hots", value: "x", message: "is not known here; did you mean host?" },
    ]);
  });
});
