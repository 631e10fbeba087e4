import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  Image,
  ImageSpec,
  type ImageSpecError,
  type ImageSpecFields,
  isImageSpecError,
  loadImageSpecFile,
  parseImageSpecYaml,
  SPEC_FIELDS,
} from "../src/index.js";
import { splitArgs } from "../src/spec.js";
import { project } from "./support/project.js";

function rejection(fields: unknown): ImageSpecError {
  try {
    new ImageSpec(fields as ImageSpecFields);
  } catch (error) {
    expect(isImageSpecError(error)).toBe(true);
    return error as ImageSpecError;
  }
  throw new Error("expected new ImageSpec to throw");
}

describe("ImageSpec fields", () => {
  it("has every field of the flat spec", () => {
    expect([...SPEC_FIELDS].sort()).toEqual(
      [
        "name",
        "registry",
        "tagFormat",
        "pythonVersion",
        "pythonExec",
        "packages",
        "requirements",
        "condaPackages",
        "condaChannels",
        "aptPackages",
        "baseImage",
        "builder",
        "sourceRoot",
        "sourceCopyMode",
        "copy",
        "env",
        "commands",
        "entrypoint",
        "cuda",
        "cudnn",
        "platform",
        "pipIndex",
        "pipExtraIndexUrl",
        "pipSecretMounts",
        "pipExtraArgs",
        "runtimePackages",
        "builderOptions",
        "builderConfig",
        "registryConfig",
        "forcePush",
        "root",
      ].sort(),
    );
  });

  it("compiles every field into layers in the fixed, cache-friendly order", () => {
    const root = project({ "requirements.txt": "numpy\n", "conf/app.toml": "x", "data.csv": "1", "src/app.py": "" });
    const spec = new ImageSpec({
      root,
      name: "full",
      registry: "ghcr.io/acme",
      tagFormat: "v1-{spec_hash}",
      pythonVersion: "3.11",
      pythonExec: "/usr/bin/python3",
      commands: ["echo one", "echo two"],
      env: { MODE: "prod" },
      copy: ["conf", "data.csv"],
      sourceRoot: "src",
      requirements: "requirements.txt",
      packages: ["pandas<2,>=1.5"],
      condaPackages: ["numpy"],
      condaChannels: ["conda-forge"],
      aptPackages: ["git"],
      cuda: "12.4.1",
      cudnn: "9",
      runtimePackages: ["rich"],
      entrypoint: ["python", "-m", "app"],
      platform: "linux/amd64,linux/arm64",
      pipIndex: "https://pypi.example.com/simple",
      pipExtraIndexUrl: ["https://extra.example.com/simple"],
      pipSecretMounts: [["/home/me/.netrc", "/root/.netrc"], "PIP_TOKEN"],
      pipExtraArgs: "--no-deps --retries 3",
      builder: "docker",
      builderOptions: { stage: 1 },
      builderConfig: { network: "host" },
      registryConfig: "/home/me/.docker/config.json",
    });
    const image = spec.toImage();
    expect(image.layers.map((l) => l.kind)).toEqual([
      "cuda",
      "aptPackages",
      "condaPackages",
      "pipPackages",
      "requirements",
      "copy",
      "copy",
      "codeBundle",
      "env",
      "commands",
      "runtimePackages",
      "entrypoint",
    ]);
    const pip = {
      indexUrl: "https://pypi.example.com/simple",
      extraIndexUrls: ["https://extra.example.com/simple"],
      extraArgs: ["--no-deps", "--retries", "3"],
    };
    expect(image.layers[3]).toMatchObject({ packages: ["pandas<2,>=1.5"], ...pip });
    expect(image.layers[4]).toMatchObject({ file: "requirements.txt", ...pip });
    expect(image.layers[3]!.secretMounts).toEqual([
      { id: "netrc", src: "/home/me/.netrc", target: "/root/.netrc" },
      { id: "PIP_TOKEN", env: "PIP_TOKEN" },
    ]);
    expect(image.layers[5]).toMatchObject({ src: "conf", dst: "/root/conf", type: "auto" });
    expect(image.layers[7]).toMatchObject({ src: "src", dst: "/root", select: "all" });
    expect(image.layers[2]).toMatchObject({ channels: ["conda-forge"] });
    expect(image.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(image).toMatchObject({
      name: "full",
      registry: "ghcr.io/acme",
      tagFormat: "v1-{spec_hash}",
      pythonVersion: "3.11",
      pythonExec: "/usr/bin/python3",
      builder: "docker",
      builderOptions: { stage: 1 },
      builderConfig: { network: "host" },
      registryConfig: "/home/me/.docker/config.json",
      root,
    });
    expect(image.base).toMatchObject({ type: "debian", pythonVersion: "3.11" });
  });

  it("is the same Image as the fluent API writes it", async () => {
    const root = project({ "requirements.txt": "numpy\n" });
    const spec = new ImageSpec({
      root,
      pythonVersion: "3.11",
      aptPackages: ["git"],
      packages: ["numpy"],
      requirements: "requirements.txt",
      env: { A: "1" },
      commands: ["echo hi"],
    });
    const fluent = Image.fromDebianBase({ root, pythonVersion: "3.11" })
      .withAptPackages("git")
      .withPipPackages("numpy")
      .withRequirements("requirements.txt")
      .withEnvVars({ A: "1" })
      .withCommands(["echo hi"]);
    expect(spec.id).toBe(fluent.id);
    expect(await spec.uri()).toBe(await fluent.uri());
  });

  it("takes another spec or Image as its base, built first", () => {
    const parent = new ImageSpec({ name: "parent", aptPackages: ["git"] });
    const child = new ImageSpec({ name: "child", baseImage: parent, packages: ["numpy"] });
    const image = child.toImage();
    expect(image.base.type).toBe("image");
    expect(image.base.type === "image" && image.base.image).toBe(parent.toImage());
    const fromImage = new ImageSpec({ baseImage: Image.fromBase("ubuntu:24.04") }).toImage();
    expect(fromImage.base.type).toBe("image");
    expect(new ImageSpec({ baseImage: "ubuntu:24.04" }).toImage().base).toEqual({ type: "uri", uri: "ubuntu:24.04" });
  });

  it("sourceCopyMode none copies nothing; tracked selects git files", () => {
    expect(new ImageSpec({ sourceRoot: ".", sourceCopyMode: "none" }).toImage().layers).toEqual([]);
    expect(new ImageSpec({ sourceRoot: ".", sourceCopyMode: "tracked" }).toImage().layers[0]).toMatchObject({ kind: "codeBundle", select: "tracked" });
  });

  it("an empty entrypoint removes the base's", () => {
    expect(new ImageSpec({ entrypoint: [] }).toImage().layers[0]).toMatchObject({ kind: "entrypoint", command: [] });
  });

  it.each<[string, Record<string, unknown>, string, unknown]>([
    ["name", { name: "Bad Name" }, "name", "Bad Name"],
    ["registry", { registry: "http://x" }, "registry", "http://x"],
    ["tagFormat", { tagFormat: "latest" }, "tagFormat", "latest"],
    ["pythonVersion", { pythonVersion: "3.1.2.3" }, "pythonVersion", "3.1.2.3"],
    ["pythonVersion number", { pythonVersion: 3.1 }, "pythonVersion", 3.1],
    ["packages", { packages: ["ok", "not ok"] }, "packages[1]", "not ok"],
    ["requirements", { requirements: "reqs.in" }, "requirements", "reqs.in"],
    ["condaPackages", { condaPackages: ["a;b"] }, "condaPackages[0]", "a;b"],
    ["condaChannels", { condaPackages: ["a"], condaChannels: ["x y"] }, "condaChannels[0]", "x y"],
    ["condaChannels alone", { condaChannels: ["conda-forge"] }, "condaChannels", ["conda-forge"]],
    ["aptPackages", { aptPackages: ["UPPER"] }, "aptPackages[0]", "UPPER"],
    ["baseImage", { baseImage: "Not Valid" }, "baseImage", "Not Valid"],
    ["baseImage type", { baseImage: 42 }, "baseImage", 42],
    ["builder", { builder: "Docker!" }, "builder", "Docker!"],
    ["sourceCopyMode", { sourceRoot: ".", sourceCopyMode: "some" }, "sourceCopyMode", "some"],
    ["sourceCopyMode without root", { sourceCopyMode: "all" }, "sourceCopyMode", "all"],
    ["copy absolute", { copy: ["/etc/passwd"] }, "copy[0]", "/etc/passwd"],
    ["copy parent", { copy: ["src/../../x"] }, "copy[0]", "src/../../x"],
    ["env name", { env: { "1X": "a" } }, 'env["1X"]', "1X"],
    ["env value", { env: { X: 1 } }, "env.X", 1],
    ["commands", { commands: [""] }, "commands[0]", ""],
    ["entrypoint", { entrypoint: "python app.py" }, "entrypoint", "python app.py"],
    ["cuda", { cuda: "latest" }, "cuda", "latest"],
    ["cudnn without cuda", { cudnn: "9" }, "cudnn", "9"],
    ["platform", { platform: "linux/amd64,linux/x86_64" }, "platform", "linux/amd64,linux/x86_64"],
    ["pipIndex", { packages: ["a"], pipIndex: "pypi" }, "pipIndex", "pypi"],
    ["pipIndex without packages", { pipIndex: "https://pypi.org/simple" }, "pipIndex", "https://pypi.org/simple"],
    ["pipExtraIndexUrl", { packages: ["a"], pipExtraIndexUrl: ["nope"] }, "pipExtraIndexUrl[0]", "nope"],
    ["pipSecretMounts", { packages: ["a"], pipSecretMounts: [{ id: "x y" }] }, "pipSecretMounts[0].id", "x y"],
    ["pipExtraArgs", { packages: ["a"], pipExtraArgs: "--x 'unclosed" }, "pipExtraArgs", "--x 'unclosed"],
    ["runtimePackages", { runtimePackages: ["$(id)"] }, "runtimePackages[0]", "$(id)"],
    ["builderOptions", { builderOptions: "x" }, "builderOptions", "x"],
    ["forcePush", { forcePush: "yes" }, "forcePush", "yes"],
    ["unknown field", { pythonVerison: "3.12" }, "pythonVerison", "3.12"],
  ])("rejects a bad %s, naming the field and the value", (_what, fields, field, value) => {
    const error = rejection(fields);
    expect(error.code).toBe("INVALID_SPEC");
    const issue = error.issues.find((i) => i.field === field);
    expect(issue, `issues: ${JSON.stringify(error.issues)}`).toBeDefined();
    expect(issue?.value).toEqual(value);
    expect(error.message).toContain("Cannot create ImageSpec");
  });

  it("reports every problem at once", () => {
    const error = rejection({ name: "A B", packages: ["x>>1"], aptPackages: ["B"], platform: "linux/x86_64" });
    expect(error.issues.map((i) => i.field).sort()).toEqual(["aptPackages[0]", "name", "packages[0]", "platform"]);
    expect(error.message).toContain("4 invalid fields");
  });

  it("suggests the field a typo meant", () => {
    expect(rejection({ pythonVerison: "3.12" }).message).toContain("did you mean pythonVersion?");
  });
});

describe("ImageSpec helpers", () => {
  it("return new specs with the additions, leaving the original as it was", () => {
    const spec = new ImageSpec({ packages: ["numpy"] });
    const more = spec
      .withPackages("pandas")
      .withAptPackages("git")
      .withCommands("echo 1", "echo 2")
      .withCopy("README.md")
      .withRuntimePackages("rich")
      .withBuilderOptions({ a: 1 })
      .withBuilderOptions({ b: 2 })
      .forcePush();
    expect(spec.fields).toEqual({ packages: ["numpy"] });
    expect(more.fields).toMatchObject({
      packages: ["numpy", "pandas"],
      aptPackages: ["git"],
      commands: ["echo 1", "echo 2"],
      copy: ["README.md"],
      runtimePackages: ["rich"],
      builderOptions: { a: 1, b: 2 },
      forcePush: true,
    });
    expect(more.toImage().forcePushRequested).toBe(true);
    expect(Object.isFrozen(more.fields)).toBe(true);
    expect(Object.isFrozen(more.fields.packages)).toBe(true);
  });

  it("validates additions like construction does", () => {
    expect(() => new ImageSpec().withPackages("bad pkg")).toThrow(/packages\[0\] = "bad pkg"/);
  });
});

describe("ImageSpec.fromEnv", () => {
  function fakePython(version: string, packages: Record<string, string>): string {
    const dir = project();
    const file = path.join(dir, "python3");
    writeFileSync(
      file,
      `#!/bin/sh
# Answers the version/metadata probe like a real interpreter would.
out='{"version": "${version}", "packages": {'
sep=''
shift 2
for name in "$@"; do
  case "$name" in
${Object.entries(packages)
  .map(([n, v]) => `    ${n}) out="$out$sep\\"$name\\": \\"${v}\\"" ;;`)
  .join("\n")}
    *) out="$out$sep\\"$name\\": null" ;;
  esac
  sep=', '
done
echo "$out}}"
`,
    );
    chmodSync(file, 0o755);
    return file;
  }

  it("pins packages to what the local environment has, with its Python version", async () => {
    const python = fakePython("3.11", { pandas: "2.2.3", numpy: "1.26.4" });
    const spec = await ImageSpec.fromEnv({ python, pinnedPackages: ["pandas", "numpy"], packages: ["rich"], name: "env" });
    expect(spec.fields.pythonVersion).toBe("3.11");
    expect(spec.fields.packages).toEqual(["rich", "pandas==2.2.3", "numpy==1.26.4"]);
    expect(spec.name).toBe("env");
  });

  it("names packages that are not installed", async () => {
    const python = fakePython("3.11", {});
    await expect(ImageSpec.fromEnv({ python, pinnedPackages: ["missingpkg"] })).rejects.toMatchObject({
      code: "ENVIRONMENT",
      message: expect.stringContaining("missingpkg"),
    });
  });

  it("works against the machine's real python3", async () => {
    const spec = await ImageSpec.fromEnv({ pinnedPackages: ["pip"] });
    expect(spec.fields.pythonVersion).toMatch(/^3\.\d+$/);
    expect(spec.fields.packages?.[0]).toMatch(/^pip==\d+/);
  });

  it("explains a missing interpreter", async () => {
    await expect(ImageSpec.fromEnv({ python: "/nonexistent/python3" })).rejects.toMatchObject({
      code: "ENVIRONMENT",
      hint: expect.stringContaining("IMAGESPEC_PYTHON"),
    });
  });
});

describe("YAML specs", () => {
  it("keeps 3.10 as 3.10 and accepts the snake_case Flyte users write", () => {
    const dir = project({ "reqs/requirements.txt": "numpy\n" });
    const spec = parseImageSpecYaml(
      [
        "name: flyte-app",
        "python_version: 3.10",
        "cuda: 12.0",
        "cudnn: 8",
        "apt_packages: [git, curl]",
        "packages:",
        "  - pandas<2,>=1.5",
        "requirements: reqs/requirements.txt",
        "pip_extra_index_url: https://extra.example.com/simple",
        "env:",
        "  VERSION: 1.10",
        "source_copy_mode: all",
        "source_root: .",
        "force_push: true",
        "builder_options:",
        "  retries: 3",
      ].join("\n"),
      { root: dir },
    );
    expect(spec.fields).toMatchObject({
      name: "flyte-app",
      pythonVersion: "3.10",
      cuda: "12.0",
      cudnn: "8",
      aptPackages: ["git", "curl"],
      packages: ["pandas<2,>=1.5"],
      pipExtraIndexUrl: ["https://extra.example.com/simple"],
      env: { VERSION: "1.10" },
      forcePush: true,
      builderOptions: { retries: 3 },
      root: dir,
    });
    // Relative paths are relative to the YAML file's folder.
    expect(spec.toImage().root).toBe(dir);
    expect(spec.toImage().validate()).toBeTruthy();
  });

  it("accepts camelCase, and a nested base spec", () => {
    const spec = parseImageSpecYaml("pythonVersion: '3.12'\nbaseImage:\n  name: base\n  aptPackages: [git]\npackages: [numpy]\n", { root: "/tmp" });
    const image = spec.toImage();
    expect(image.base.type).toBe("image");
    expect(image.base.type === "image" && image.base.image.name).toBe("base");
  });

  it("loads from a file, relative to its folder", async () => {
    const dir = project({ "specs/spec.yaml": "name: from-file\nrequirements: ../requirements.txt\n", "requirements.txt": "rich\n" });
    const spec = await loadImageSpecFile(path.join(dir, "specs/spec.yaml"));
    expect(spec.toImage().root).toBe(path.join(dir, "specs"));
    expect(spec.toImage().layers[0]).toMatchObject({ kind: "requirements", file: "../requirements.txt" });
    expect(await spec.tag()).toMatch(/^[a-z2-7]{26}$/);
  });

  it("names unknown keys with a suggestion in the user's style", () => {
    expect(() => parseImageSpecYaml("python_verison: '3.12'\n", { root: "/" })).toThrow(/python_verison.*did you mean python_version\?/);
    expect(() => parseImageSpecYaml("aptPackage: [git]\n", { root: "/" })).toThrow(/did you mean aptPackages\?/);
  });

  it("reports unknown keys and bad values together, in the style the file uses", () => {
    try {
      parseImageSpecYaml("python_verison: '3.12'\napt_packages: [git, 'Not Valid']\n", { root: "/" });
      throw new Error("expected a throw");
    } catch (error) {
      const e = error as ImageSpecError;
      expect(e.issues.map((i) => i.field)).toEqual(["python_verison", "apt_packages[1]"]);
      expect(e.message).toContain("2 invalid fields");
    }
  });

  it("refuses the same field written twice in two styles", () => {
    expect(() => parseImageSpecYaml("python_version: '3.12'\npythonVersion: '3.11'\n", { root: "/" })).toThrow(/same field as python_version/);
  });

  it("reports invalid values with the field path from the schema", () => {
    try {
      parseImageSpecYaml("apt_packages: [git, 'Not Valid']\nplatform: linux/x86_64\n", { root: "/" });
      throw new Error("expected a throw");
    } catch (error) {
      const e = error as ImageSpecError;
      expect(e.code).toBe("INVALID_SPEC");
      expect(e.issues.map((i) => i.field).sort()).toEqual(["apt_packages[1]", "platform"]);
      expect(e.message).toMatch(/^Cannot load image spec YAML/);
    }
  });

  it("explains YAML syntax errors and non-mapping documents", async () => {
    expect(() => parseImageSpecYaml("name: [unclosed\n", { root: "/", source: "bad.yaml" })).toThrow(/Cannot load image spec bad.yaml/);
    expect(() => parseImageSpecYaml("- a\n- b\n", { root: "/" })).toThrow(/top level must be a mapping/);
    await expect(loadImageSpecFile("/nonexistent/spec.yaml")).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
  });
});

describe("splitArgs", () => {
  it("splits like a shell", () => {
    expect(splitArgs(`--a 1 --b "two words" 'single $x' back\\ slash ""`)).toEqual(["--a", "1", "--b", "two words", "single $x", "back slash", ""]);
  });
});
