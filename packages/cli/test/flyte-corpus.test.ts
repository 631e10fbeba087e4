/**
 * Flyte users' definitions work unchanged. The corpus (packages/core/test/fixtures/flyte: our own equivalents of the
 * YAML and Python examples of flytekit's and flyte-sdk's ImageSpec documentation) is copied into a user's project
 * with core, the docker builder and @imagespec/python; every image loads and renders through the CLI, and five of
 * them are built on the test environment's engine, pushed to its registry and run. Builder settings that no builder
 * knows stop the CLI with exit 2, naming the setting.
 */

import { cpSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildWheel, type PackageIndex, runImage, servePackageIndex, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildReport } from "../src/commands/build.js";
import { createProject, packagesDir, type Project } from "./support/project.js";

const CORPUS = path.join(packagesDir, "core", "test", "fixtures", "flyte");
/** The index URL the corpus files name (an index URL is part of a definition, so it is fixed). */
const INDEX_PORT = 28915;
const run = Date.now().toString(36);

const YAML_FILES = [
  "imageSpec.yaml",
  "packages-apt.yaml",
  "conda.yaml",
  "python-version.yaml",
  "cuda-base.yaml",
  "extra-index.yaml",
  "platform.yaml",
  "flytekit-from-github.yaml",
  "tag-format.yaml",
  "copy.yaml",
  "source-root.yaml",
  "local-index.yaml",
  "runtime-packages.yaml",
  "builder-config.yaml",
  "uv-lock.yaml",
  "poetry-lock.yaml",
  "pip-options.yaml",
  "nested-base.yaml",
];
const MODULES: Record<string, readonly string[]> = {
  "flytekit/specs.ts": ["pandasImageSpec", "tensorflowImageSpec", "forced", "helpers", "upperCase", "withPip", "onSpecBase", "defaultBuilder"],
  "flyte-sdk/images.ts": [
    "dataScience",
    "image1",
    "image2",
    "image3",
    "image4",
    "ignoring",
    "privatePackage",
    "onPrivateBase",
    "uvProject",
    "poetryProject",
    "uvScript",
    "fromDockerfile",
    "cloned",
    "app",
  ],
};

let project: Project;
let index: PackageIndex;
let env: Record<string, string>;
const flytekit = () => path.join(project.dir, "flytekit");

beforeAll(async () => {
  for (const pkg of ["builder-docker", "python"]) {
    const plugin = path.join(packagesDir, pkg, "dist", "plugin.js");
    if (!existsSync(plugin))
      throw new Error(`Cannot run the Flyte corpus: ${plugin} does not exist. Build it first: pnpm turbo run build --filter @imagespec/${pkg}`);
  }
  project = createProject({
    dependencies: ["@imagespec/core", "@imagespec/builder-docker", "@imagespec/python"],
    files: {
      // Typed: the docker builder's settings complete in an editor (builders.docker is DockerBuilderConfig).
      "imagespec.config.ts": `import { defineConfig } from "@imagespec/core";\nexport default defineConfig({ builders: { docker: { network: "host" } } });\n`,
    },
  });
  cpSync(CORPUS, project.dir, { recursive: true });
  const wheels = mkdtempSync(path.join(tmpdir(), "i15-corpus-wheels-"));
  const wheel = await buildWheel(wheels, {
    name: "corpus-greeting",
    version: "1.0.0",
    modules: { "corpus_greeting/__init__.py": 'GREETING = "hello from the local index"\n' },
  });
  index = await servePackageIndex([wheel], { port: INDEX_PORT });
  env = {
    IMAGESPEC_DEBIAN_BASE_IMAGE: `${testEnv().registry}/imagespec/python:{python_version}-slim-bookworm`,
    IMAGESPEC_REGISTRY: `${testEnv().registry}/i15-corpus-${run}`,
  };
}, 120_000);
afterAll(async () => {
  await index?.close();
  project?.remove();
});

describe("the Flyte corpus loads and renders", () => {
  it.each(YAML_FILES)("flytekit/%s", async (file) => {
    const { code, stdout, stderr } = await project.run(["dockerfile", "--image", file], { env, cwd: flytekit() });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^FROM /m);
    expect(stderr).toMatch(/\(docker builder\)/);
    // flytekit's `registry: pingsutw` is a Docker Hub namespace, as Docker reads it: accepted, and said.
    if (file === "imageSpec.yaml")
      expect(stderr).toContain('registry "pingsutw" is a Docker Hub namespace: Docker reads "pingsutw/app" as "docker.io/pingsutw/app"');
  });

  it("covers every YAML file of the corpus", async () => {
    const { readdirSync } = await import("node:fs");
    expect(
      readdirSync(path.join(CORPUS, "flytekit"))
        .filter((f) => f.endsWith(".yaml"))
        .sort(),
    ).toEqual([...YAML_FILES].sort());
  });

  for (const [module, names] of Object.entries(MODULES)) {
    it(`${module}: every exported image`, async () => {
      const cwd = path.join(project.dir, path.dirname(module));
      const file = path.basename(module);
      const { result, value } = await project.json<{ name: string; uri: string }[]>(["tag", file], { env, cwd });
      expect(result.code, result.stderr).toBe(0);
      expect(value.map((t) => t.name).sort()).toEqual([...names].sort());
      for (const name of names) {
        const rendered = await project.run(["dockerfile", file, name], { env, cwd });
        expect(rendered.code, `${name}: ${rendered.stderr}`).toBe(0);
        expect(rendered.stdout, name).toMatch(/^FROM /m);
      }
    });
  }

  it("renders flytekit's forms as flytekit means them", async () => {
    const dockerfile = async (file: string) => {
      const { code, stdout, stderr } = await project.run(["dockerfile", "--image", file], { env, cwd: flytekit() });
      expect(code, stderr).toBe(0);
      return { stdout, stderr };
    };
    // PIP_INDEX_URL is set before pip installs; the other variables after.
    const local = (await dockerfile("local-index.yaml")).stdout.split("\n");
    const indexLine = local.findIndex((l) => l.startsWith("ENV PIP_INDEX_URL="));
    const install = local.findIndex((l) => l.includes("pip install") && l.includes("corpus-greeting"));
    expect(indexLine).toBeGreaterThan(0);
    expect(indexLine).toBeLessThan(install);
    expect(local.findIndex((l) => l.startsWith("ENV Debug="))).toBeGreaterThan(install);
    // The wrapper keeps the seeded base's command, python3, read from the registry.
    const runtime = (await dockerfile("runtime-packages.yaml")).stdout;
    expect(runtime).toContain('ENTRYPOINT ["/usr/local/bin/imagespec-entrypoint"]\nCMD ["python3"]\n');
    expect((await dockerfile("uv-lock.yaml")).stdout).toContain("uv sync --locked --no-dev --inexact --python /opt/venv/bin/python --no-install-project");
    expect((await dockerfile("flytekit-from-github.yaml")).stdout).toContain(
      "'git+https://github.com/flyteorg/flytekit.git@90a4455c2cc2b3e171dfff69f605f47d48ea1ff1#subdirectory=plugins/flytekit-spark'",
    );
    const builderConfig = await dockerfile("builder-config.yaml");
    expect(builderConfig.stderr).toContain("warning: imagespec: builderConfig.uvImage has no effect");
  });

  it("lower-cases upper-case names and registries, with a warning", async () => {
    const { result, value } = await project.json<{ name: string; uri: string }[]>(["tag", "specs.ts", "upperCase"], { env, cwd: flytekit() });
    expect(result.code, result.stderr).toBe(0);
    expect(value[0]!.uri).toMatch(/^ghcr\.io\/flyteorg\/myteam-trainer:[a-z2-7]{26}-dev$/);
    expect(result.stderr).toContain('warning: upperCase: name "MyTeam-Trainer" is used as "myteam-trainer"');
    expect(result.stderr).toContain('warning: upperCase: registry "GHCR.io/FlyteOrg" is used as "ghcr.io/flyteorg"');
  });
});

describe("five of the corpus build and run", () => {
  let reports: BuildReport[];

  beforeAll(async () => {
    const images = ["copy.yaml", "source-root.yaml", "local-index.yaml", "runtime-packages.yaml"].flatMap((f) => ["--image", f]);
    const built = await project.json<BuildReport[]>(["build", ...images], { env, cwd: flytekit() });
    expect(built.result.code, built.result.stderr).toBe(0);
    const app = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env, cwd: path.join(project.dir, "flyte-sdk") });
    expect(app.result.code, app.result.stderr).toBe(0);
    reports = [...built.value, ...app.value];
    for (const report of reports) expect(report, JSON.stringify(report)).toMatchObject({ status: "built", pushed: true });
  }, 1_200_000);

  const uri = (name: string) => reports.find((r) => r.name === name)!.uri;

  it("copy.yaml (builder: default): the copied file is in /root at its relative path", async () => {
    expect(reports.find((r) => r.name === "image_with_copy")!.builder).toBe("docker");
    expect(await runImage(uri("image_with_copy"), ["cat", "/root/files/input.txt"])).toBe("hello from files/input.txt");
  });

  it("source-root.yaml (source_copy_mode: ALL): the source root is in /root", async () => {
    expect(await runImage(uri("source-root"), ["python", "/root/workflows/hello.py"])).toBe("hello from the source root");
  });

  it("local-index.yaml: PIP_INDEX_URL in env is the index pip installed from (it was set after the install)", async () => {
    const out = await runImage(uri("local-index"), [
      "python",
      "-c",
      "import corpus_greeting, os; print(corpus_greeting.GREETING, os.environ['Debug'], os.environ['PIP_INDEX_URL'])",
    ]);
    expect(out).toBe(`hello from the local index True http://127.0.0.1:${INDEX_PORT}/simple`);
    // No other index has corpus-greeting (and PyPI is out of reach): the install used PIP_INDEX_URL. The request log
    // is not asserted: a second run takes the install step from BuildKit's cache.
  });

  it("runtime-packages.yaml: the container installs its runtime packages, then runs the base's command, python3 (it had none)", async () => {
    const out = await runImage(uri("runtime-packages"), [], {
      network: "host",
      input: "import corpus_greeting\nprint('python3 ran:', corpus_greeting.GREETING)\n",
    });
    expect(out).toBe("python3 ran: hello from the local index");
  });

  it("flyte-sdk/images.ts app: the fluent image runs its entrypoint in its working directory", async () => {
    expect(await runImage(uri("app"), [])).toBe("hello from the local index from flyte-sdk's app");
  });
});

describe("no builder setting is silently dropped", () => {
  it("imagespec.config.ts with builders.docker.netwrk exits 2, naming it and suggesting network", async () => {
    const config = path.join(project.dir, "configs", "typo.config.ts");
    project.write(
      "configs/typo.config.ts",
      `import { defineConfig } from "@imagespec/core";\nexport default defineConfig({ builders: { docker: { netwrk: "host" } } });\n`,
    );
    const { code, stderr } = await project.run(["dockerfile", "--image", "copy.yaml", "--config", config], { env, cwd: flytekit() });
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('builders.docker.netwrk = "host": is not a setting of the docker builder; did you mean network?');
  });

  it("builder_config in YAML with an unknown key exits 2, naming it (and --json carries it)", async () => {
    project.write("flytekit/typo.yml", "name: typo\nbuilder_config:\n  netwrk: host\n");
    const { code, stderr } = await project.run(["dockerfile", "--image", "typo.yml"], { env, cwd: flytekit() });
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('builderConfig.netwrk = "host": is not a setting of the docker builder; did you mean network?');
    const json = await project.json<BuildReport[] | { error: { code: string; field: string } }>(["build", "--image", "typo.yml", "--dry-run"], {
      env,
      cwd: flytekit(),
    });
    expect(json.result.code, json.result.stderr).toBe(2);
    expect(JSON.stringify(json.value)).toContain('"field":"builderConfig.netwrk"');
  });
});
