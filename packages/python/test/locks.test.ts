/** uv.lock and poetry.lock: parsing, staleness against pyproject.toml, the pip export, poetry's content hash. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parsePoetryLock, poetryContentHashes, poetryLockStaleness, pythonJson } from "../src/poetry-lock.js";
import { parseToml } from "../src/toml.js";
import { exportRequirements, parseUvLock, rootPackage, sameRequiresPython, uvLockStaleness } from "../src/uv-lock.js";
import { FIXTURES, thrown } from "./support/project.js";

const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), "utf8");
const uvPyproject = () => parseToml(fixture("uv-project/pyproject.toml"), "pyproject.toml");
const uvLock = () => parseUvLock(fixture("uv-project/uv.lock"), "uv.lock");
/** The uv fixture's pyproject.toml with a text replacement. */
const editedPyproject = (from: string, to: string) => {
  const text = fixture("uv-project/pyproject.toml");
  expect(text).toContain(from);
  return parseToml(text.replace(from, to), "pyproject.toml");
};

describe("uv.lock", () => {
  it("parses packages, sources, hashes and the project's recorded metadata", () => {
    const lock = uvLock();
    expect(lock.version).toBe(1);
    expect(lock.revision).toBe(2);
    expect(lock.requiresPython).toBe(">=3.10");
    expect(lock.packages).toHaveLength(14);
    const root = rootPackage(lock, "demo_app")!;
    expect(root.name).toBe("demo-app");
    expect(root.source).toEqual({ editable: "." });
    expect(root.requiresDist!.map((r) => r.name)).toEqual(["colorama", "matplotlib", "requests", "rich"]);
    expect(root.requiresDev).toEqual({ dev: [{ name: "pytest", specifier: ">=8", extras: [] }] });
    const requests = lock.packages.find((p) => p.name === "requests")!;
    expect(requests.sdist?.hash).toBe("sha256:55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760");
    expect(requests.wheels.map((w) => w.hash)).toEqual(["sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6"]);
    expect(lock.packages.find((p) => p.name === "rich")!.optionalDependencies).toEqual({ jupyter: [{ name: "ipywidgets", extra: [] }] });
  });

  it("refuses a lock format it does not know, and names the line of a TOML error", async () => {
    expect((await thrown(() => parseUvLock("version = 2\n", "uv.lock"))).message).toBe(
      "Cannot read the uv lock uv.lock: it is lock format version 2, and this package reads version 1 (written by uv 0.4 and later)",
    );
    expect((await thrown(() => parseUvLock("[[package]]\nname = 'x'\n", "uv.lock"))).message).toContain("it has no `version`");
    const error = await thrown(() => parseUvLock('version = 1\n\n[[package]]\nname = "x\n', "sub/uv.lock"));
    expect(error.message).toMatch(/^Cannot read the uv lock sub\/uv\.lock: invalid TOML on line 4/);
  });

  it("is fresh for the pyproject.toml it was made from", () => {
    expect(uvLockStaleness(uvPyproject(), uvLock())).toEqual([]);
  });

  it("is fresh when only spacing, order and spelling differ", () => {
    expect(uvLockStaleness(editedPyproject('"requests>=2.31,<3"', '"Requests < 3 , >= 2.31.0"'), uvLock())).toEqual([]);
  });

  it("is stale when a dependency is added, removed or changes its version range, an extra or a group changes", () => {
    expect(uvLockStaleness(editedPyproject('"requests>=2.31,<3"', '"requests>=2.32,<3"'), uvLock())).toEqual([
      "dependencies: pyproject.toml asks for requests>=2.32,<3, which the lock does not record",
      "dependencies: the lock records requests>=2.31,<3, which pyproject.toml no longer asks for",
    ]);
    expect(uvLockStaleness(editedPyproject('"rich[jupyter]>=13",', '"rich[jupyter]>=13",\n    "httpx",'), uvLock())).toEqual([
      "dependencies: pyproject.toml asks for httpx, which the lock does not record",
    ]);
    expect(uvLockStaleness(editedPyproject('    "rich[jupyter]>=13",\n', ""), uvLock())).toEqual([
      "dependencies: the lock records rich[jupyter]>=13, which pyproject.toml no longer asks for",
    ]);
    expect(uvLockStaleness(editedPyproject('plot = ["matplotlib>=3.8"]', 'plot = ["matplotlib>=3.9"]'), uvLock())[0]).toBe(
      "dependencies: pyproject.toml asks for matplotlib>=3.9 (extra plot), which the lock does not record",
    );
    expect(uvLockStaleness(editedPyproject('dev = ["pytest>=8"]', 'dev = ["pytest>=8", "ruff"]'), uvLock())).toEqual([
      "dependency group dev: pyproject.toml asks for ruff, which the lock does not record",
    ]);
    expect(uvLockStaleness(editedPyproject('requires-python = ">=3.10"', 'requires-python = ">=3.11"'), uvLock())).toEqual([
      'requires-python: pyproject.toml has ">=3.11", the lock was made for ">=3.10"',
    ]);
    expect(uvLockStaleness(editedPyproject('name = "Demo_App"', 'name = "other"'), uvLock())).toEqual([
      'the lock has no entry for the project "other" (was it made for another project?)',
    ]);
  });

  it("compares requires-python by the versions it allows (uv rewrites ~= as a range)", () => {
    expect(sameRequiresPython("~=3.10", ">=3.10, <4")).toBe(true);
    expect(sameRequiresPython(">=3.10", ">=3.10.0")).toBe(true);
    expect(sameRequiresPython(">=3.10", ">=3.11")).toBe(false);
    expect(sameRequiresPython("==3.11.*", ">=3.11,<3.12")).toBe(true);
  });

  it("exports what `uv sync --no-dev` installs: the walk from the project, extras followed, markers kept, hashes, no dev, no unrequested extra", () => {
    const lock = uvLock();
    const out = exportRequirements(lock, rootPackage(lock, "demo-app")!, "uv.lock");
    const lines = out.text.trimEnd().split("\n");
    expect(lines.map((l) => l.split(" --hash")[0])).toEqual([
      "certifi==2024.8.30",
      "colorama==0.4.6 ; sys_platform == 'win32'",
      "idna==3.10",
      "ipywidgets==8.1.5",
      "markdown-it-py==3.0.0",
      "mdurl==0.1.2",
      "pygments==2.18.0",
      "requests==2.32.3",
      "rich==13.9.2",
      "typing-extensions==4.12.2 ; python_full_version < '3.11'",
      "urllib3==2.2.3",
    ]);
    expect(out.hashes).toBe(true);
    expect(out.count).toBe(11);
    expect(lines.find((l) => l.startsWith("requests=="))).toBe(
      "requests==2.32.3 --hash=sha256:55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760 --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6",
    );
    expect(out.indexes).toEqual(["https://pypi.org/simple"]);
  });

  const small = (extra: string) =>
    parseUvLock(
      [
        "version = 1",
        'requires-python = ">=3.11"',
        "",
        "[[package]]",
        'name = "app"',
        'version = "1.0"',
        'source = { virtual = "." }',
        "dependencies = [",
        '    { name = "a", marker = "os_name == \'posix\'" },',
        '    { name = "b" },',
        "]",
        "",
        "[[package]]",
        'name = "a"',
        'version = "1.0"',
        'source = { registry = "https://mirror.example.com/simple" }',
        'dependencies = [{ name = "c", marker = "python_full_version < \'3.12\'" }]',
        'wheels = [{ url = "https://mirror.example.com/a-1.0-py3-none-any.whl", hash = "sha256:aa" }]',
        "",
        "[[package]]",
        'name = "c"',
        'version = "2.0"',
        'source = { registry = "https://pypi.org/simple" }',
        'wheels = [{ url = "https://files.example.com/c-2.0-py3-none-any.whl", hash = "sha256:cc" }]',
        "",
        extra,
      ].join("\n"),
      "uv.lock",
    );

  it("exports git sources at their commit, without hashes (and then no line has hashes), and ands the markers of a path", () => {
    const lock = small(["[[package]]", 'name = "b"', 'version = "0.3.0"', 'source = { git = "https://github.com/org/b?rev=main#4a5b6c7d8e9f" }'].join("\n"));
    const out = exportRequirements(lock, rootPackage(lock, "app")!, "uv.lock");
    expect(out.hashes).toBe(false);
    expect(out.text).toBe(
      [
        "a==1.0 ; os_name == 'posix'",
        "b @ git+https://github.com/org/b@4a5b6c7d8e9f",
        "c==2.0 ; (os_name == 'posix') and (python_full_version < '3.12')",
        "",
      ].join("\n"),
    );
    expect(out.indexes).toEqual(["https://pypi.org/simple", "https://mirror.example.com/simple"]);
  });

  it("refuses to export a package from a local path, naming it and what to do", async () => {
    const lock = small(["[[package]]", 'name = "b"', 'version = "0.3.0"', 'source = { directory = "../b" }'].join("\n"));
    const error = await thrown(() => exportRequirements(lock, rootPackage(lock, "app")!, "uv.lock"));
    expect(error.message).toBe('Cannot install b from the uv lock uv.lock with pip: it comes from a local directory ("../b"), which is not in the image');
    expect(error.field).toBe("installer");
    expect(error.hint).toContain('installer: "uv"');
  });
});

describe("poetry.lock", () => {
  it("parses lock-version 2.0: packages, optional, files with hashes", () => {
    const lock = parsePoetryLock(fixture("poetry-project/poetry.lock"), "poetry.lock");
    expect(lock.lockVersion).toBe("2.0");
    expect(lock.pythonVersions).toBe("^3.10");
    expect(lock.packages.map((p) => [p.name, p.version, p.optional])).toEqual([
      ["certifi", "2024.8.30", false],
      ["pendulum", "3.0.0", true],
      ["pytest", "8.3.3", false],
      ["requests", "2.32.3", false],
    ]);
    expect(lock.packages.find((p) => p.name === "requests")!.files).toHaveLength(2);
  });

  it("parses lock-version 1.1: categories, and hashes from [metadata.files]", () => {
    const lock = parsePoetryLock(fixture("poetry-legacy/poetry.lock"), "poetry.lock");
    expect(lock.lockVersion).toBe("1.1");
    expect(lock.packages.map((p) => [p.name, p.groups])).toEqual([
      ["black", ["dev"]],
      ["click", ["main"]],
      ["ruamel-yaml", ["main"]],
    ]);
    expect(lock.packages.find((p) => p.name === "click")!.files.map((f) => f.file)).toEqual(["click-8.1.3-py3-none-any.whl", "click-8.1.3.tar.gz"]);
  });

  it("parses lock-version 2.1 (poetry 2): groups", () => {
    const lock = parsePoetryLock(fixture("poetry2-project/poetry.lock"), "poetry.lock");
    expect(lock.packages.map((p) => [p.name, p.groups])).toEqual([
      ["pytest", ["dev"]],
      ["requests", ["main"]],
    ]);
  });

  it("refuses what is not a poetry lock, or a lock-version it does not know", async () => {
    expect((await thrown(() => parsePoetryLock("[[package]]\n", "poetry.lock"))).message).toBe(
      "Cannot read the poetry lock poetry.lock: it has no [metadata] table; is it a poetry.lock?",
    );
    expect((await thrown(() => parsePoetryLock('[metadata]\nlock-version = "3.0"\n', "poetry.lock"))).message).toContain("lock-version 3.0");
    expect((await thrown(() => parsePoetryLock('[metadata]\nlock-version = "2.0"\n', "poetry.lock"))).message).toContain("no sha256 content-hash");
  });

  it("computes the content hash poetry computes (the fixtures' hashes come from CPython's json.dumps)", () => {
    for (const name of ["poetry-project", "poetry-legacy", "poetry2-project"]) {
      const pyproject = parseToml(fixture(`${name}/pyproject.toml`), "pyproject.toml");
      const lock = parsePoetryLock(fixture(`${name}/poetry.lock`), "poetry.lock");
      expect(poetryContentHashes(pyproject), name).toContain(lock.contentHash);
      expect(poetryLockStaleness(pyproject, lock), name).toEqual([]);
    }
  });

  it("is stale once a dependency section changes, not when the description does", () => {
    const text = fixture("poetry-project/pyproject.toml");
    const lock = parsePoetryLock(fixture("poetry-project/poetry.lock"), "poetry.lock");
    const changed = parseToml(text.replace('requests = "^2.31"', 'requests = "^2.32"'), "pyproject.toml");
    expect(poetryLockStaleness(changed, lock)[0]).toMatch(/^its content-hash f673711fb752… does not match pyproject\.toml's dependency sections/);
    const described = parseToml(text.replace("A poetry project fixture", "Something else"), "pyproject.toml");
    expect(poetryLockStaleness(described, lock)).toEqual([]);
  });

  it("writes JSON as CPython's json.dumps(sort_keys=True) does", () => {
    expect(pythonJson({ b: [1n, 1.0, 0.5, 1e-5, true, null], a: "café ☕ \u007f\n" })).toBe(
      '{"a": "caf\\u00e9 \\u2615 \\u007f\\n", "b": [1, 1.0, 0.5, 1e-05, true, null]}',
    );
    expect(pythonJson([1.5e-7, 1e16, 123.456, 0.0001, 1e22, 0])).toBe("[1.5e-07, 1e+16, 123.456, 0.0001, 1e+22, 0.0]");
    expect(pythonJson({})).toBe("{}");
    expect(pythonJson([])).toBe("[]");
  });
});
