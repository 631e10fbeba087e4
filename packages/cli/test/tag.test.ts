/** `imagespec tag`: loading modules and YAML specs, the environment's defaults, --fast, and invalid definitions. */

import { writeFileSync } from "node:fs";
import path from "node:path";
import { ImageSpec } from "@imagespec/core";
import { afterAll, describe, expect, it } from "vitest";
import { createProject } from "./support/project.js";

const IMAGES = `
import { Image, ImageSpec } from "@imagespec/core";

export const base = Image.fromBase("python:3.12-slim", { name: "base", pythonVersion: "3.12" });
export const app = Image.fromBase(base, { name: "app" }).withPipPackages("requests").withCodeBundle({ src: "src", dst: "/app" });
export const tool = new ImageSpec({ name: "tool", baseImage: "python:3.12-slim", packages: ["httpx"] });
export const pinned = Image.fromBase("python:3.12-slim", { name: "pinned", registry: "registry.example.com/team" });
export const helper = () => "not an image";
const typed: number = 1;
void typed;
`;

const SPEC_YAML = `
name: from-yaml
base_image: python:3.10-slim
python_version: 3.10
packages:
  - numpy
env:
  MODE: yaml
`;

interface TagJson {
  name: string;
  id: string;
  tag: string;
  uri: string;
}

const project = createProject({ files: { "images.ts": IMAGES, "src/main.py": "print('hello')\n", "spec.yaml": SPEC_YAML } });
afterAll(() => project.remove());

const tags = async (args: string[], env?: Record<string, string>) => {
  const { result, value } = await project.json<TagJson[]>(["tag", ...args], { env });
  expect(result.code, result.stderr).toBe(0);
  return Object.fromEntries(value.map((v) => [v.name, v]));
};

describe("tag", () => {
  it("prints the URI of every exported image, one per line, and nothing else", async () => {
    const { code, stdout, stderr } = await project.run(["tag", "images.ts"]);
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines).toContainEqual(expect.stringMatching(/^app:[a-z2-7]{26}$/));
    expect(lines).toContainEqual(expect.stringMatching(/^registry\.example\.com\/team\/pinned:[a-z2-7]{26}$/));
  });

  it("prints only the named images, in the order named", async () => {
    const { code, stdout } = await project.run(["tag", "images.ts", "tool", "base"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^tool:[a-z2-7]{26}\nbase:[a-z2-7]{26}\n$/);
  });

  it("--json: [{ name, file, id, tag, uri }], the same tags the library computes", async () => {
    const { result, value } = await project.json<TagJson[]>(["tag", "images.ts", "tool"]);
    expect(result.code).toBe(0);
    const expected = new ImageSpec({ name: "tool", baseImage: "python:3.12-slim", packages: ["httpx"], root: project.dir });
    expect(value).toEqual([{ name: "tool", file: "images.ts", id: expected.id, tag: await expected.tag(), uri: await expected.uri() }]);
  });

  it("includes the default export, once when it is also a named export", async () => {
    project.write("default-only.ts", `import { Image } from "@imagespec/core";\nexport default Image.fromBase("python:3.12-slim", { name: "dflt" });\n`);
    project.write(
      "default-named.ts",
      `import { Image } from "@imagespec/core";\nexport const named = Image.fromBase("python:3.12-slim", { name: "dflt" });\nexport default named;\n`,
    );
    expect(Object.keys(await tags(["default-only.ts"]))).toEqual(["default"]);
    expect(Object.keys(await tags(["default-named.ts"]))).toEqual(["named"]);
  });

  it("suggests the export a misspelled name meant (exit 2)", async () => {
    const { code, stderr } = await project.run(["tag", "images.ts", "ap"]);
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot find image "ap" in images.ts: did you mean app?');
  });

  it("says when a named export is not an image (exit 2)", async () => {
    const { code, stderr } = await project.run(["tag", "images.ts", "helper"]);
    expect(code).toBe(2);
    expect(stderr).toContain('export "helper" of images.ts: it is a function, not an Image or ImageSpec');
  });

  it("a missing module is exit 2 naming the file", async () => {
    const { code, stderr } = await project.run(["tag", "nope.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot load "nope.ts": no such file');
  });

  it("loads a YAML spec, with --image or as the file", async () => {
    const withFlag = await tags(["--image", "spec.yaml"]);
    const asFile = await tags(["spec.yaml"]);
    expect(Object.keys(withFlag)).toEqual(["from-yaml"]);
    expect(asFile).toEqual(withFlag);
    expect(withFlag["from-yaml"]!.uri).toMatch(/^from-yaml:[a-z2-7]{26}$/);
    const expected = new ImageSpec({
      name: "from-yaml",
      baseImage: "python:3.10-slim",
      pythonVersion: "3.10",
      packages: ["numpy"],
      env: { MODE: "yaml" },
      root: project.dir,
    });
    expect(withFlag["from-yaml"]!.tag).toBe(await expected.tag());
  });

  it("--fast changes the tag only of images with source (a code bundle)", async () => {
    const normal = await tags(["images.ts"]);
    const fast = await tags(["images.ts", "--fast"]);
    expect(fast.app!.tag).not.toBe(normal.app!.tag);
    for (const name of ["base", "tool", "pinned"]) expect(fast[name]!.tag, name).toBe(normal[name]!.tag);

    // Source changes move the normal tag, and not the fast one: in fast mode the source is shipped separately.
    writeFileSync(path.join(project.dir, "src", "main.py"), "print('changed')\n");
    try {
      const normalAfter = await tags(["images.ts"]);
      const fastAfter = await tags(["images.ts", "--fast"]);
      expect(normalAfter.app!.tag).not.toBe(normal.app!.tag);
      expect(fastAfter.app!.tag).toBe(fast.app!.tag);
    } finally {
      writeFileSync(path.join(project.dir, "src", "main.py"), "print('hello')\n");
    }
  });

  it("--platform changes the tag", async () => {
    const normal = await tags(["images.ts", "tool"]);
    const arm = await tags(["images.ts", "tool", "--platform", "linux/arm64"]);
    const both = await tags(["images.ts", "tool", "--platform", "linux/amd64,linux/arm64"]);
    expect(new Set([normal.tool!.tag, arm.tool!.tag, both.tool!.tag]).size).toBe(3);

    const { code, stderr } = await project.run(["tag", "images.ts", "--platform", "linux"]);
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot use --platform "linux"');
  });

  it("IMAGESPEC_REGISTRY is the registry of images (and their base Images) that name none; the tag stays", async () => {
    const normal = await tags(["images.ts"]);
    const registry = await tags(["images.ts"], { IMAGESPEC_REGISTRY: "127.0.0.1:5000/team" });
    for (const name of ["base", "app", "tool"]) {
      expect(registry[name]!.uri, name).toBe(`127.0.0.1:5000/team/${normal[name]!.uri}`);
      expect(registry[name]!.id).toBe(normal[name]!.id);
    }
    expect(registry.pinned!.uri).toBe(normal.pinned!.uri);
  });

  it("an invalid IMAGESPEC_REGISTRY is exit 2 naming the variable and value", async () => {
    const { code, stderr } = await project.run(["tag", "images.ts"], { env: { IMAGESPEC_REGISTRY: "https://ghcr.io/acme" } });
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot use IMAGESPEC_REGISTRY = "https://ghcr.io/acme": a registry is written without a scheme');
  });
});

describe("configuration", () => {
  const configured = createProject({
    files: {
      "imagespec.config.ts": `
        import { defineConfig } from "@imagespec/core";
        export default defineConfig({ registry: "127.0.0.1:5000/from-config", debianBaseImage: "mirror.example.com/python:{python_version}-slim" });
      `,
      "other.config.ts": `
        import { defineConfig } from "@imagespec/core";
        export default defineConfig({ registry: "127.0.0.1:5000/other" });
      `,
      "deploy/images.ts": `
        import { Image } from "@imagespec/core";
        export const debian = Image.fromDebianBase({ name: "debian", pythonVersion: "3.11" });
      `,
    },
  });
  afterAll(() => configured.remove());

  it("imagespec.config.ts is found walking up; its registry and Debian base apply", async () => {
    const cwd = path.join(configured.dir, "deploy");
    const { code, stdout, stderr } = await configured.run(["explain", "images.ts", "--json"], { cwd });
    expect(code, stderr).toBe(0);
    const explained = JSON.parse(stdout) as { uri: string; inputs: { name: string; detail?: string }[] };
    expect(explained.uri).toMatch(/^127\.0\.0\.1:5000\/from-config\/debian:/);
    expect(explained.inputs.find((i) => i.name === "base")?.detail).toBe("mirror.example.com/python:3.11-slim");
  });

  it("the environment wins over the config file", async () => {
    const cwd = path.join(configured.dir, "deploy");
    const { result, value } = await configured.json<TagJson[]>(["tag", "images.ts"], {
      cwd,
      env: { IMAGESPEC_REGISTRY: "127.0.0.1:5000/from-env", IMAGESPEC_DEBIAN_BASE_IMAGE: "127.0.0.1:5000/imagespec/python:{python_version}-slim-bookworm" },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(value[0]!.uri).toMatch(/^127\.0\.0\.1:5000\/from-env\/debian:/);
  });

  it("--config picks another file", async () => {
    const { result, value } = await configured.json<TagJson[]>(["tag", "deploy/images.ts", "--config", "other.config.ts"]);
    expect(result.code, result.stderr).toBe(0);
    expect(value[0]!.uri).toMatch(/^127\.0\.0\.1:5000\/other\/debian:/);
  });

  it("an invalid config file is exit 2 naming the field", async () => {
    configured.write("bad.config.ts", `export default { registry: "127.0.0.1:5000", priorites: { docker: 1 } };\n`);
    const { code, stderr } = await configured.run(["tag", "deploy/images.ts", "--config", "bad.config.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain("priorites");
    expect(stderr).toContain("did you mean priorities?");
  });
});

describe("invalid definitions exit 2 and name the field and the value", () => {
  const broken = createProject({
    files: {
      "bad-spec.ts": `import { ImageSpec } from "@imagespec/core";\nexport const app = new ImageSpec({ name: "app", packages: ["requests", "numpy=="] });\n`,
      "bad-yaml.yaml": "name: app\npyhton_version: 3.11\n",
      "bad-value.yaml": "name: app\napt_packages:\n  - 'curl; rm -rf /'\n",
      "syntax.ts": "export const app = ;\n",
      "empty.ts": "export const answer = 42;\n",
      "missing-file.ts": `import { Image } from "@imagespec/core";\nexport const app = Image.fromBase("python:3.12-slim").withSourceFolder("does-not-exist");\n`,
    },
  });
  afterAll(() => broken.remove());

  it("a module whose ImageSpec does not validate", async () => {
    const { result, value } = await broken.json<{ error: { code: string; field: string; value: unknown } }>(["tag", "bad-spec.ts"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('packages[1] = "numpy=="');
    expect(value.error).toMatchObject({ code: "INVALID_SPEC", field: "packages[1]", value: "numpy==" });
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("--debug adds the stack trace", async () => {
    const { code, stderr } = await broken.run(["tag", "bad-spec.ts", "--debug"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^\s+at /m);
  });

  it("a YAML spec with a misspelled field", async () => {
    const { code, stderr } = await broken.run(["tag", "--image", "bad-yaml.yaml"]);
    expect(code).toBe(2);
    expect(stderr).toContain("pyhton_version");
    expect(stderr).toContain("did you mean python_version?");
  });

  it("a YAML spec with an invalid value", async () => {
    const { code, stderr } = await broken.run(["build", "--image", "bad-value.yaml"]);
    expect(code).toBe(2);
    expect(stderr).toContain('apt_packages[0] = "curl; rm -rf /"');
  });

  it("a module that does not parse: file:line:column, what, and the line with a caret (without --debug)", async () => {
    const { code, stderr } = await broken.run(["tag", "syntax.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain("error: Cannot load syntax.ts:1:20: syntax error: Unexpected token");
    expect(stderr).toContain("1 | export const app = ;\n  |                    ^\n");
  });

  it("a module without images", async () => {
    const { code, stderr } = await broken.run(["tag", "empty.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot find images in "empty.ts": it exports no Image or ImageSpec');
  });

  it("a folder that does not exist", async () => {
    const { code, stderr } = await broken.run(["tag", "missing-file.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain("does-not-exist");
  });
});
