/**
 * Rendering, without an engine: each core layer kind, the quoting of hostile values, the Python environment, the
 * extension point for layer packages, and what `dockerRefusal()` refuses.
 */
import { Image, ImageSpec } from "@imagespec/core";
import { type DockerLayerRenderer, type DockerRenderContext, defineLayer } from "@imagespec/core/authoring";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { contextEntries } from "../src/engine.js";
import { cudaImage, dockerRefusal, renderDockerBuild } from "../src/index.js";
import { instructions, KEYWORDS, project, runArgv } from "./support/project.js";

const DEBIAN_TEMPLATE = "127.0.0.1:5000/imagespec/python:{python_version}-slim-bookworm";
let root: string;

beforeAll(() => {
  process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = DEBIAN_TEMPLATE;
  root = project({
    "requirements.txt": 'pandas<2,>=1.5; python_version >= "3.8"\n',
    "src/app/main.py": "print('hi')\n",
    "src/app/debug.log": "noise\n",
    "config.yaml": "a: 1\n",
    "weird[1].txt": "glob characters\n",
    ".imagespecignore": "*.log\n",
    "docker/Dockerfile": "FROM python:3.12-slim\nCOPY . /src\n",
    "uv.lock": "version = 1\n",
  });
});

/** Every core layer kind, in one image. */
function everything(): Image {
  return Image.fromDebianBase({ pythonVersion: "3.11", root, registry: "127.0.0.1:5000", name: "everything" })
    .withAptPackages("git", "curl")
    .withPipPackages("requests[socks]>=2", "numpy<2,>=1.26", {
      indexUrl: "http://127.0.0.1:8080/simple",
      extraIndexUrls: ["https://example.com/simple"],
      pre: true,
      extraArgs: ["--no-deps", "--only-binary=:all:"],
    })
    .withRequirements("requirements.txt", { secretMounts: [{ id: "netrc", src: "config.yaml", target: "/root/.netrc" }] })
    .withDockerignore(".imagespecignore")
    .withSourceFolder("src", "/srv")
    .withSourceFile("config.yaml", "/etc/app/")
    .withEnvVars({ PLAIN: "value", TRICKY: `a "b" 'c' $HOME \\ <>;|&` })
    .withWorkdir("/srv/app dir")
    .withCommands(["echo one", "echo two"], { secretMounts: ["API_TOKEN", { id: "pw", asEnv: "PASSWORD" }] })
    .withCodeBundle({ src: "src", dst: "/code" })
    .withEntrypoint(["python", "-m", "app"])
    .withRuntimePackages("rich>=13");
}

describe("the Dockerfile", () => {
  it("renders every core layer kind, readable and in order", async () => {
    const plan = await renderDockerBuild(everything());
    expect(plan.dockerfile).toMatchSnapshot();
  });

  it("is deterministic: the same definition gives the same text, build args and context", async () => {
    const a = await renderDockerBuild(everything());
    const b = await renderDockerBuild(everything());
    expect(b.dockerfile).toBe(a.dockerfile);
    expect(b.buildArgs).toEqual(a.buildArgs);
    expect(b.context.map((c) => c.path)).toEqual(a.context.map((c) => c.path));
  });

  it("has only known instructions, one per line, and one IMAGESPEC_IMAGE_ID as the last", async () => {
    const image = everything();
    const lines = instructions((await renderDockerBuild(image)).dockerfile);
    for (const line of lines) expect(KEYWORDS.has(line.split(" ")[0]!), line).toBe(true);
    expect(lines.at(-1)).toBe(`ENV IMAGESPEC_IMAGE_ID="${image.id}"`);
    expect(lines.filter((l) => l.includes("IMAGESPEC_IMAGE_ID"))).toHaveLength(1);
  });

  it("puts system packages before Python packages before source", async () => {
    const text = (await renderDockerBuild(everything())).dockerfile;
    const apt = text.indexOf("apt-get install");
    const pip = text.indexOf("pip install");
    const copy = text.indexOf('COPY ["layers/');
    expect(apt).toBeGreaterThan(0);
    expect(apt).toBeLessThan(pip);
    expect(pip).toBeLessThan(copy);
  });

  it("installs apt packages with a cache mount and cleans the lists", async () => {
    const lines = instructions((await renderDockerBuild(Image.fromDebianBase({ root }).withAptPackages("zlib1g-dev", "curl"))).dockerfile);
    const run = lines.find((l) => l.includes("apt-get"))!;
    expect(run).toContain("--mount=type=cache,id=imagespec-apt,target=/var/cache/apt,sharing=private");
    expect(runArgv(run)[2]).toBe(
      "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends curl zlib1g-dev && rm -rf /var/lib/apt/lists/*",
    );
  });

  it("passes pip index, extra index, pre and extra args, quoting every requirement", async () => {
    const lines = instructions((await renderDockerBuild(everything())).dockerfile);
    const pip = runArgv(lines.find((l) => l.includes("'numpy<2,>=1.26'"))!)[2];
    expect(pip).toBe(
      "/opt/venv/bin/python -m pip install --disable-pip-version-check --no-input --cache-dir /var/cache/imagespec/pip " +
        "--index-url http://127.0.0.1:8080/simple --extra-index-url https://example.com/simple --pre --no-deps --only-binary=:all: " +
        "'numpy<2,>=1.26' 'requests[socks]>=2'",
    );
  });

  it("mounts the requirements file for the install only, never copying it into the image", async () => {
    const plan = await renderDockerBuild(everything());
    const run = instructions(plan.dockerfile).find((l) => l.includes("--requirement"))!;
    expect(run).toContain("--mount=type=bind,source=layers/2/requirements.txt,target=/tmp/imagespec/requirements-2.txt");
    expect(plan.context.find((c) => c.path === "layers/2/requirements.txt")).toMatchObject({ type: "file", source: `${root}/requirements.txt` });
    expect(instructions(plan.dockerfile).filter((l) => l.startsWith("COPY") && l.includes("layers/2/"))).toEqual([]);
  });

  it("creates one virtual environment at the first Python layer and puts it first on PATH", async () => {
    const lines = instructions((await renderDockerBuild(everything())).dockerfile);
    const creates = lines.filter((l) => l.includes("-m venv"));
    expect(creates).toHaveLength(1);
    expect(runArgv(creates[0]!)[2]).toContain("python3 -m venv --system-site-packages /opt/venv");
    const pathIndex = lines.indexOf("ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH");
    expect(pathIndex).toBeGreaterThan(lines.indexOf(creates[0]!));
    expect(pathIndex).toBeLessThan(lines.findIndex((l) => l.includes("pip install")));
  });

  it("creates the venv with pythonExec when the image names an interpreter", async () => {
    const image = Image.fromBase("python:3.12-slim", { root, pythonExec: "/usr/local/bin/python3.12" }).withPipPackages("six");
    const create = instructions((await renderDockerBuild(image)).dockerfile).find((l) => l.includes("-m venv"))!;
    expect(runArgv(create)[2]).toContain("/usr/local/bin/python3.12 -m venv --system-site-packages /opt/venv");
  });

  it("renders no Python environment for an image without Python layers", async () => {
    const text = (await renderDockerBuild(Image.fromDebianBase({ root }).withCommands("true"))).dockerfile;
    expect(text).not.toContain("venv");
  });
});

describe("hostile values", () => {
  const hostile = `a "q" 'x' $HOME \${PATH} \\ <>;|& \`id\`\nRUN echo injected\n\\`;

  it("keep env values exact: quoted on one line, or a build argument when they hold a line break", async () => {
    const image = Image.fromDebianBase({ root }).withEnvVars({ ONE_LINE: `a "q" 'x' $HOME \\ <>;|&`, MULTI: hostile });
    const plan = await renderDockerBuild(image);
    const lines = instructions(plan.dockerfile);
    expect(lines.some((l) => l.startsWith("RUN"))).toBe(false);
    expect(lines).toContain("ARG IMAGESPEC_ENV_0_0");
    expect(lines).toContain(`ENV ONE_LINE="a \\"q\\" 'x' \\$HOME \\\\ <>;|&" MULTI="\${IMAGESPEC_ENV_0_0}"`);
    expect(plan.buildArgs).toEqual({ IMAGESPEC_ENV_0_0: hostile });
    expect(plan.dockerfile).not.toContain("injected");
  });

  it("keep commands in one exec-form RUN each, in order, whatever they contain", async () => {
    const commands = ["echo first", hostile, 'python3 -c "print(1)"; echo $HOME'];
    const lines = instructions((await renderDockerBuild(Image.fromDebianBase({ root }).withCommands(commands))).dockerfile);
    const runs = lines.filter((l) => l.startsWith("RUN"));
    expect(runs.map((l) => runArgv(l))).toEqual(commands.map((c) => ["/bin/sh", "-c", c]));
    expect(lines.filter((l) => l.includes("injected"))).toHaveLength(1);
  });

  it("quote requirements with <, >, ; and quotes", async () => {
    const spec = `pandas<2,>=1.5; python_version >= "3.8" and sys_platform != 'win32'`;
    const run = instructions((await renderDockerBuild(Image.fromDebianBase({ root }).withPipPackages(spec))).dockerfile).find((l) =>
      l.includes("pip install"),
    )!;
    expect(runArgv(run)[2].endsWith(` 'pandas<2,>=1.5; python_version >= "3.8" and sys_platform != '"'"'win32'"'"''`)).toBe(true);
  });

  it("quote paths with spaces, quotes and $ in WORKDIR and COPY", async () => {
    const image = Image.fromDebianBase({ root }).withWorkdir(`/w d/$x "q"`).withSourceFile("config.yaml", `/etc/my app/$HOME's "c".yaml`);
    const lines = instructions((await renderDockerBuild(image)).dockerfile);
    expect(lines).toContain(`WORKDIR "/w d/\\$x \\"q\\""`);
    const copy = lines.find((l) => l.startsWith("COPY"))!;
    expect(JSON.parse(copy.slice("COPY ".length))).toEqual(["layers/1/config.yaml", `"/etc/my app/\\$HOME's \\"c\\".yaml"`]);
  });

  it("copy a file whose name has glob characters without a pattern", async () => {
    const intoFolder = instructions((await renderDockerBuild(Image.fromDebianBase({ root }).withSourceFile("weird[1].txt", "/data/"))).dockerfile);
    expect(intoFolder).toContain('COPY ["layers/0/","/data/"]');
    const asFile = await renderDockerBuild(Image.fromDebianBase({ root }).withSourceFile("weird[1].txt", "/data/renamed.txt"));
    expect(instructions(asFile.dockerfile)).toContain('COPY ["layers/0/file","/data/renamed.txt"]');
    expect(asFile.context.find((c) => c.path === "layers/0/file")).toMatchObject({ source: `${root}/weird[1].txt` });
  });

  it("write exec-form ENTRYPOINT, and `[]` to remove the base's", async () => {
    const lines = instructions((await renderDockerBuild(Image.fromDebianBase({ root }).withEntrypoint(["sh", "-c", 'echo "$1"\nnext', "x y"]))).dockerfile);
    expect(lines).toContain(`ENTRYPOINT ["sh","-c","echo \\"$1\\"\\nnext","x y"]`);
    expect(instructions((await renderDockerBuild(Image.fromDebianBase({ root }).withEntrypoint([]))).dockerfile)).toContain("ENTRYPOINT []");
  });
});

describe("SSH mounts", () => {
  it("mount an agent for the steps that ask, quoted as mount options, and list the forwards for the session", async () => {
    const image = Image.fromDebianBase({ root })
      .withPipPackages("private-pkg", { sshMounts: ["default"] })
      .withCommands(["git clone ssh://git@example.com/a", "echo after"], { sshMounts: [{ id: "deploy", keys: ["keys/deploy"], target: "/run/a b,c.sock" }] })
      .withCommands("echo no agent here");
    const plan = await renderDockerBuild(image);
    const runs = instructions(plan.dockerfile).filter((l) => l.startsWith("RUN"));
    const ssh = runs.filter((l) => l.includes("type=ssh"));
    expect(ssh).toHaveLength(3);
    expect(ssh[0]).toContain("--mount=type=ssh,id=default,required=true ");
    expect(ssh[1]).toContain('--mount=type=ssh,id=deploy,\\"target=/run/a\\ b,c.sock\\",required=true ["/bin/sh"');
    expect(runs.find((l) => l.includes("no agent here"))).not.toContain("type=ssh");
    expect(plan.ssh).toEqual([{ id: "default" }, { id: "deploy", keys: ["keys/deploy"] }]);
  });

  it("refuse one SSH id with two sets of keys", async () => {
    const image = Image.fromDebianBase({ root })
      .withCommands("true", { sshMounts: [{ id: "s", keys: ["a"] }] })
      .withCommands("true", { sshMounts: ["s"] });
    await expect(renderDockerBuild(image)).rejects.toMatchObject({ code: "INVALID_SPEC", message: expect.stringContaining('SSH mount "s" twice') });
  });
});

describe("secrets", () => {
  it("mount secrets for one step, export asEnv in that step only, and never write an ARG or ENV", async () => {
    const plan = await renderDockerBuild(everything());
    const lines = instructions(plan.dockerfile);
    const runs = lines.filter((l) => l.includes("type=secret"));
    expect(runs).toHaveLength(3);
    expect(runs[0]).toContain("--mount=type=secret,id=netrc,target=/root/.netrc,required=true");
    expect(runs[1]).toContain(
      "--mount=type=secret,id=API_TOKEN,target=/run/secrets/API_TOKEN,required=true --mount=type=secret,id=pw,target=/run/secrets/pw,required=true",
    );
    expect(runArgv(runs[1]!)[2]).toBe('PASSWORD="$(cat /run/secrets/pw)"; export PASSWORD; echo one');
    expect(lines.filter((l) => /^(ARG|ENV)\b/.test(l) && /API_TOKEN|PASSWORD|netrc/.test(l))).toEqual([]);
    expect(plan.secrets).toEqual([
      { id: "netrc", src: "config.yaml" },
      { id: "API_TOKEN", env: "API_TOKEN" },
      { id: "pw", env: "pw" },
    ]);
  });

  it("escape mount targets with spaces and commas for the Dockerfile flag parser", async () => {
    const image = Image.fromDebianBase({ root }).withCommands("true", { secretMounts: [{ id: "s", target: "/run/a b,c" }] });
    const run = instructions((await renderDockerBuild(image)).dockerfile).find((l) => l.startsWith("RUN"))!;
    expect(run.startsWith('RUN --mount=type=secret,id=s,\\"target=/run/a\\ b,c\\",required=true ["/bin/sh"')).toBe(true);
  });

  it("refuse one secret id with two different sources", async () => {
    const image = Image.fromDebianBase({ root })
      .withCommands("true", { secretMounts: [{ id: "s", env: "A" }] })
      .withCommands("true", { secretMounts: [{ id: "s", env: "B" }] });
    await expect(renderDockerBuild(image)).rejects.toMatchObject({ code: "INVALID_SPEC", message: expect.stringContaining('secret "s"') });
  });
});

describe("runtime packages and the entrypoint", () => {
  it("check pip at build time and install the packages through a wrapper when the container starts", async () => {
    const plan = await renderDockerBuild(everything());
    const lines = instructions(plan.dockerfile);
    const check = lines.find((l) => l.includes("pip --version"))!;
    expect(runArgv(check)[2]).toContain("/opt/venv/bin/python -m pip --version >/dev/null 2>&1 || { echo 'imagespec: runtime packages");
    expect(lines).toContain('COPY ["imagespec/entrypoint.sh","/usr/local/bin/imagespec-entrypoint"]');
    expect(lines).toContain('ENTRYPOINT ["/usr/local/bin/imagespec-entrypoint","python","-m","app"]');
    expect(lines.filter((l) => l.startsWith("ENTRYPOINT"))).toHaveLength(1);
    const wrapper = plan.context.find((c) => c.path === "imagespec/entrypoint.sh");
    expect(wrapper?.type === "content" && wrapper.executable).toBe(true);
    const script = wrapper?.type === "content" ? Buffer.from(wrapper.content).toString("utf8") : "";
    expect(script).toContain("/opt/venv/bin/python -m pip install --disable-pip-version-check --no-input --quiet --no-cache-dir 'rich>=13' >&2");
    expect(script.trimEnd().endsWith('exec "$@"')).toBe(true);
  });

  it("inherit a base Image's Python environment and runtime packages instead of recreating them", async () => {
    const base = Image.fromDebianBase({ pythonVersion: "3.11", root }).withPipPackages("six").withRuntimePackages("rich");
    const child = Image.fromBase(base, { root }).withPipPackages("attrs").withEntrypoint(["python"]);
    const lines = instructions((await renderDockerBuild(child, { baseUri: "127.0.0.1:5000/base:abc" })).dockerfile);
    expect(lines[0]).toBe("FROM 127.0.0.1:5000/base:abc");
    expect(lines.filter((l) => l.includes("-m venv"))).toEqual([]);
    expect(lines.some((l) => l.includes("/opt/venv/bin/python -m pip install") && l.includes("attrs"))).toBe(true);
    expect(lines).toContain('ENTRYPOINT ["/usr/local/bin/imagespec-entrypoint","python"]');
  });
});

describe("the runtime-packages wrapper keeps the base image's command (an ENTRYPOINT clears the inherited CMD)", () => {
  const reads: string[] = [];
  const readRunConfig = async (reference: string, platform: string) => {
    reads.push(`${reference} ${platform}`);
    if (reference.includes("tini")) return { entrypoint: ["/tini", "--"], cmd: ["python3", "-m", "app"] };
    return { entrypoint: undefined, cmd: ["python3"] };
  };

  it("restates the base's CMD (and its ENTRYPOINT behind the wrapper) when the image sets no entrypoint", async () => {
    reads.length = 0;
    const spec = new ImageSpec({ root, pythonVersion: "3.11", runtimePackages: ["rich"] });
    const lines = instructions((await renderDockerBuild(spec.toImage(), { readRunConfig })).dockerfile);
    expect(reads).toEqual(["127.0.0.1:5000/imagespec/python:3.11-slim-bookworm linux/amd64"]);
    expect(lines.slice(-3)).toEqual([
      'ENTRYPOINT ["/usr/local/bin/imagespec-entrypoint"]',
      'CMD ["python3"]',
      expect.stringMatching(/^ENV IMAGESPEC_IMAGE_ID=/),
    ]);
    const tini = Image.fromBase("ghcr.io/acme/tini-app:1", { root, platform: "linux/arm64" }).withRuntimePackages("rich");
    const tiniLines = instructions((await renderDockerBuild(tini, { readRunConfig })).dockerfile);
    expect(tiniLines).toContain('ENTRYPOINT ["/usr/local/bin/imagespec-entrypoint","/tini","--"]');
    expect(tiniLines).toContain('CMD ["python3","-m","app"]');
    expect(reads.at(-1)).toBe("ghcr.io/acme/tini-app:1 linux/arm64");
  });

  it("reads nothing when the image sets its entrypoint (Docker clears CMD then anyway, as without runtime packages)", async () => {
    reads.length = 0;
    const image = Image.fromBase("ghcr.io/acme/tini-app:1", { root }).withRuntimePackages("rich").withEntrypoint(["python", "serve.py"]);
    const lines = instructions((await renderDockerBuild(image, { readRunConfig })).dockerfile);
    expect(reads).toEqual([]);
    expect(lines).toContain('ENTRYPOINT ["/usr/local/bin/imagespec-entrypoint","python","serve.py"]');
    expect(lines.some((l) => l.startsWith("CMD"))).toBe(false);
  });

  it("carries the command through Image bases: a child adding runtime packages keeps what its base kept", async () => {
    reads.length = 0;
    const base = Image.fromBase("ghcr.io/acme/tini-app:1", { root, name: "base" }).withRuntimePackages("rich");
    const child = Image.fromBase(base, { root, name: "child" }).withRuntimePackages("attrs");
    const lines = instructions((await renderDockerBuild(child, { baseUri: "127.0.0.1:5000/base:abc", readRunConfig })).dockerfile);
    expect(lines[0]).toBe("FROM 127.0.0.1:5000/base:abc");
    expect(lines).toContain('ENTRYPOINT ["/usr/local/bin/imagespec-entrypoint","/tini","--"]');
    expect(lines).toContain('CMD ["python3","-m","app"]');
    expect(reads).toEqual(["ghcr.io/acme/tini-app:1 linux/amd64"]);
  });

  it("says what to do when the base's configuration cannot be read", async () => {
    const image = Image.fromBase("ghcr.io/acme/private:1", { root }).withRuntimePackages("rich");
    const failing = async () => {
      throw new Error("401 Unauthorized");
    };
    await expect(renderDockerBuild(image, { readRunConfig: failing })).rejects.toMatchObject({
      code: "REGISTRY_ERROR",
      field: "runtimePackages",
      message: expect.stringContaining(
        "Cannot keep the base image's command for imagespec's runtime packages wrapper: reading the ENTRYPOINT and CMD of ghcr.io/acme/private:1 failed: 401 Unauthorized",
      ),
      hint: expect.stringContaining("Set the entrypoint explicitly"),
    });
  });
});

describe("the Python version", () => {
  it("is checked at build time when a base that is not the Debian base states one", async () => {
    const image = Image.fromBase("ghcr.io/org/py:1", { root, pythonVersion: "3.11" }).withCommands("true");
    const lines = instructions((await renderDockerBuild(image)).dockerfile);
    const check = runArgv(lines[1]!)[2];
    expect(check).toContain("python3 -c 'import sys");
    expect(check.endsWith(" 3.11")).toBe(true);
  });

  it("is not checked for the Debian base (its tag carries it) or a base without a stated version", async () => {
    for (const image of [Image.fromDebianBase({ root, pythonVersion: "3.11" }), Image.fromBase("ghcr.io/org/py:1", { root })]) {
      expect((await renderDockerBuild(image.withCommands("true"))).dockerfile).not.toContain("import sys");
    }
  });
});

describe("conda and CUDA (render only: micromamba, conda-forge and NVIDIA images are not reachable here)", () => {
  it("installs conda packages with micromamba into a conda environment that also gets the pip packages", async () => {
    const image = Image.fromDebianBase({ root, pythonVersion: "3.11" })
      .withCondaPackages(["numpy=1.26", "scipy>=1.11"], { channels: ["conda-forge", "bioconda"] })
      .withPipPackages("six");
    const plan = await renderDockerBuild(image);
    expect(plan.dockerfile).toMatchSnapshot();
    const lines = instructions(plan.dockerfile);
    expect(lines[0]).toBe("FROM mambaorg/micromamba:2.0.5 AS imagespec-stage-0");
    const conda = lines.find((l) => l.includes("micromamba create"))!;
    expect(conda).toContain("--mount=type=bind,from=imagespec-stage-0,source=/bin/micromamba,target=/usr/local/bin/micromamba");
    expect(runArgv(conda)[2]).toBe(
      "micromamba create --yes --root-prefix /opt/micromamba --prefix /opt/conda --override-channels -c conda-forge -c bioconda 'python=3.11' pip 'numpy=1.26' 'scipy>=1.11'",
    );
    expect(lines).toContain("ENV CONDA_PREFIX=/opt/conda PATH=/opt/conda/bin:$PATH");
    expect(lines.some((l) => l.includes("/opt/conda/bin/python -m pip install") && l.includes("six"))).toBe(true);
    expect(plan.dockerfile).not.toContain("venv");
    expect(plan.baseReferences).toEqual(["127.0.0.1:5000/imagespec/python:3.11-slim-bookworm", "mambaorg/micromamba:2.0.5"]);
  });

  it("starts a CUDA image from NVIDIA's base with the image's Python in a conda environment", async () => {
    const image = Image.fromDebianBase({ root, pythonVersion: "3.12" }).withCuda({ cuda: "12.4.1", cudnn: "9" }).withPipPackages("torch");
    const plan = await renderDockerBuild(image);
    expect(plan.dockerfile).toMatchSnapshot();
    const lines = instructions(plan.dockerfile);
    expect(lines).toContain("FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04");
    expect(lines.some((l) => l.includes("micromamba create") && l.includes("'python=3.12' pip"))).toBe(true);
    expect(cudaImage("nvidia/cuda:{cuda}-{cudnn}runtime-ubuntu22.04", "11.8.0", "8.9")).toBe("nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04");
    expect(cudaImage("nvidia/cuda:{cuda}-{cudnn}runtime-ubuntu22.04", "12.2.0", undefined)).toBe("nvidia/cuda:12.2.0-runtime-ubuntu22.04");
    const mirrored = Image.fromDebianBase({ root, pythonVersion: "3.12", builderOptions: { cudaImage: "mirror.example.com/cuda:{cuda}-{cudnn}devel" } })
      .withCuda({ cuda: "12.4.1", cudnn: "9" })
      .withPipPackages("torch");
    const custom = await renderDockerBuild(mirrored);
    expect(instructions(custom.dockerfile)).toContain("FROM mirror.example.com/cuda:12.4.1-cudnn-devel");
    // It changes what is built, so it is a builder option, and builder options enter the tag.
    expect(await mirrored.tag()).not.toBe(await image.tag());
  });

  it("refuses a CUDA base or micromamba image that is not an image reference, naming the option, before anything renders", async () => {
    const injected = Image.fromDebianBase({ root, builderOptions: { cudaImage: "nvidia/cuda:{cuda}-runtime-ubuntu22.04\nRUN touch /pwned" } }).withCuda({
      cuda: "12.4.1",
    });
    expect(dockerRefusal(injected)).toMatch(
      /builderOptions\.cudaImage = "nvidia\/cuda:\{cuda\}-runtime-ubuntu22\.04\\nRUN touch \/pwned": with \{cuda\} and \{cudnn\} filled in, it must be an image reference/,
    );
    await expect(renderDockerBuild(injected)).rejects.toMatchObject({ code: "NO_BUILDER", message: expect.stringContaining("builderOptions.cudaImage") });
    const mamba = Image.fromDebianBase({ root, builderOptions: { micromambaImage: "mambaorg/micromamba:2 AS x\nRUN id" } }).withCondaPackages(["numpy"]);
    expect(dockerRefusal(mamba)).toMatch(/builderOptions\.micromambaImage = .*an image reference/);
  });
});

describe("the ImageSpec front door", () => {
  it("renders every spec field through the same layers", async () => {
    const spec = new ImageSpec({
      name: "spec-image",
      registry: "127.0.0.1:5000",
      pythonVersion: "3.11",
      packages: ["requests>=2"],
      requirements: "requirements.txt",
      aptPackages: ["git"],
      env: { A: "1\n2" },
      commands: ["echo hi"],
      entrypoint: ["python"],
      pipIndex: "http://127.0.0.1:8080/simple",
      pipExtraIndexUrl: ["https://example.com/simple"],
      pipExtraArgs: "--no-deps",
      runtimePackages: ["rich"],
      root,
      sourceRoot: "src",
      copy: ["config.yaml"],
      platform: "linux/arm64",
    } as ConstructorParameters<typeof ImageSpec>[0]);
    const image = spec.toImage();
    expect(dockerRefusal(image)).toBeUndefined();
    const plan = await renderDockerBuild(image);
    const lines = instructions(plan.dockerfile);
    expect(lines.findIndex((l) => l.includes("apt-get"))).toBeLessThan(lines.findIndex((l) => l.includes("pip install")));
    expect(lines.some((l) => l.includes("'requests>=2'") && l.includes("--index-url http://127.0.0.1:8080/simple"))).toBe(true);
    expect(lines.at(-1)).toBe(`ENV IMAGESPEC_IMAGE_ID="${image.id}"`);
  });
});

describe("the extension point for layer packages", () => {
  interface UvFields {
    lock: string;
  }
  const renderUv: DockerLayerRenderer<UvFields> = (layer, ctx) => {
    const lock = ctx.addFile(layer.lock);
    const python = ctx.python();
    const uv = ctx.stage("ghcr.io/astral-sh/uv:0.5.0");
    return [
      ctx.run(`uv sync --locked --python ${ctx.quote.shellQuote(python.python)}`, {
        mounts: [ctx.cacheMount("/root/.cache/uv"), ctx.bindMount(lock, "/tmp/uv.lock"), ctx.bindMount("/uv", "/usr/local/bin/uv", { from: uv })],
        secrets: [{ id: "gh", asEnv: "GH_TOKEN" }],
        description: "uv sync",
      }),
      ...ctx.env({ UV_PROJECT_ENVIRONMENT: python.prefix, NOTE: "two\nlines" }),
      ctx.copy(lock, "/app/uv.lock"),
    ];
  };
  const uvLayer = defineLayer({
    specificationVersion: "v1",
    kind: "testUvProject",
    schema: z.object({ lock: z.string() }).strict() as z.ZodType<UvFields>,
    inputs: (f) => [{ field: "lock", path: f.lock, type: "file" }],
    renderers: { docker: renderUv },
  });

  it("renders a non-core kind through renderers.docker with the context's helpers", async () => {
    const image = Image.fromDebianBase({ root, pythonVersion: "3.11" }).withLayer(uvLayer, { lock: "uv.lock" });
    expect(dockerRefusal(image)).toBeUndefined();
    const plan = await renderDockerBuild(image);
    expect(plan.dockerfile).toMatchSnapshot();
    const lines = instructions(plan.dockerfile);
    expect(lines[0]).toBe("FROM ghcr.io/astral-sh/uv:0.5.0 AS imagespec-stage-0");
    const sync = lines.find((l) => l.includes("uv sync"))!;
    expect(sync).toContain("--mount=type=cache,id=imagespec-root-.cache-uv,target=/root/.cache/uv,sharing=private,mode=0777");
    expect(sync).toContain("--mount=type=bind,source=layers/0/uv.lock,target=/tmp/uv.lock");
    expect(sync).toContain("--mount=type=bind,from=imagespec-stage-0,source=/uv,target=/usr/local/bin/uv");
    expect(runArgv(sync)[2]).toBe('GH_TOKEN="$(cat /run/secrets/gh)"; export GH_TOKEN; uv sync --locked --python /opt/venv/bin/python');
    expect(lines.indexOf(lines.find((l) => l.includes("-m venv"))!)).toBeLessThan(lines.indexOf(sync));
    expect(lines).toContain(`ENV UV_PROJECT_ENVIRONMENT="/opt/venv" NOTE="\${IMAGESPEC_ENV_0_0}"`);
    expect(plan.buildArgs).toEqual({ IMAGESPEC_ENV_0_0: "two\nlines" });
    expect(plan.secrets).toEqual([{ id: "gh", env: "gh" }]);
    expect(plan.steps.find((s) => s.instruction === sync)).toMatchObject({ layerIndex: 0, layerKind: "testUvProject", description: "uv sync" });
  });

  interface StagedFields {
    readonly src: string;
  }
  const renderStaged: DockerLayerRenderer<StagedFields> = (layer, ctx) => {
    const tools = ctx.buildStage({ name: "tools" });
    tools.add(ctx.run("echo tools > /tools.txt", { description: "make the tools" }));
    const build = ctx.buildStage({ from: tools.name, name: "build" });
    build.add(ctx.copy(`${ctx.addFolder(layer.src)}/`, "/src/"), ctx.run("cat /tools.txt /src/main.py > /out.txt"));
    const helper = ctx.buildStage({ from: "alpine:3.20" });
    helper.add(ctx.run("echo helper > /helper.txt"));
    return [ctx.copy("/out.txt", "/opt/out.txt", { from: build.name }), ctx.copy("/helper.txt", "/opt/helper.txt", { from: helper.name })];
  };
  const stagedLayer = defineLayer({
    specificationVersion: "v1",
    kind: "testStaged",
    schema: z.object({ src: z.string() }).strict() as z.ZodType<StagedFields>,
    inputs: (f: StagedFields) => [{ field: "src", path: f.src, type: "folder" as const, exclude: ["**/*.log"] }],
    renderers: { docker: renderStaged },
  });

  it("writes a layer's build stages from the image as the layers before left it, and continues the image after them", async () => {
    const image = Image.fromDebianBase({ root, pythonVersion: "3.11" })
      .withAptPackages("curl")
      .withLayer(stagedLayer, { src: "src" })
      .withEnvVars({ AFTER: "1" });
    const plan = await renderDockerBuild(image);
    const lines = instructions(plan.dockerfile);
    const base = DEBIAN_TEMPLATE.replace("{python_version}", "3.11");
    expect(lines[0]).toBe(`FROM ${base} AS imagespec-before-layer-1`);
    expect(lines[1]).toMatch(/^RUN .*apt-get install/);
    expect(lines.slice(2, 4)).toEqual(["FROM imagespec-before-layer-1 AS imagespec-layer-1-tools", expect.stringMatching(/^RUN .*echo tools/)]);
    expect(lines.slice(4, 7)).toEqual([
      "FROM imagespec-layer-1-tools AS imagespec-layer-1-build",
      'COPY ["layers/1/","/src/"]',
      expect.stringMatching(/^RUN .*cat \/tools\.txt/),
    ]);
    expect(lines.slice(7, 9)).toEqual(["FROM alpine:3.20 AS imagespec-layer-1-stage", expect.stringMatching(/^RUN .*echo helper/)]);
    expect(lines.slice(9)).toEqual([
      "FROM imagespec-before-layer-1",
      'COPY --from=imagespec-layer-1-build ["/out.txt","/opt/out.txt"]',
      'COPY --from=imagespec-layer-1-stage ["/helper.txt","/opt/helper.txt"]',
      'ENV AFTER="1"',
      `ENV IMAGESPEC_IMAGE_ID="${image.id}"`,
    ]);
    expect(plan.dockerfile).toContain("# layers[1] testStaged: build stage imagespec-layer-1-build");
    expect(plan.baseReferences).toEqual([base, "alpine:3.20"]);
    // The folder is sent as its input was hashed: the image's ignore rules plus the layer's own exclusions.
    expect(plan.context.find((c) => c.path === "layers/1")).toMatchObject({ type: "folder", source: `${root}/src` });
    const sent = contextEntries(plan.context, image, await image.identity()).map((e) => e.name);
    expect(sent).toContain("layers/1/app/main.py");
    expect(sent.filter((name) => name.endsWith(".log"))).toEqual([]);
    // Steps numbered as BuildKit numbers them: per stage, FROM only when it is an image, not another stage.
    const step = (instruction: string) => plan.steps.find((s) => s.instruction === instruction);
    expect(step(lines[0]!)).toMatchObject({ stage: "imagespec-before-layer-1", number: 1 });
    expect(step(lines[1]!)).toMatchObject({ stage: "imagespec-before-layer-1", number: 2, layerIndex: 0 });
    expect(step(lines[3]!)).toMatchObject({
      stage: "imagespec-layer-1-tools",
      number: 1,
      layerIndex: 1,
      layerKind: "testStaged",
      description: "make the tools",
    });
    expect(step(lines[6]!)).toMatchObject({ stage: "imagespec-layer-1-build", number: 2, layerIndex: 1 });
    expect(step(lines[7]!)).toMatchObject({ stage: "imagespec-layer-1-stage", number: 1 });
    expect(step(lines[8]!)).toMatchObject({ stage: "imagespec-layer-1-stage", number: 2 });
    expect(step(lines[10]!)).toMatchObject({ stage: undefined, number: 1, layerIndex: 1 });
    expect(step("FROM imagespec-before-layer-1")).toBeUndefined();
  });

  it("leaves an image without build stages in one stage, as before", async () => {
    const lines = instructions((await renderDockerBuild(Image.fromDebianBase({ root }).withAptPackages("curl"))).dockerfile);
    expect(lines.filter((l) => l.startsWith("FROM "))).toHaveLength(1);
    expect(lines[0]).not.toContain(" AS ");
  });

  it("refuses a COPY from a stage that does not exist and a build stage from what is not an image or a stage", async () => {
    const copyFromNowhere = defineLayer({
      specificationVersion: "v1",
      kind: "testCopyFrom",
      schema: z.object({}).strict(),
      renderers: { docker: (_l: unknown, ctx: DockerRenderContext) => [ctx.copy("/a", "/b", { from: "nowhere" })] },
    });
    await expect(renderDockerBuild(Image.fromDebianBase({ root }).withLayer(copyFromNowhere, {}))).rejects.toMatchObject({
      code: "PLUGIN_ERROR",
      message: expect.stringMatching(/^Cannot write a COPY from "nowhere": it is not a stage/),
    });
    const badFrom = defineLayer({
      specificationVersion: "v1",
      kind: "testBadFrom",
      schema: z.object({}).strict(),
      renderers: { docker: (_l: unknown, ctx: DockerRenderContext) => [ctx.buildStage({ from: "Not An Image" }).name] },
    });
    await expect(renderDockerBuild(Image.fromDebianBase({ root }).withLayer(badFrom, {}))).rejects.toMatchObject({
      code: "PLUGIN_ERROR",
      message: expect.stringContaining('layers[0] (testBadFrom): from "Not An Image" is neither an image reference nor a stage'),
    });
  });

  it("refuses a renderer's line that would hold two instructions", async () => {
    const sneaky = defineLayer({
      specificationVersion: "v1",
      kind: "testSneaky",
      schema: z.object({}).strict(),
      renderers: { docker: () => ["RUN true\nRUN echo injected"] },
    });
    const image = Image.fromDebianBase({ root }).withLayer(sneaky, {});
    await expect(renderDockerBuild(image)).rejects.toMatchObject({ code: "PLUGIN_ERROR", message: expect.stringContaining("layers[0] (testSneaky)") });
  });

  it("says which layers it cannot render instead of ignoring them", () => {
    const foreign = defineLayer({ specificationVersion: "v1", kind: "testEnvdOnly", schema: z.object({}).strict(), renderers: { envd: () => "" } });
    const image = Image.fromDebianBase({ root }).withPipPackages("six").withLayer(foreign, {});
    expect(dockerRefusal(image)).toBe(
      "layers[1] is of kind testEnvdOnly, which has no docker renderer (its layer package does not support the docker builder)",
    );
  });
});

describe("dockerRefusal()", () => {
  it("accepts images from the Debian base, a reference, another Image and a Dockerfile", () => {
    const base = Image.fromDebianBase({ root }).withPipPackages("six");
    for (const image of [base, Image.fromBase("alpine:3", { root }), Image.fromBase(base, { root }), Image.fromDockerfile("docker/Dockerfile", { root })]) {
      expect(dockerRefusal(image)).toBeUndefined();
    }
  });

  it("gives reasons for what it cannot render", () => {
    expect(dockerRefusal(Image.fromBase("ghcr.io/org/py:1", { root }).withCuda({ cuda: "12.4.1" }))).toMatch(/withCuda replaces the Debian base/);
    expect(dockerRefusal(Image.fromDebianBase({ root, platform: "windows/amd64" }))).toMatch(/Linux images only, not windows\/amd64/);
    expect(dockerRefusal(Image.fromDebianBase({ root, builderOptions: { gpu: true } }))).toMatch(
      /builderOptions\.gpu = true: is not a builder option of the Docker builders \(they take cudaImage and micromambaImage/,
    );
  });

  it("renders a Dockerfile image as the user's file with the image id appended, its context folder as the context", async () => {
    const image = Image.fromDockerfile("docker/Dockerfile", { root });
    const plan = await renderDockerBuild(image);
    expect(plan.dockerfile).toBe(`FROM python:3.12-slim\nCOPY . /src\n\n# Added by imagespec\nENV IMAGESPEC_IMAGE_ID="${image.id}"\n`);
    expect(plan.context[0]).toMatchObject({ type: "folder", path: ".", source: `${root}/docker` });
    expect(plan.baseReferences).toEqual(["python:3.12-slim"]);
  });
});

describe("a second copy of core", () => {
  it("renders the built-in layers an Image from another copy of core holds (tsx's CommonJS copy beside the ESM one)", async () => {
    // The same built module under another URL is another module instance: its own builtinLayers, its own classes.
    const corePath = new URL(import.meta.resolve("@imagespec/core")).pathname;
    const other = (await import(`${corePath}?second-copy`)) as typeof import("@imagespec/core");
    const image = other.Image.fromBase("127.0.0.1:5000/imagespec/python:3.11-slim-bookworm", { root })
      .withAptPackages("git")
      .withCommands("echo hi")
      .withEntrypoint(["python"]);
    expect(dockerRefusal(image)).toBeUndefined();
    const plan = await renderDockerBuild(image);
    expect(instructions(plan.dockerfile).some((l) => l.includes("apt-get") && l.includes("git"))).toBe(true);
  });
});
