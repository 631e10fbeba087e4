/**
 * `requirements: uv.lock` / `poetry.lock` in an ImageSpec (and its YAML), as flytekit accepts them: core finds this
 * package's plugin from the spec's root and the lock becomes the same layer the fluent API adds, so the two doors
 * give one image and one tag. The project here has this package in its node_modules, as a user's project would.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createDockerBuilder } from "@imagespec/builder-docker";
import { Image, ImageSpec, parseImageSpecYaml } from "@imagespec/core";
import { isImageSpecError } from "@imagespec/core/authoring";
import { beforeAll, describe, expect, it } from "vitest";
import { withPoetryProject, withUvProject } from "../src/index.js";
import { instructions, project, runScript } from "./support/project.js";

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A user's project folder with the fixture's files in `sub` and @imagespec/python installed (linked). */
function userProject(fixture: string, sub = "."): string {
  const root = project({}, undefined);
  const target = path.join(root, sub);
  mkdirSync(target, { recursive: true });
  const copy = project({}, fixture);
  for (const file of ["pyproject.toml", fixture.startsWith("uv") ? "uv.lock" : "poetry.lock"]) {
    mkdirSync(target, { recursive: true });
    // Copied, not linked: a link that leads out of the root is refused (issue 19), as it would be in a user's project.
    copyFileSync(path.join(copy, file), path.join(target, file));
  }
  mkdirSync(path.join(root, "node_modules", "@imagespec"), { recursive: true });
  symlinkSync(PACKAGE_DIR, path.join(root, "node_modules", "@imagespec", "python"), "dir");
  return root;
}

const render = async (image: Image) =>
  (await createDockerBuilder().render!(image, { identity: await image.identity(), baseUri: undefined, config: {} })).content;

beforeAll(() => {
  process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = "127.0.0.1:5000/imagespec/python:{python_version}-slim-bookworm";
});

describe("requirements: uv.lock", () => {
  it("is the uv project layer of the lock's folder, dependencies only, as withUvProject writes it (one tag)", async () => {
    const root = userProject("uv-project", "deps");
    const spec = new ImageSpec({ root, pythonVersion: "3.11", packages: ["attrs"], requirements: "deps/uv.lock" });
    const fluent = withUvProject(Image.fromDebianBase({ root, pythonVersion: "3.11" }).withPipPackages("attrs"), { pyproject: "deps/pyproject.toml" });
    expect(spec.toImage().layers.map((l) => l.kind)).toEqual(["pipPackages", "uvProject"]);
    expect(spec.toImage().layers[1]).toMatchObject({ pyproject: "deps/pyproject.toml", lock: "deps/uv.lock", installMode: "dependencies" });
    expect(spec.id).toBe(fluent.id);
    expect(await spec.uri()).toBe(await fluent.uri());
    const run = instructions(await render(spec.toImage())).filter((l) => l.includes("uv sync"));
    expect(runScript(run[0]!)).toContain("/tmp/imagespec/bin/uv sync --locked --no-dev --inexact --python /opt/venv/bin/python --no-install-project");
  });

  it("loads from YAML the way flytekit users write it, with builder_config.uv_image as where uv comes from", async () => {
    const root = userProject("uv-project");
    const spec = parseImageSpecYaml(
      "python_version: 3.11\nrequirements: uv.lock\npip_extra_args: --no-cache\nbuilder_config:\n  uv_image: mirror.example.com/uv:0.8.13\n",
      { root },
    );
    expect(spec.warnings).toEqual([]);
    const image = spec.toImage();
    expect(image.layers[0]).toMatchObject({ kind: "uvProject", uvImage: "mirror.example.com/uv:0.8.13", extraArgs: ["--no-cache"] });
    expect(image.builderConfig).toEqual({});
    const text = await render(image);
    expect(text.split("\n")[0]).toBe("FROM mirror.example.com/uv:0.8.13 AS imagespec-stage-0");
  });

  it("refuses pip index options, which uv would not use for a lock", () => {
    const root = userProject("uv-project");
    let error: unknown;
    try {
      new ImageSpec({ root, pythonVersion: "3.11", requirements: "uv.lock", pipIndex: "https://pypi.example.com/simple" }).toImage();
    } catch (e) {
      error = e;
    }
    expect(isImageSpecError(error) && error.code).toBe("INVALID_SPEC");
    expect((error as Error).message).toBe(
      "Cannot install requirements from uv.lock: pipIndex has no effect there: uv installs what uv.lock records, from the indexes it records them from",
    );
  });
});

describe("requirements: poetry.lock", () => {
  it("is the poetry project layer, dependencies only (poetry install --no-root), as withPoetryProject writes it", async () => {
    const root = userProject("poetry-project");
    const spec = parseImageSpecYaml("python_version: 3.11\nrequirements: poetry.lock\n", { root });
    const fluent = withPoetryProject(Image.fromDebianBase({ root, pythonVersion: "3.11" }));
    expect(spec.toImage().layers).toEqual([expect.objectContaining({ kind: "poetryProject", lock: "poetry.lock", installMode: "dependencies" })]);
    expect(await spec.uri()).toBe(await fluent.uri());
    expect(await render(spec.toImage())).toContain("install --no-ansi --no-interaction");
  });

  it("checks the lock against pyproject.toml when the spec compiles, as the fluent API does", () => {
    const root = userProject("poetry-project");
    const stale = path.join(root, "pyproject.toml");
    // Replace the link with a changed pyproject.toml: the lock's content-hash no longer matches.
    const text = readFileSync(stale, "utf8");
    rmSync(stale);
    writeFileSync(stale, text.replace('requests = "^2.31"', 'requests = "^2.32"'));
    expect(() => new ImageSpec({ root, pythonVersion: "3.11", requirements: "poetry.lock" }).toImage()).toThrow(/stale/);
  });
});
