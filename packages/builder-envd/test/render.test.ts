import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Image, ImageSpec } from "@imagespec/core";
import { defineLayer, type EnvdLayerRenderer, IMAGE_ID_ENV, isImageSpecError, starlarkString } from "@imagespec/core/authoring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createEnvdBuilder } from "../src/index.js";
import { evaluateEnvd } from "./support/envd-file.js";

let root: string;
const builder = createEnvdBuilder();

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "envd-render-"));
  await mkdir(path.join(root, "src", "pkg"), { recursive: true });
  await writeFile(path.join(root, "requirements.txt"), "six==1.16.0\n");
  await writeFile(path.join(root, "src", "pkg", "main.py"), "print(1)\n");
  await writeFile(path.join(root, "src", "debug.log"), "ignored\n");
  await writeFile(path.join(root, "notes.txt"), "notes\n");
  await writeFile(path.join(root, ".dockerignore"), "*.log\n");
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function render(image: Image) {
  const identity = await image.identity();
  const baseUri = image.base.type === "image" ? await image.base.image.uri() : undefined;
  return (await builder.render!(image, { identity, baseUri, config: {} })).content;
}

describe("build.envd rendering", () => {
  it("renders every supported built-in layer, in envd's v1 syntax", async () => {
    const pip = { indexUrl: "https://mirror.example/simple", extraIndexUrls: ["https://a.example/simple", "https://b.example/simple"] };
    const image = Image.fromDebianBase({ root, pythonVersion: "3.11", name: "everything" })
      .withAptPackages("git", "curl=7.88.1-10+deb12u5")
      .withCondaPackages(["numpy>=1.26,<2", "conda-forge::pyyaml"], { channels: ["conda-forge", "bioconda"] })
      .withPipPackages("pandas<2,>=1.5", "requests[socks]>=2.31; python_version >= '3.8'", pip)
      .withRequirements("requirements.txt", pip)
      .withDockerignore(".dockerignore")
      .withSourceFolder("src", "/app/src")
      .withSourceFile("notes.txt", "/app/")
      .withCodeBundle({ src: "src", dst: "/root" })
      .withEnvVars({ GREETING: "hello", EMPTY: "" })
      .withWorkdir("/app")
      .withCommands(["echo $GREETING > out.txt", 'python -c "print(42)"']);
    expect(builder.supports(image)).toBe(true);
    expect(await render(image)).toBe(
      [
        "# syntax=v1",
        "# Written by @imagespec/builder-envd from an imagespec image definition; rewritten on every build.",
        "",
        "def build():",
        '    base(image="python:3.11-slim-bookworm", dev=False)',
        '    install.python(version="3.11")',
        '    config.pip_index(url="https://mirror.example/simple", extra_url="https://a.example/simple https://b.example/simple")',
        `    install.apt_packages(name=["git", "'curl=7.88.1-10+deb12u5'"])`,
        "    install.conda(use_mamba=True)",
        `    install.conda_packages(name=["'numpy>=1.26,<2'", "conda-forge::pyyaml"], channel=["conda-forge", "bioconda"])`,
        `    install.python_packages(name=["'pandas<2,>=1.5'", "'requests[socks]>=2.31; python_version >= '\\"'\\"'3.8'\\"'\\"''"])`,
        '    install.python_packages(requirements="files/3/requirements.txt")',
        '    io.copy(source="files/5/src", target="/app/")',
        '    io.copy(source="files/6/notes.txt", target="/app/")',
        '    io.copy(source="files/7/root", target="/")',
        '    runtime.environ(env={"GREETING": "hello", "EMPTY": ""})',
        '    run(commands=["set +uo pipefail", "mkdir -p /app", "cd /app", "echo $GREETING > out.txt"])',
        '    run(commands=["set +uo pipefail", "mkdir -p /app", "cd /app", "python -c \\"print(42)\\""])',
        `    runtime.environ(env={"${IMAGE_ID_ENV}": "${image.id}"})`,
        "",
      ].join("\n"),
    );
  });

  it("parses as Starlark and gives envd back every value exactly as written", async () => {
    const tricky = `quote " apostrophe ' backslash \\ dollar $HOME newline\nTab\tunicode é ☃ bell \u0007 end`;
    const image = Image.fromBase("ubuntu:22.04", { root, pythonVersion: "3.12" })
      .withCondaPackages(["numpy 1.26.*"])
      .withPipPackages('requests[security] >= 2.8.1 ; python_version < "3.13"')
      .withEnvVars({ TRICKY: tricky, PYTHONPATH: "/root" })
      .withCommands(['printf "%s\\n" "$TRICKY" | tee /tmp/out', "echo done \\\n  && true"]);
    const calls = await evaluateEnvd(await render(image));
    expect(calls.map((c) => c.fn)).toEqual([
      "base",
      "install.python",
      "install.conda",
      "install.conda_packages",
      "install.python_packages",
      "runtime.environ",
      "run",
      "run",
      "runtime.environ",
    ]);
    expect(calls[0]!.args).toEqual({ image: "ubuntu:22.04", dev: false });
    // envd splits these with a shell-word lexer: each stays one word once it is unquoted.
    expect(calls[3]!.args).toEqual({ name: ["'numpy 1.26.*'"] });
    expect(calls[4]!.args).toEqual({ name: [`'requests[security] >= 2.8.1 ; python_version < "3.13"'`] });
    expect(calls[5]!.args).toEqual({ env: { TRICKY: tricky, PYTHONPATH: "/root" } });
    expect(calls[6]!.args).toEqual({ commands: ["set +uo pipefail", 'printf "%s\\n" "$TRICKY" | tee /tmp/out'] });
    expect(calls[7]!.args).toEqual({ commands: ["set +uo pipefail", "echo done \\\n  && true"] });
    expect(calls[8]!.args).toEqual({ env: { [IMAGE_ID_ENV]: image.id } });
  });

  it("renders a declarative ImageSpec (the order it compiles to is envd's order)", async () => {
    const spec = new ImageSpec({
      root,
      name: "spec",
      pythonVersion: "3.10",
      aptPackages: ["git"],
      condaPackages: ["pytorch", "cpuonly"],
      condaChannels: ["pytorch"],
      packages: ["flytekit"],
      requirements: "requirements.txt",
      pipIndex: "https://private.example/simple",
      copy: ["notes.txt", "src"],
      sourceRoot: ".",
      env: { A: "1" },
      commands: ["echo hi"],
    });
    const image = spec.toImage();
    expect(builder.supports(image)).toBe(true);
    const calls = await evaluateEnvd(await render(image));
    expect(calls.filter((c) => c.fn === "io.copy").map((c) => c.args)).toEqual([
      { source: "files/4/notes.txt", target: "/root/" },
      { source: "files/5/src", target: "/root/" },
      { source: "files/6/root", target: "/" },
    ]);
    expect(calls.find((c) => c.fn === "config.pip_index")!.args).toEqual({ url: "https://private.example/simple" });
    expect(calls.find((c) => c.fn === "install.conda_packages")!.args).toEqual({ name: ["pytorch", "cpuonly"], channel: ["pytorch"] });
    expect(calls.filter((c) => c.fn === "install.python_packages").map((c) => c.args)).toEqual([
      { name: ["flytekit"] },
      { requirements: "files/3/requirements.txt" },
    ]);
  });

  it("places copies the way Docker's COPY would: relative to the working directory, files into folders", async () => {
    const image = Image.fromBase("ubuntu:22.04", { root })
      .withSourceFile("notes.txt", ".")
      .withSourceFile("notes.txt", "/etc/renamed.txt")
      .withWorkdir("/srv/app")
      .withSourceFolder("src", ".")
      .withSourceFolder("src", "lib/code")
      .withSourceFile("notes.txt", "docs/");
    const calls = await evaluateEnvd(await render(image));
    expect(calls.filter((c) => c.fn === "io.copy").map((c) => c.args)).toEqual([
      { source: "files/0/notes.txt", target: "/" },
      { source: "files/1/renamed.txt", target: "/etc/" },
      { source: "files/3/app", target: "/srv/" },
      { source: "files/4/code", target: "/srv/app/lib/" },
      { source: "files/5/notes.txt", target: "/srv/app/docs/" },
    ]);
  });

  it("uses the built base image's URI for a base that is another Image", async () => {
    const parent = Image.fromDebianBase({ root, name: "parent" }).withAptPackages("curl");
    const child = Image.fromBase(parent, { root, name: "child" }).withEnvVars({ A: "1" });
    const calls = await evaluateEnvd(await render(child));
    expect(calls[0]).toEqual({ fn: "base", args: { image: await parent.uri(), dev: false } });
  });

  it("installs CUDA from an Ubuntu base", async () => {
    const image = Image.fromBase("ubuntu:22.04", { root, pythonVersion: "3.11" }).withCuda({ cuda: "12.4.1", cudnn: "9" }).withPipPackages("torch");
    const calls = await evaluateEnvd(await render(image));
    expect(calls.map((c) => c.fn).slice(0, 3)).toEqual(["base", "install.python", "install.cuda"]);
    expect(calls[2]!.args).toEqual({ version: "12.4.1", cudnn: "9" });
  });

  it("renders layer packages' kinds through their envd renderer", async () => {
    const renderer: EnvdLayerRenderer<{ project: string; tool: string }> = (fields, context) => ({
      stage: "packages",
      statements: [`install.python_packages(requirements=${starlarkString(`${context.files.project}/requirements.lock`)})`, `# ${String(fields.tool)}`],
    });
    const uvLike = defineLayer({
      specificationVersion: "v1",
      kind: "example.lockedProject",
      schema: z.object({ project: z.string(), tool: z.string() }).strict(),
      inputs: (f) => [{ field: "project", path: f.project, type: "folder" }],
      renderers: { envd: renderer },
    });
    const image = Image.fromDebianBase({ root }).withLayer(uvLike, { project: "src", tool: "uv" });
    expect(builder.supports(image)).toBe(true);
    const content = await render(image);
    expect(content).toContain('    install.python_packages(requirements="files/0/project/requirements.lock")\n    # uv\n');
    await evaluateEnvd(content);
  });

  it("renders the same bytes every time and from another checkout location", async () => {
    const make = (at: string) => Image.fromDebianBase({ root: at }).withSourceFolder("src", "/app").withEnvVars({ B: "2", A: "1" }).withCommands("ls");
    const moved = `${root}-moved`;
    await rm(moved, { recursive: true, force: true });
    await import("node:fs/promises").then((fs) => fs.cp(root, moved, { recursive: true }));
    try {
      const first = await render(make(root));
      expect(await render(make(root))).toBe(first);
      expect(await render(make(moved))).toBe(first);
    } finally {
      await rm(moved, { recursive: true, force: true });
    }
  });
});

describe("what envd cannot express is refused by name", () => {
  const debian = () => Image.fromDebianBase({ root, name: "refused" });
  const cases: [string, () => Image, RegExp][] = [
    ["an entrypoint", () => debian().withEntrypoint(["python"]), /layers\[0\] \(entrypoint\): envd cannot set an entrypoint/],
    ["secret mounts on pip", () => debian().withPipPackages("six", { secretMounts: ["PIP_TOKEN"] }), /secret mounts \(PIP_TOKEN\)/],
    ["secret mounts on apt", () => debian().withAptPackages("curl", { secretMounts: ["APT"] }), /secret mounts \(APT\)/],
    ["secret mounts on commands", () => debian().withCommands("ls", { secretMounts: ["tok"] }), /secret mounts \(tok\)/],
    ["SSH mounts on pip", () => debian().withPipPackages("six", { sshMounts: ["default"] }), /forwards SSH agents \(sshMounts default\)/],
    ["SSH mounts on commands", () => debian().withCommands("ls", { sshMounts: [{ id: "git", keys: ["k"] }] }), /forwards SSH agents \(sshMounts git\)/],
    ["extra pip arguments", () => debian().withPipPackages("six", { extraArgs: ["--no-deps"] }), /extra pip arguments \(--no-deps\)/],
    ["pre-releases", () => debian().withPipPackages("six", { pre: true }), /pre-release versions \(pre\)/],
    ["several platforms", () => debian().withPlatform("linux/amd64", "linux/arm64"), /one platform at a time.*linux\/amd64, linux\/arm64/],
    ["a Dockerfile base", () => Image.fromDockerfile("notes.txt", { root }), /cannot build from a Dockerfile \(notes\.txt\)/],
    ["runtime packages", () => debian().withRuntimePackages("six"), /cannot install packages when the container starts/],
    ["pythonExec", () => Image.fromBase("ubuntu:22.04", { root, pythonExec: "/opt/py/bin/python" }), /pythonExec \(\/opt\/py\/bin\/python\)/],
    ["pip packages without a Python version", () => Image.fromBase("ubuntu:22.04", { root }).withPipPackages("six"), /needs Python.*set pythonVersion/],
    [
      "a layer kind without an envd renderer",
      () =>
        debian().withLayer(
          defineLayer({ specificationVersion: "v1", kind: "example.dockerOnly", schema: z.object({}).strict(), renderers: { docker: () => [] } }),
          {},
        ),
      /layers\[0\] \(example\.dockerOnly\) is a layer kind without an envd renderer \(.*docker\)/,
    ],
    [
      "commands before packages (envd would reorder them)",
      () => debian().withCommands("ls").withPipPackages("six"),
      /layers\[1\] \(pipPackages\) comes after layers\[0\] \(commands\)/,
    ],
    [
      "copies before apt packages",
      () => debian().withSourceFile("notes.txt", "/x").withAptPackages("git"),
      /layers\[1\] \(aptPackages\) comes after layers\[0\] \(copy\)/,
    ],
    ["a command with a single quote", () => debian().withCommands("echo 'hi'"), /contains a single quote/],
    ["a working directory envd cannot quote", () => debian().withWorkdir("/my app").withCommands("ls"), /working directory "\/my app"/],
    ["PATH in the environment", () => debian().withEnvVars({ PATH: "/opt/bin:/usr/bin" }), /sets PATH/],
    [
      "installer variables for the installs after them (a spec's env is set before its installs)",
      () => new ImageSpec({ root, pythonVersion: "3.11", packages: ["six"], env: { PIP_INDEX_URL: "http://127.0.0.1:9/simple", MODE: "x" } }).toImage(),
      /layers\[0\] \(env\) sets PIP_INDEX_URL for the installs after it \(such as layers\[1\] \(pipPackages\)\), but envd sets env only for the running container/,
    ],
    [
      "different pip indexes",
      () => debian().withPipPackages("six", { indexUrl: "https://a.example/simple" }).withPipPackages("attrs"),
      /other package indexes than layers\[0\]/,
    ],
    [
      "different conda channels",
      () =>
        debian()
          .withCondaPackages(["a"], { channels: ["x"] })
          .withCondaPackages(["b"]),
      /other conda channels/,
    ],
    ["two requirements files", () => debian().withRequirements("requirements.txt").withRequirements("requirements.txt"), /second requirements file/],
    ["CUDA on a non-Ubuntu base", () => debian().withCuda({ cuda: "12.4.1", cudnn: "9" }), /base must be an Ubuntu reference.*python:3\.12-slim-bookworm/],
    ["CUDA without cuDNN", () => Image.fromBase("ubuntu:22.04", { root }).withCuda({ cuda: "12.4.1" }), /always include cuDNN/],
    ["a short CUDA version", () => Image.fromBase("ubuntu:22.04", { root }).withCuda({ cuda: "12.4", cudnn: "9" }), /full CUDA version/],
    ["a folder copied onto /", () => debian().withSourceFolder("src", "/"), /onto \/ itself/],
  ];

  for (const [name, make, reason] of cases) {
    it(`refuses ${name}`, async () => {
      const image = make();
      const verdict = builder.supports(image);
      expect(verdict).toMatch(reason);
      // render() and build() refuse the same way, with a typed error naming the image.
      const error = await builder.render!(image, { identity: await image.identity(), baseUri: undefined, config: {} }).catch((e: unknown) => e);
      expect(isImageSpecError(error) && error.code).toBe("NO_BUILDER");
      expect((error as Error).message).toMatch(/^Cannot render build\.envd for \S+ with envd: /);
    });
  }

  it("lists every reason at once", () => {
    const image = debian().withEntrypoint(["x"]).withRuntimePackages("six").withPlatform("linux/amd64", "linux/arm64");
    const verdict = builder.supports(image) as string;
    expect(verdict.split("; ")).toHaveLength(3);
  });
});
