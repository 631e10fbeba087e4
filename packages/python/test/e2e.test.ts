/**
 * End to end against the real engine (scripts/test-env): a poetry project (its lock made by the real poetry of the
 * test base image), a PEP 723 script and a uv project (through `installer: "pip"`: uv cannot be downloaded here),
 * each depending on small wheels served by a PEP 503 index on 127.0.0.1, built by the docker builder through
 * core's engine with `network: host`, then run to import what was installed.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createDockerBuilder } from "@imagespec/builder-docker";
import { type BuildOutcome, Image, ImageBuildEngine } from "@imagespec/core";
import { buildWheel, docker, type PackageIndex, runImage, servePackageIndex, type TestEnv, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromUvScript, withPoetryProject, withUvProject } from "../src/index.js";
import { project, thrown } from "./support/project.js";

let env: TestEnv;
let index: PackageIndex;
let engine: ImageBuildEngine;
const wheels: Record<string, { file: string; sha256: string }> = {};
const built: string[] = [];
const timings: [string, number][] = [];

async function build(image: Image): Promise<BuildOutcome> {
  const start = Date.now();
  try {
    const outcomes = await engine.build(image, { force: true });
    const uri = await image.uri();
    const outcome = outcomes.find((o) => o.uri === uri)!;
    built.push(uri);
    return outcome;
  } finally {
    timings.push([image.name, Date.now() - start]);
  }
}

function expectBuilt(outcome: BuildOutcome): void {
  if (outcome.status !== "built") {
    const log = (outcome.error as { log?: string } | undefined)?.log ?? "";
    throw new Error(`expected ${outcome.uri} to be built, got ${outcome.status}: ${outcome.reason}\n${log.split("\n").slice(-40).join("\n")}`);
  }
}

/** Runs python in the image and returns what it prints. */
function python(uri: string, program: string): Promise<string> {
  return runImage(uri, ["-c", program], { entrypoint: "python" });
}

const IMPORT_ALL = "import json, imagespec_alpha, imagespec_beta; print(json.dumps([imagespec_alpha.VALUE, imagespec_beta.VALUE]))";

beforeAll(async () => {
  env = testEnv();
  const dir = project();
  const add = async (name: string, module: string, value: string, requires?: string[]) => {
    const file = await buildWheel(dir, {
      name,
      version: "1.0.0",
      modules: { [`${module}/__init__.py`]: `VALUE = ${JSON.stringify(value)}\n` },
      ...(requires && { requires }),
    });
    wheels[name] = { file, sha256: createHash("sha256").update(readFileSync(file)).digest("hex") };
  };
  await add("imagespec-alpha", "imagespec_alpha", "alpha", ["imagespec-beta>=1"]);
  await add("imagespec-beta", "imagespec_beta", "beta");
  await add("imagespec-gamma", "imagespec_gamma", "gamma");
  index = await servePackageIndex(Object.values(wheels).map((w) => w.file));
  engine = new ImageBuildEngine().register(createDockerBuilder({ network: "host" }), { priority: 100 });
});

afterAll(async () => {
  await index?.close();
  for (const uri of built) await docker(["image", "rm", "--force", uri]).catch(() => undefined);
  console.log(`e2e build times: ${timings.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)}s`).join(", ")}`);
});

describe("a poetry project", () => {
  let root: string;

  beforeAll(async () => {
    root = project({
      "pyproject.toml": [
        "[tool.poetry]",
        'name = "poetry-e2e"',
        'version = "0.1.0"',
        'description = "imagespec e2e"',
        'authors = ["imagespec <dev@example.com>"]',
        'packages = [{ include = "poetry_e2e" }]',
        "",
        "[tool.poetry.dependencies]",
        'python = "^3.11"',
        'imagespec-alpha = "^1.0"',
        "",
        "[tool.poetry.group.dev.dependencies]",
        'imagespec-gamma = "^1.0"',
        "",
        "[[tool.poetry.source]]",
        'name = "local"',
        `url = "${index.url}/"`,
        "default = true",
        "",
        "[build-system]",
        'requires = ["poetry-core"]',
        'build-backend = "poetry.core.masonry.api"',
        "",
      ].join("\n"),
      "poetry_e2e/__init__.py": 'NAME = "poetry-e2e"\n',
    });
    // The lock comes from the real poetry of the test base image (Debian's python3-poetry), against the local index.
    await docker([
      "run",
      "--rm",
      "--network",
      "host",
      "--volume",
      `${root}:/project`,
      "--workdir",
      "/project",
      env.baseImage,
      "poetry",
      "lock",
      "--no-interaction",
    ]);
  });

  it("accepts the lock real poetry wrote, and refuses it once pyproject.toml changes, before any build", async () => {
    expect(readFileSync(path.join(root, "poetry.lock"), "utf8")).toContain("imagespec-alpha");
    const base = Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, name: "python-e2e-poetry-stale" });
    expect(() => withPoetryProject(base)).not.toThrow();
    const other = project({
      "pyproject.toml": readFileSync(path.join(root, "pyproject.toml"), "utf8").replace(
        'imagespec-alpha = "^1.0"',
        'imagespec-alpha = "^1.0"\nimagespec-beta = "^1.0"',
      ),
      "poetry.lock": readFileSync(path.join(root, "poetry.lock"), "utf8"),
    });
    const error = await thrown(() => withPoetryProject(Image.fromBase(env.baseImage, { pythonVersion: "3.11", root: other })));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.message).toMatch(/Cannot use the poetry lock poetry\.lock: it is stale against pyproject\.toml: its content-hash/);
  });

  it("installs the locked dependencies and the project into the image's environment, without the dev group", async () => {
    const image = withPoetryProject(Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, name: "python-e2e-poetry" }), { installMode: "project" });
    const outcome = await build(image);
    expectBuilt(outcome);
    expect(JSON.parse(await python(outcome.uri, IMPORT_ALL))).toEqual(["alpha", "beta"]);
    const where = JSON.parse(
      await python(
        outcome.uri,
        "import json, sys, importlib.util as u, poetry_e2e, imagespec_alpha; print(json.dumps([sys.prefix, imagespec_alpha.__file__, poetry_e2e.NAME, u.find_spec('imagespec_gamma') is None]))",
      ),
    );
    expect(where[0]).toBe("/opt/venv");
    expect(where[1]).toMatch(/^\/opt\/venv\/lib\/python3\.11\/site-packages\//);
    expect(where[2]).toBe("poetry-e2e");
    expect(where[3]).toBe(true); // the dev group was left out
  });
});

describe("a PEP 723 script", () => {
  it("gets its dependencies from the [tool.uv] index, the Python requires-python allows, and runs", async () => {
    const root = project({
      "tool.py": [
        "#!/usr/bin/env python3",
        "# /// script",
        '# requires-python = ">=3.11"',
        '# dependencies = ["imagespec-gamma>=1", "imagespec-alpha"]',
        "# [tool.uv]",
        `# index-url = "${index.url}"`,
        "# ///",
        "import json, sys, imagespec_alpha, imagespec_beta, imagespec_gamma",
        'print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "values": [imagespec_alpha.VALUE, imagespec_beta.VALUE, imagespec_gamma.VALUE]}))',
        "",
      ].join("\r\n"),
    });
    const image = fromUvScript("tool.py", { base: env.baseImage, pythonVersion: "3.11", root, name: "python-e2e-script", installer: "pip", entrypoint: true });
    const outcome = await build(image);
    expectBuilt(outcome);
    expect(JSON.parse(await runImage(outcome.uri, []))).toEqual({ python: "3.11", values: ["alpha", "beta", "gamma"] });
    expect(index.requests).toContain("/simple/imagespec-gamma/");
  });
});

describe('a uv project through installer: "pip"', () => {
  function uvLock(hashes: Record<string, string>): string {
    const pkg = (name: string, deps: string[]) =>
      [
        "[[package]]",
        `name = "${name}"`,
        'version = "1.0.0"',
        `source = { registry = "${index.url}" }`,
        ...(deps.length ? ["dependencies = [", ...deps.map((d) => `    { name = "${d}" },`), "]"] : []),
        "wheels = [",
        `    { url = "${index.url.replace(/\/simple$/, "")}/files/${path.basename(wheels[name]!.file)}", hash = "sha256:${hashes[name]}", size = 1000 },`,
        "]",
        "",
      ].join("\n");
    return [
      "version = 1",
      "revision = 2",
      'requires-python = ">=3.11"',
      "",
      pkg("imagespec-alpha", ["imagespec-beta"]),
      pkg("imagespec-beta", []),
      "[[package]]",
      'name = "uv-e2e"',
      'version = "0.1.0"',
      'source = { editable = "." }',
      "dependencies = [",
      '    { name = "imagespec-alpha" },',
      "]",
      "",
      "[package.metadata]",
      'requires-dist = [{ name = "imagespec-alpha", specifier = ">=1" }]',
      "",
    ].join("\n");
  }

  function uvProject(hashes: Record<string, string>): string {
    return project({
      "pyproject.toml": [
        "[project]",
        'name = "uv-e2e"',
        'version = "0.1.0"',
        'requires-python = ">=3.11"',
        'dependencies = ["imagespec-alpha>=1"]',
        "",
        "[build-system]",
        'requires = ["setuptools>=61"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[tool.setuptools]",
        'packages = ["uv_e2e"]',
        "",
      ].join("\n"),
      "uv_e2e/__init__.py": 'NAME = "uv-e2e"\n',
      "uv.lock": uvLock(hashes),
    });
  }

  const realHashes = () => Object.fromEntries(Object.entries(wheels).map(([name, w]) => [name, w.sha256]));

  it("installs the lock's pinned versions, hash-checked, and the project itself, non-editable", async () => {
    const root = uvProject(realHashes());
    const image = withUvProject(Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, name: "python-e2e-uv" }), {
      installer: "pip",
      installMode: "project",
      // The project's build backend (setuptools) comes from the base image: the local index only has the test wheels.
      extraArgs: ["--no-build-isolation"],
    });
    const outcome = await build(image);
    expectBuilt(outcome);
    expect(JSON.parse(await python(outcome.uri, IMPORT_ALL))).toEqual(["alpha", "beta"]);
    const installed = JSON.parse(await python(outcome.uri, "import json, uv_e2e; print(json.dumps(uv_e2e.__file__))"));
    expect(installed).toMatch(/^\/opt\/venv\/lib\/python3\.11\/site-packages\/uv_e2e\//); // not the copy in /app: non-editable
  });

  it("fails the build when a wheel does not match the hash the lock recorded", async () => {
    const hashes = { ...realHashes(), "imagespec-beta": "0".repeat(64) };
    const root = uvProject(hashes);
    writeFileSync(path.join(root, "uv_e2e", "__init__.py"), 'NAME = "tampered"\n');
    const image = withUvProject(Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, name: "python-e2e-uv-tampered" }), { installer: "pip" });
    const outcome = await build(image);
    expect(outcome.status).toBe("failed");
    expect(String((outcome.error as { log?: string }).log ?? outcome.reason)).toMatch(/DO NOT MATCH THE HASHES|do not match the hashes/i);
  });
});
