import { describe, expect, it } from "vitest";
import {
  checkAptPackage,
  checkCondaChannel,
  checkCondaPackage,
  checkContainedRelativePath,
  checkCudaVersion,
  checkEnvName,
  checkImageName,
  checkIndexUrl,
  checkPep508,
  checkPlatform,
  checkPythonVersion,
  checkRegistry,
  checkTagFormat,
} from "../src/grammar.js";
import { normalizeImageReference, parseImageReference } from "../src/reference.js";

describe("PEP 508 requirements", () => {
  it.each([
    "numpy",
    "pandas<2,>=1.5",
    "pandas <2, >=1.5",
    "requests[socks,security]>=2.31",
    'requests>=2; python_version >= "3.8"',
    "torch==2.3.1+cpu",
    "a",
    "zope.interface~=6.0",
    "pkg===1.0",
    "name @ https://example.com/pkg-1.0-py3-none-any.whl",
    'name @ https://example.com/x.whl ; sys_platform == "linux"',
    'pywin32; sys_platform == "win32" and (platform_machine == "x86" or platform_machine == "AMD64")',
    "numpy (>=1.26)",
    "foo[bar]",
    "Django>=4,!=4.0.1",
    "pre-release>=1.0rc1",
  ])("accepts %s", (requirement) => {
    expect(checkPep508(requirement)).toBeUndefined();
  });

  it.each([
    ["", "empty"],
    ["numpy>>1", "operator"],
    ["-numpy", "package name"],
    ["numpy; rm -rf /", "marker"],
    ["numpy\nRUN echo pwned", "newline"],
    ["numpy==", "version after the operator"],
    ["numpy>=1,", "operator"],
    ["requests[socks", "extras"],
    ['numpy; python_version >= "3.8" garbage', "unexpected"],
    ["numpy; bogus_var == '1'", "not a PEP 508 marker variable"],
    ["name @ https://x/y.whl; sys_platform == 'linux'", "space"],
    ["numpy 1.0", "unexpected"],
  ])("rejects %j (%s)", (requirement, why) => {
    expect(checkPep508(requirement)).toContain(why);
  });
});

describe("Debian package names", () => {
  it.each(["curl", "g++", "libssl3", "python3.11-venv", "ca-certificates", "libc6:amd64", "curl=7.88.1-10", "git/bookworm-backports"])("accepts %s", (name) => {
    expect(checkAptPackage(name)).toBeUndefined();
  });
  it.each(["Curl", "a", "-curl", "curl;ls", "curl git", "curl\n", "$(id)"])("rejects %j", (name) => {
    expect(checkAptPackage(name)).toMatch(/Debian package name/);
  });
});

describe("conda", () => {
  it.each(["numpy", "numpy=1.26", "numpy>=1.26,<2", "conda-forge::numpy", "pytorch=2.1=py3.11_cuda12.1_cudnn8.9.2_0"])("accepts package %s", (spec) => {
    expect(checkCondaPackage(spec)).toBeUndefined();
  });
  it.each(["numpy;ls", "num py", ""])("rejects package %j", (spec) => {
    expect(checkCondaPackage(spec)).toBeDefined();
  });
  it("accepts channel names and URLs, rejects shell text", () => {
    expect(checkCondaChannel("conda-forge")).toBeUndefined();
    expect(checkCondaChannel("https://conda.anaconda.org/conda-forge")).toBeUndefined();
    expect(checkCondaChannel("x; rm")).toBeDefined();
  });
});

describe("platforms", () => {
  it.each(["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm64/v8", "windows/amd64"])("accepts %s", (p) => {
    expect(checkPlatform(p)).toBeUndefined();
  });
  it("suggests the Docker spelling of an architecture", () => {
    expect(checkPlatform("linux/x86_64")).toContain("did you mean linux/amd64?");
    expect(checkPlatform("linux/aarch64")).toContain("linux/arm64");
  });
  it.each(["linux", "amd64", "linux/amd64/v3/x", "beos/amd64", "linux/arm/7"])("rejects %s", (p) => {
    expect(checkPlatform(p)).toBeDefined();
  });
});

describe("versions, names and URLs", () => {
  it("python versions are strings like 3.12 and never 3.1x", () => {
    expect(checkPythonVersion("3.10")).toBeUndefined();
    expect(checkPythonVersion("3.12.4")).toBeUndefined();
    expect(checkPythonVersion("3")).toBeDefined();
    expect(checkPythonVersion("2.7")).toBeDefined();
    expect(checkPythonVersion("3.x")).toBeDefined();
  });
  it("cuda versions", () => {
    expect(checkCudaVersion("12.4.1")).toBeUndefined();
    expect(checkCudaVersion("12")).toBeDefined();
  });
  it("env names", () => {
    expect(checkEnvName("PATH_2")).toBeUndefined();
    expect(checkEnvName("2X")).toBeDefined();
    expect(checkEnvName("A-B")).toBeDefined();
    expect(checkEnvName("A B")).toBeDefined();
  });
  it("image names follow the distribution grammar and suggest lowercase", () => {
    expect(checkImageName("my-app/worker_1")).toBeUndefined();
    expect(checkImageName("MyApp")).toContain('did you mean "myapp"');
    expect(checkImageName("a//b")).toBeDefined();
    expect(checkImageName("-a")).toBeDefined();
  });
  it("registries are host[:port][/namespace] without a scheme", () => {
    expect(checkRegistry("ghcr.io/my-org")).toBeUndefined();
    expect(checkRegistry("127.0.0.1:5000")).toBeUndefined();
    expect(checkRegistry("localhost:5000/team/sub")).toBeUndefined();
    expect(checkRegistry("https://ghcr.io/x")).toContain('"ghcr.io/x"');
    expect(checkRegistry("ghcr.io/My-Org")).toBeDefined();
    expect(checkRegistry("a b")).toBeDefined();
  });
  it("index URLs", () => {
    expect(checkIndexUrl("https://pypi.org/simple")).toBeUndefined();
    expect(checkIndexUrl("http://127.0.0.1:8080/simple/")).toBeUndefined();
    expect(checkIndexUrl("pypi.org/simple")).toBeDefined();
    expect(checkIndexUrl("ftp://x/y")).toBeDefined();
    expect(checkIndexUrl('https://x/"y')).toBeDefined();
  });
  it("contained relative paths", () => {
    expect(checkContainedRelativePath("src/app.py")).toBeUndefined();
    expect(checkContainedRelativePath("a/../../b")).toContain("'..'");
    expect(checkContainedRelativePath("/etc/passwd")).toContain("relative");
  });
  it("tag formats", () => {
    expect(checkTagFormat("{spec_hash}")).toBeUndefined();
    expect(checkTagFormat("v2-{spec_hash}")).toBeUndefined();
    expect(checkTagFormat("latest")).toContain("{spec_hash}");
    expect(checkTagFormat("{hash}")).toContain("unknown placeholder");
    expect(checkTagFormat("a b {spec_hash}")).toContain("valid tag");
  });
});

describe("image references", () => {
  it("normalises Docker Hub short names", () => {
    expect(normalizeImageReference("python:3.12-slim")).toBe("docker.io/library/python:3.12-slim");
    expect(normalizeImageReference("docker.io/library/python:3.12-slim")).toBe("docker.io/library/python:3.12-slim");
    expect(normalizeImageReference("org/app")).toBe("docker.io/org/app:latest");
    expect(normalizeImageReference("127.0.0.1:5000/a/b:t")).toBe("127.0.0.1:5000/a/b:t");
    expect(normalizeImageReference("localhost/x")).toBe("localhost/x:latest");
  });
  it("keeps digests", () => {
    const ref = parseImageReference(`ghcr.io/o/i@sha256:${"a".repeat(64)}`);
    expect(ref).toEqual({ domain: "ghcr.io", path: "o/i", digest: `sha256:${"a".repeat(64)}` });
  });
  it("rejects invalid references", () => {
    expect(parseImageReference("Python:3")).toBeUndefined();
    expect(parseImageReference("a b")).toBeUndefined();
    expect(parseImageReference("x:")).toBeUndefined();
  });
});
