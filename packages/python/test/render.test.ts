/**
 * The Dockerfile each mode renders (through the docker builder's public `render`), the errors bad input gets, what
 * enters the tag, the plugin entry and the envd renderer. Rendering needs no engine: uv itself is only ever rendered
 * here, since it cannot be downloaded on these machines (see e2e.test.ts for what is built for real).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createDockerBuilder } from "@imagespec/builder-docker";
import { Image } from "@imagespec/core";
import { isPlugin, layerDefinition } from "@imagespec/core/authoring";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_UV_IMAGE, fromUvScript, poetryProjectLayer, uvProjectLayer, uvScriptLayer, withPoetryProject, withUvProject } from "../src/index.js";
import plugin from "../src/plugin.js";
import { FIXTURES, instructions, project, runScript, thrown, write } from "./support/project.js";

const builder = createDockerBuilder();
async function dockerfile(image: Image): Promise<string> {
  return (await builder.render!(image, { identity: await image.identity(), baseUri: undefined, config: {} })).content;
}
const runs = async (image: Image) => instructions(await dockerfile(image)).filter((l) => l.startsWith("RUN "));
/** The RUN lines of an image's own layer (the venv set-up left out). */
const installs = async (image: Image) => (await runs(image)).filter((l) => !runScript(l).includes("-m venv"));

let uvRoot: string;
let poetryRoot: string;
const uv = (options: Parameters<typeof withUvProject>[1] = {}, image = Image.fromDebianBase({ root: uvRoot, pythonVersion: "3.11" })) =>
  withUvProject(image, options);
const poetry = (options: Parameters<typeof withPoetryProject>[1] = {}, image = Image.fromDebianBase({ root: poetryRoot, pythonVersion: "3.11" })) =>
  withPoetryProject(image, options);

beforeAll(() => {
  process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = "127.0.0.1:5000/imagespec/python:{python_version}-slim-bookworm";
  uvRoot = project({ "src/demo_app/__init__.py": "" }, "uv-project");
  poetryRoot = project({ "poetry_demo/__init__.py": "" }, "poetry-project");
});

describe("withUvProject, installer uv", () => {
  it("renders the dependencies mode: uv from its image, pyproject.toml and uv.lock bind-mounted, uv sync --locked --no-install-project", async () => {
    const text = await dockerfile(uv());
    expect(text).toMatchSnapshot();
    expect(text.startsWith(`FROM ${DEFAULT_UV_IMAGE} AS imagespec-stage-0\n`)).toBe(true);
    const [run] = await installs(uv());
    expect(run).toContain("--mount=type=bind,from=imagespec-stage-0,source=/uv,target=/tmp/imagespec/bin/uv");
    expect(run).toContain("--mount=type=bind,source=layers/0/pyproject.toml,target=/tmp/imagespec/uv-project-0/pyproject.toml");
    expect(run).toContain("--mount=type=bind,source=layers/0-1/uv.lock,target=/tmp/imagespec/uv-project-0/uv.lock");
    expect(run).toContain("--mount=type=cache,id=imagespec-uv,target=/var/cache/imagespec/uv");
    expect(runScript(run!)).toBe(
      "cd /tmp/imagespec/uv-project-0 && env 'UV_CACHE_DIR=/var/cache/imagespec/uv' 'UV_LINK_MODE=copy' 'UV_PYTHON_DOWNLOADS=never' 'UV_NO_PROGRESS=1' 'UV_PROJECT_ENVIRONMENT=/opt/venv' /tmp/imagespec/bin/uv sync --locked --no-dev --inexact --python /opt/venv/bin/python --no-install-project",
    );
    // Nothing of the project is copied in this mode, and uv itself never enters the image.
    expect(instructions(text).filter((l) => l.startsWith("COPY"))).toEqual([]);
  });

  it("renders the project mode: dependencies first, then the project copied and synced non-editable", async () => {
    const image = uv({ installMode: "project", dst: "/srv/demo app" });
    const text = await dockerfile(image);
    expect(text).toMatchSnapshot();
    const lines = instructions(text);
    const copy = lines.findIndex((l) => l.startsWith("COPY"));
    expect(lines[copy]).toBe('COPY ["layers/0-2/","\\"/srv/demo app\\""]');
    const [deps, own] = await installs(image);
    expect(lines.indexOf(deps!)).toBeLessThan(copy);
    expect(lines.indexOf(own!)).toBeGreaterThan(copy);
    expect(runScript(own!)).toMatch(
      /^cd '\/srv\/demo app' && env .* \/tmp\/imagespec\/bin\/uv sync --locked --no-dev --inexact --python \/opt\/venv\/bin\/python --no-editable$/,
    );
    expect(own).toContain("--mount=type=bind,source=layers/0-1/uv.lock,target=/srv/demo\\ app/uv.lock ");
  });

  it("passes extra arguments and secret mounts to uv, quoted, and takes uv from another image when asked", async () => {
    const image = uv({
      extraArgs: ["--extra", "plot", "--index-strategy=unsafe-best-match", "it's"],
      secretMounts: [{ id: "index-token", asEnv: "UV_INDEX_PRIVATE_PASSWORD" }],
      uvImage: "registry.example.com/uv:0.9.0",
    });
    const text = await dockerfile(image);
    expect(text.split("\n")[0]).toBe("FROM registry.example.com/uv:0.9.0 AS imagespec-stage-0");
    const [run] = await installs(image);
    expect(run).toContain("--mount=type=secret,id=index-token,target=/run/secrets/index-token,required=true");
    expect(runScript(run!)).toMatch(/^UV_INDEX_PRIVATE_PASSWORD="\$\(cat \/run\/secrets\/index-token\)"; export UV_INDEX_PRIVATE_PASSWORD; cd /);
    expect(runScript(run!)).toMatch(/--no-install-project --extra plot --index-strategy=unsafe-best-match 'it'"'"'s'$/);
  });

  it("refuses uv sync into a conda environment", async () => {
    const image = uv({}, Image.fromDebianBase({ root: uvRoot, pythonVersion: "3.11" }).withCondaPackages(["numpy"]));
    const error = await thrown(() => dockerfile(image));
    expect(error.message).toMatch(/^Cannot render layers\[1\] \(uvProject\) with uv: uv sync installs into a virtual environment/);
    expect(error.hint).toContain('installer: "pip"');
  });
});

describe("withUvProject, installer pip", () => {
  it("renders the export: a generated requirements file with the lock's pins and hashes, pip --no-deps --require-hashes", async () => {
    const image = uv({ installer: "pip" });
    const text = await dockerfile(image);
    expect(text).toMatchSnapshot();
    expect(text).not.toContain("astral-sh/uv");
    const [run] = await installs(image);
    expect(runScript(run!)).toBe(
      "/opt/venv/bin/python -m pip install --disable-pip-version-check --no-input --cache-dir /var/cache/imagespec/pip --no-deps --require-hashes --requirement /tmp/imagespec/uv-project-0/requirements.txt",
    );
    expect(run).toContain("--mount=type=cache,id=imagespec-pip,target=/var/cache/imagespec/pip");
    expect(run).toContain("--mount=type=bind,source=layers/0/requirements.txt,target=/tmp/imagespec/uv-project-0/requirements.txt");
  });

  it("renders the project mode with pip: pins first, then the copied project, non-editable, with the lock's index", async () => {
    const root = project({ "src/demo_app/__init__.py": "" }, "uv-project");
    write(root, { "uv.lock": readFileSync(path.join(root, "uv.lock"), "utf8").replaceAll("https://pypi.org/simple", "https://mirror.example.com/simple") });
    const image = uv({ installer: "pip", installMode: "project", extraArgs: ["--no-build-isolation"] }, Image.fromDebianBase({ root, pythonVersion: "3.11" }));
    const text = await dockerfile(image);
    expect(text).toMatchSnapshot();
    const [pins, own] = (await installs(image)).map(runScript);
    expect(pins).toContain("--no-deps --require-hashes --index-url https://mirror.example.com/simple --no-build-isolation --requirement");
    expect(own).toBe(
      "/opt/venv/bin/python -m pip install --disable-pip-version-check --no-input --cache-dir /var/cache/imagespec/pip --no-deps --index-url https://mirror.example.com/simple --no-build-isolation /app",
    );
  });
});

describe("withPoetryProject", () => {
  it("renders the dependencies mode: the image's poetry, its virtualenv creation off, installing into the image's environment", async () => {
    const image = poetry();
    expect(await dockerfile(image)).toMatchSnapshot();
    const [run] = await installs(image);
    expect(run).toContain("--mount=type=bind,source=layers/0/pyproject.toml,target=/tmp/imagespec/poetry-project-0/pyproject.toml");
    expect(run).toContain("--mount=type=bind,source=layers/0-1/poetry.lock,target=/tmp/imagespec/poetry-project-0/poetry.lock");
    const script = runScript(run!);
    expect(script).toContain("command -v poetry >/dev/null 2>&1 || { echo 'imagespec: the image has no poetry command;");
    expect(script).toContain(
      "cd /tmp/imagespec/poetry-project-0 && env 'VIRTUAL_ENV=/opt/venv' 'POETRY_VIRTUALENVS_CREATE=false' 'POETRY_NO_INTERACTION=1' 'POETRY_CACHE_DIR=/var/cache/imagespec/poetry' 'PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring' poetry install --no-ansi --no-interaction --no-root --without dev",
    );
  });

  it("renders the project mode: the project copied, then poetry install --only-root", async () => {
    const image = poetry({ installMode: "project", extraArgs: ["--extras", "dates"], poetry: "/opt/poetry/bin/poetry" });
    expect(await dockerfile(image)).toMatchSnapshot();
    const [deps, own] = (await installs(image)).map(runScript);
    expect(deps).toMatch(/\/opt\/poetry\/bin\/poetry install --no-ansi --no-interaction --no-root --without dev --extras dates$/);
    expect(own).toMatch(
      /^command -v \/opt\/poetry\/bin\/poetry .*; cd \/app && env 'VIRTUAL_ENV=\/opt\/venv' .* \/opt\/poetry\/bin\/poetry install --no-ansi --no-interaction --only-root$/,
    );
  });

  it("asks poetry to leave out the dev group only when the project has one", async () => {
    const root = project({}, "poetry2-project");
    const [run] = await installs(withPoetryProject(Image.fromDebianBase({ root, pythonVersion: "3.11" })));
    expect(runScript(run!)).toMatch(/--no-root --without dev$/);
    const noDev = project({}, "poetry-legacy");
    const [legacy] = await installs(withPoetryProject(Image.fromDebianBase({ root: noDev, pythonVersion: "3.11" })));
    expect(runScript(legacy!)).toMatch(/--no-root --without dev$/); // legacy dev-dependencies are the dev group
  });
});

describe("fromUvScript", () => {
  const SCRIPT = [
    "# /// script",
    '# requires-python = ">=3.12"',
    '# dependencies = ["rich>=13", "httpx"]',
    "# [tool.uv]",
    '# index-url = "https://mirror.example.com/simple"',
    '# extra-index-url = ["https://extra.example.com/simple"]',
    '# prerelease = "allow"',
    "# ///",
    "print('hi')",
    "",
  ].join("\n");
  let root: string;
  beforeAll(() => {
    root = project({ "scripts/tool.py": SCRIPT, "plain.py": "print('no metadata')\n" });
  });

  it("installs the declared dependencies with uv pip and the [tool.uv] indexes, then copies the script", async () => {
    const image = fromUvScript("scripts/tool.py", { root, name: "tool" });
    expect(image.pythonVersion).toBe("3.12");
    expect(image.base).toEqual({ type: "debian", pythonVersion: "3.12", uri: "127.0.0.1:5000/imagespec/python:3.12-slim-bookworm" });
    const text = await dockerfile(image);
    expect(text).toMatchSnapshot();
    const [run] = await installs(image);
    expect(runScript(run!)).toBe(
      "env 'UV_CACHE_DIR=/var/cache/imagespec/uv' 'UV_LINK_MODE=copy' 'UV_PYTHON_DOWNLOADS=never' 'UV_NO_PROGRESS=1' 'UV_PROJECT_ENVIRONMENT=/opt/venv' /tmp/imagespec/bin/uv pip install --python /opt/venv/bin/python --index-url https://mirror.example.com/simple --extra-index-url https://extra.example.com/simple --prerelease allow --requirement /tmp/imagespec/uv-script-0/requirements.txt",
    );
    expect(instructions(text)).toContain('COPY ["layers/1/","/app/"]');
  });

  it("installs with pip when asked, and sets the entrypoint to run the script", async () => {
    const image = fromUvScript("scripts/tool.py", { root, installer: "pip", dst: "/opt/tools/", entrypoint: true });
    const text = await dockerfile(image);
    expect(text).toMatchSnapshot();
    const [run] = await installs(image);
    expect(runScript(run!)).toBe(
      "/opt/venv/bin/python -m pip install --disable-pip-version-check --no-input --cache-dir /var/cache/imagespec/pip --index-url https://mirror.example.com/simple --extra-index-url https://extra.example.com/simple --pre --requirement /tmp/imagespec/uv-script-0/requirements.txt",
    );
    expect(instructions(text)).toContain('ENTRYPOINT ["python","/opt/tools/tool.py"]');
  });

  it("chooses the Python version from requires-python: the default when allowed, else the nearest allowed", () => {
    expect(fromUvScript("plain.py", { root }).pythonVersion).toBe("3.12");
    write(root, { "new.py": '# /// script\n# requires-python = ">=3.13"\n# ///\n', "old.py": '# /// script\n# requires-python = "<3.11"\n# ///\n' });
    expect(fromUvScript("new.py", { root }).pythonVersion).toBe("3.13");
    expect(fromUvScript("old.py", { root }).pythonVersion).toBe("3.10");
    expect(fromUvScript("old.py", { root, pythonVersion: "3.9" }).pythonVersion).toBe("3.9");
  });

  it("refuses a stated Python version requires-python excludes, and a requires-python nothing satisfies", async () => {
    const error = await thrown(() => fromUvScript("scripts/tool.py", { root, pythonVersion: "3.11" }));
    expect(error.message).toBe('Cannot build scripts/tool.py with Python 3.11: the script\'s requires-python is ">=3.12"');
    expect(error.field).toBe("pythonVersion");
    expect(error.value).toBe("3.11");
    write(root, { "never.py": '# /// script\n# requires-python = ">=3.12,<3.12"\n# ///\n' });
    const none = await thrown(() => fromUvScript("never.py", { root }));
    expect(none.message).toBe('Cannot choose a Python version for never.py: no Python 3.8–3.14 satisfies its requires-python ">=3.12,<3.12"');
  });

  it("renders nothing to install for a script without dependencies, and still copies it", async () => {
    const text = await dockerfile(fromUvScript("plain.py", { root }));
    expect(await installs(fromUvScript("plain.py", { root }))).toEqual([]);
    expect(instructions(text)).toContain('COPY ["layers/1/","/app/"]');
  });

  it("refuses [tool.uv] settings it cannot honour, naming them", async () => {
    write(root, {
      "sources.py":
        '# /// script\n# dependencies = ["x"]\n# [tool.uv.sources]\n# x = { git = "https://example.com/x" }\n# [tool.uv]\n# index-strategy = "fastest"\n# ///\n',
    });
    const error = await thrown(() => fromUvScript("sources.py", { root }));
    expect(error.message).toContain("Cannot use the [tool.uv] settings of sources.py:");
    expect(error.message).toContain("sources: per-package sources are not supported for scripts");
    expect(error.message).toContain('index-strategy = "fastest": expected one of first-index, unsafe-first-match, unsafe-best-match');
    write(root, { "newer.py": '# /// script\n# dependencies = ["x"]\n# [tool.uv]\n# exclude-newer = "2024-03-25T00:00:00Z"\n# ///\n' });
    expect(fromUvScript("newer.py", { root }).layers[0]!.index).toEqual({ excludeNewer: "2024-03-25T00:00:00Z" });
    const pip = await thrown(() => fromUvScript("newer.py", { root, installer: "pip" }));
    expect(pip.message).toContain('index.excludeNewer = "2024-03-25T00:00:00Z": pip has no equivalent of [tool.uv] exclude-newer');
  });

  it("refuses to render a script whose block changed after the image was defined", async () => {
    const dir = project({ "s.py": '# /// script\n# dependencies = ["rich"]\n# ///\n' });
    const image = fromUvScript("s.py", { root: dir });
    write(dir, { "s.py": '# /// script\n# dependencies = ["rich", "httpx"]\n# ///\n' });
    const error = await thrown(() => dockerfile(image));
    expect(error.message).toBe("Cannot render the script s.py: its `# /// script` block changed after the image was defined");
  });

  it("renders for envd when only dependencies are asked for, and says why not otherwise", () => {
    const envd = uvScriptLayer.renderers!.envd as (fields: Record<string, unknown>, ctx: unknown) => unknown;
    expect(envd({ script: "a.py", dependencies: ["rich>=13", "numpy<2,>=1.26"] }, {})).toEqual({
      stage: "packages",
      statements: [`install.python_packages(name=["'rich>=13'", "'numpy<2,>=1.26'"])`],
    });
    expect(envd({ script: "a.py", dependencies: ["rich"], index: { defaultIndex: "https://x.example.com/simple" } }, {})).toMatch(
      /envd has one package index setting/,
    );
    expect(uvProjectLayer.renderers!.envd).toBeUndefined();
  });
});

describe("bad input", () => {
  it("names every bad field and its value", async () => {
    const error = await thrown(() => uv({ installMode: "everything" as never, extraArgs: ["ok", "two\nlines"], uvImage: "bad image" }));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.message).toContain('installMode = "everything": expected one of "dependencies", "project"');
    expect(error.message).toContain('extraArgs[1] = "two\\nlines": an argument cannot contain NUL or newlines');
    expect(error.message).toContain('uvImage = "bad image"');
  });

  it("refuses options that would have no effect", async () => {
    expect((await thrown(() => uv({ dst: "/srv" }))).message).toContain('dst = "/srv": dst is where installMode "project" copies the project');
    expect((await thrown(() => uv({ installer: "pip", uvImage: "ghcr.io/astral-sh/uv:0.9.0" }))).message).toContain(
      'uvImage = "ghcr.io/astral-sh/uv:0.9.0": uvImage is where uv comes from',
    );
    expect((await thrown(() => poetry({ dst: "/srv" }))).message).toContain('dst = "/srv"');
  });

  it("says a missing lock is missing, naming the field, the path and the command that makes it", async () => {
    const root = project({ "pyproject.toml": readFileSync(path.join(FIXTURES, "uv-project/pyproject.toml"), "utf8") });
    const error = await thrown(() => withUvProject(Image.fromDebianBase({ root })));
    expect(error.code).toBe("FILE_NOT_FOUND");
    expect(error.message).toBe(`Cannot use the uv project lock = "uv.lock": ${path.join(root, "uv.lock")} does not exist`);
    expect(error.field).toBe("lock");
    expect(error.hint).toContain("uv lock");
    const poetryError = await thrown(() => withPoetryProject(Image.fromDebianBase({ root }), { lock: "locks/poetry.lock" }));
    expect(poetryError.message).toContain('Cannot use the poetry project lock = "locks/poetry.lock"');
    expect(poetryError.hint).toContain("poetry lock");
  });

  it("refuses a stale uv lock before any build, listing what changed", async () => {
    const root = project({}, "uv-project");
    write(root, {
      "pyproject.toml": readFileSync(path.join(root, "pyproject.toml"), "utf8").replace('"requests>=2.31,<3"', '"requests>=2.31,<3",\n    "httpx>=0.27"'),
    });
    const error = await thrown(() => withUvProject(Image.fromDebianBase({ root })));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.message).toBe(
      "Cannot use the uv lock uv.lock: it is stale against pyproject.toml: dependencies: pyproject.toml asks for httpx>=0.27, which the lock does not record",
    );
    expect(error.hint).toMatch(/^Run `uv lock`/);
  });

  it("refuses a Python version the project does not support", async () => {
    const uvError = await thrown(() => uv({}, Image.fromDebianBase({ root: uvRoot, pythonVersion: "3.9" })));
    expect(uvError.message).toBe('Cannot install the uv project pyproject.toml into Python 3.9: its project.requires-python is ">=3.10"');
    expect(uvError.field).toBe("pythonVersion");
    const poetryError = await thrown(() => poetry({}, Image.fromDebianBase({ root: poetryRoot, pythonVersion: "3.9" })));
    expect(poetryError.message).toBe('Cannot install the poetry project pyproject.toml into Python 3.9: its tool.poetry.dependencies.python is "^3.10"');
  });

  it("refuses a pyproject.toml without a project, and says where bad TOML is", async () => {
    const root = project({
      "pyproject.toml": "[tool.black]\nline-length = 100\n",
      "uv.lock": "version = 1\n",
      "bad/pyproject.toml": "[project\nname = 1\n",
      "bad/uv.lock": "version = 1\n",
    });
    expect((await thrown(() => withUvProject(Image.fromDebianBase({ root })))).message).toBe(
      "Cannot use the uv project pyproject.toml: it has no [project] table with a name",
    );
    expect(await thrown(() => withUvProject(Image.fromDebianBase({ root }), { pyproject: "bad/pyproject.toml" }))).toMatchObject({
      message: expect.stringMatching(/^Cannot read pyproject = "bad\/pyproject\.toml": invalid TOML on line 1/),
    });
  });
});

describe("identity", () => {
  it("puts pyproject.toml and the lock into the tag by content, listed for explain", async () => {
    const root = project({}, "uv-project");
    const image = withUvProject(Image.fromDebianBase({ root }));
    const identity = await image.identity();
    expect(identity.inputs.map((i) => i.name)).toEqual([
      "base",
      "python",
      "platforms",
      "layers[0].uvProject",
      "layers[0].uvProject.pyproject",
      "layers[0].uvProject.lock",
    ]);
    expect(identity.inputs.find((i) => i.name === "layers[0].uvProject.lock")!.detail).toBe("uv.lock");
    write(root, { "uv.lock": `${readFileSync(path.join(root, "uv.lock"), "utf8")}\n# a comment\n` });
    const changed = await withUvProject(Image.fromDebianBase({ root })).identity();
    expect(changed.tag).not.toBe(identity.tag);
    expect(changed.id).toBe(identity.id); // the definition is the same; only the file's bytes changed
  });

  it("puts the project folder into the tag in project mode", async () => {
    const root = project({ "src/demo_app/__init__.py": "A = 1\n" }, "uv-project");
    const image = withUvProject(Image.fromDebianBase({ root }), { installMode: "project" });
    const before = await image.identity();
    expect(before.inputs.map((i) => i.name)).toContain("layers[0].uvProject.project");
    write(root, { "src/demo_app/__init__.py": "A = 2\n" });
    expect((await withUvProject(Image.fromDebianBase({ root }), { installMode: "project" }).identity()).tag).not.toBe(before.tag);
  });

  it("keeps secret sources out of the tag, and lets the uv image and installer in", async () => {
    const a = uv({ secretMounts: [{ id: "tok", env: "A" }] });
    const b = uv({ secretMounts: [{ id: "tok", env: "B" }] });
    expect(await a.tag()).toBe(await b.tag());
    expect(await uv({ uvImage: "ghcr.io/astral-sh/uv:0.9.0" }).tag()).not.toBe(await uv().tag());
    expect(await uv({ installer: "pip" }).tag()).not.toBe(await uv().tag());
  });
});

describe("SSH mounts (git+ssh:// dependencies)", () => {
  it("mount the agent on every install step of uv and poetry projects and of scripts, never on the copy", async () => {
    const uvRuns = await installs(uv({ installMode: "project", sshMounts: ["default"] }));
    expect(uvRuns.length).toBeGreaterThanOrEqual(2);
    for (const run of uvRuns) expect(run).toContain("--mount=type=ssh,id=default,required=true ");
    const poetryRuns = await installs(poetry({ sshMounts: [{ id: "git", keys: ["deploy_key"] }] }));
    for (const run of poetryRuns) expect(run).toContain("--mount=type=ssh,id=git,required=true ");
    const root = project({ "tool.py": '# /// script\n# dependencies = ["requests"]\n# ///\nprint(1)\n' });
    const script = await installs(fromUvScript("tool.py", { root, sshMounts: ["default"] }));
    expect(script.filter((l) => l.includes("type=ssh"))).toHaveLength(1);
  });

  it("count the mount's id and target, not its keys; envd refuses them", async () => {
    expect(await uv({ sshMounts: [{ keys: ["a"] }] }).tag()).toBe(await uv({ sshMounts: ["default"] }).tag());
    expect(await uv({ sshMounts: ["default"] }).tag()).not.toBe(await uv().tag());
    const root = project({ "tool.py": "print(1)\n" });
    const layer = fromUvScript("tool.py", { root, sshMounts: ["default"] }).layers[0]!;
    const envd = (layerDefinition(layer)!.renderers as { envd?: (f: Record<string, unknown>) => unknown }).envd;
    expect(envd?.({ ...layer })).toMatch(/envd cannot forward SSH agents/);
  });
});

describe("the plugin", () => {
  it("default-exports a plugin with the lock handlers and no builder; layers carry their own definitions", () => {
    expect(isPlugin(plugin)).toBe(true);
    expect(plugin.name).toBe("@imagespec/python");
    expect(plugin.specificationVersion).toBe("v1");
    expect(plugin.requirementsFiles.map((h) => h.fileName)).toEqual(["uv.lock", "poetry.lock"]);
    expect(plugin.builders).toEqual([]);
    expect(layerDefinition(uv().layers[0]!)).toBe(uvProjectLayer);
    expect(layerDefinition(poetry().layers[0]!)).toBe(poetryProjectLayer);
  });

  it("is declared as a plugin in package.json, with @imagespec/core as a peer dependency and no builder dependency", () => {
    const pkg = JSON.parse(readFileSync(path.join(FIXTURES, "..", "..", "package.json"), "utf8"));
    expect(pkg.imagespec).toEqual({ plugin: "./dist/plugin.js" });
    expect(pkg.keywords).toContain("imagespec-plugin");
    expect(pkg.peerDependencies["@imagespec/core"]).toBeDefined();
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith("@imagespec/"))).toEqual([]);
  });

  it("renders with the docker builder, which knows nothing of uv or poetry", () => {
    expect(builder.supports(uv())).toBe(true);
    expect(builder.supports(poetry())).toBe(true);
  });
});
