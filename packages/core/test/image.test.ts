import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Image, IMAGE_ID_ENV, type ImageSpecError, isContainer, isImageSpecError, RegistryClient } from "../src/index.js";
import { defineLayer } from "../src/authoring.js";
import { pushTinyImage, requireEnv, tinyImage } from "./support/tiny-image.js";
import { project } from "./support/project.js";

function thrown(fn: () => unknown): ImageSpecError {
  try {
    fn();
  } catch (error) {
    expect(isImageSpecError(error), `expected an ImageSpecError, got ${String(error)}`).toBe(true);
    return error as ImageSpecError;
  }
  throw new Error("expected the call to throw");
}

const base = () => Image.fromBase("python:3.12-slim", { pythonVersion: "3.12" });

describe("constructors", () => {
  afterEach(() => {
    delete process.env.IMAGESPEC_DEBIAN_BASE_IMAGE;
  });

  it("fromDebianBase uses the official slim image by default", () => {
    const image = Image.fromDebianBase({ pythonVersion: "3.11", registry: "ghcr.io/acme", name: "app", platform: "linux/arm64" });
    expect(image.base).toEqual({ type: "debian", pythonVersion: "3.11", uri: "python:3.11-slim-bookworm" });
    expect(image.registry).toBe("ghcr.io/acme");
    expect(image.name).toBe("app");
    expect(image.platforms).toEqual(["linux/arm64"]);
    expect(image.pythonVersion).toBe("3.11");
  });

  it("fromDebianBase follows IMAGESPEC_DEBIAN_BASE_IMAGE, which changes the tag", async () => {
    const official = Image.fromDebianBase({ pythonVersion: "3.11" });
    process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = "127.0.0.1:5000/mirror/python:{python_version}";
    const mirrored = Image.fromDebianBase({ pythonVersion: "3.11" });
    expect(mirrored.base).toMatchObject({ uri: "127.0.0.1:5000/mirror/python:3.11" });
    expect(await mirrored.tag()).not.toBe(await official.tag());
  });

  it("fromDebianBase rejects a template that is not a reference", () => {
    process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = "Not A Reference {python_version}";
    const error = thrown(() => Image.fromDebianBase());
    expect(error.code).toBe("CONFIG_ERROR");
    expect(error.message).toContain("IMAGESPEC_DEBIAN_BASE_IMAGE");
  });

  it("fromBase takes a reference or another Image", () => {
    const parent = base();
    const child = Image.fromBase(parent, { name: "child" });
    expect(child.base).toEqual({ type: "image", image: parent });
    expect(child.pythonVersion).toBe("3.12");
    expect(thrown(() => Image.fromBase("Not:Valid:Ref")).message).toContain("not a valid image reference");
  });

  it("fromDockerfile is not extendable", () => {
    const dir = project({ "docker/Dockerfile": "FROM scratch\n" });
    const image = Image.fromDockerfile("docker/Dockerfile", { root: dir, name: "df" });
    expect(image.base).toEqual({ type: "dockerfile", dockerfile: "docker/Dockerfile", context: "docker" });
    const error = thrown(() => image.withAptPackages("curl"));
    expect(error.code).toBe("NOT_EXTENDABLE");
    expect(error.message).toMatch(/Dockerfile "docker\/Dockerfile" and takes no layers/);
    // Not layers: still allowed.
    expect(image.withPlatform("linux/arm64").platforms).toEqual(["linux/arm64"]);
    expect(image.clone({ name: "other" }).name).toBe("other");
  });

  it("names every bad option with its value", () => {
    const error = thrown(() => Image.fromDebianBase({ pythonVersion: "3.1x", registry: "https://ghcr.io/acme", name: "App", platform: "linux/x86_64" }));
    expect(error.code).toBe("INVALID_SPEC");
    const fields = error.issues.map((i) => i.field).sort();
    expect(fields).toEqual(["name", "platform", "pythonVersion", "registry"]);
    expect(error.message).toContain('registry = "https://ghcr.io/acme"');
    expect(error.message).toContain('did you mean "app"?');
    expect(error.message).toContain("did you mean linux/amd64?");
  });

  it("suggests the right option for a misspelled one", () => {
    const error = thrown(() => Image.fromDebianBase({ pythonVersoin: "3.12" } as never));
    expect(error.message).toContain("pythonVersoin");
    expect(error.message).toContain("did you mean pythonVersion?");
  });
});

describe("layers", () => {
  it("every with* method appends one frozen layer and leaves the original untouched", () => {
    const dir = project({ "requirements.txt": "numpy\n", "src/app.py": "print(1)\n", ".dockerignore": "*.log\n" });
    const start = Image.fromDebianBase({ root: dir });
    const steps: [string, (i: Image) => Image, Record<string, unknown>][] = [
      ["pipPackages", (i) => i.withPipPackages("numpy", "pandas<2,>=1.5"), { packages: ["numpy", "pandas<2,>=1.5"] }],
      [
        "pipPackages",
        (i) =>
          i.withPipPackages("torch", {
            indexUrl: "https://download.pytorch.org/whl/cpu",
            extraIndexUrls: ["https://pypi.org/simple"],
            pre: true,
            extraArgs: ["--no-deps"],
            secretMounts: ["PIP_TOKEN"],
          }),
        { packages: ["torch"], indexUrl: "https://download.pytorch.org/whl/cpu", pre: true, secretMounts: [{ id: "PIP_TOKEN", env: "PIP_TOKEN" }] },
      ],
      ["requirements", (i) => i.withRequirements("requirements.txt"), { file: "requirements.txt" }],
      ["aptPackages", (i) => i.withAptPackages("curl", "git"), { packages: ["curl", "git"] }],
      [
        "aptPackages",
        (i) => i.withAptPackages("curl", { secretMounts: [{ id: "apt", src: "auth.conf", target: "/etc/apt/auth.conf" }] }),
        { packages: ["curl"] },
      ],
      ["condaPackages", (i) => i.withCondaPackages(["numpy"], { channels: ["conda-forge"] }), { packages: ["numpy"], channels: ["conda-forge"] }],
      ["copy", (i) => i.withSourceFolder("src", "/app"), { src: "src", dst: "/app", type: "folder" }],
      ["copy", (i) => i.withSourceFile(path.join(dir, "src/app.py"), "/app/main.py"), { src: "src/app.py", dst: "/app/main.py", type: "file" }],
      ["dockerignore", (i) => i.withDockerignore(".dockerignore"), { file: ".dockerignore" }],
      ["env", (i) => i.withEnvVars({ A: "1", B: "x y" }), { vars: { A: "1", B: "x y" } }],
      ["workdir", (i) => i.withWorkdir("/app"), { path: "/app" }],
      ["commands", (i) => i.withCommands(["echo a", "echo b"], { secretMounts: ["TOKEN"] }), { commands: ["echo a", "echo b"] }],
      ["commands", (i) => i.withCommands("echo single"), { commands: ["echo single"] }],
      ["entrypoint", (i) => i.withEntrypoint(["python", "-m", "app"]), { command: ["python", "-m", "app"] }],
      ["entrypoint", (i) => i.withEntrypoint([]), { command: [] }],
      ["codeBundle", (i) => i.withCodeBundle(), { src: ".", dst: ".", select: "all" }],
      ["codeBundle", (i) => i.withCodeBundle({ src: "src", dst: "/root", copyStyle: "tracked" }), { src: "src", dst: "/root", select: "tracked" }],
      ["runtimePackages", (i) => i.withRuntimePackages("rich>=13"), { packages: ["rich>=13"] }],
      ["cuda", (i) => i.withCuda({ cuda: "12.4.1", cudnn: "9" }), { cuda: "12.4.1", cudnn: "9" }],
    ];
    for (const [kind, step, expected] of steps) {
      const next = step(start);
      expect(next).not.toBe(start);
      expect(start.layers).toHaveLength(0);
      expect(next.layers).toHaveLength(1);
      const layer = next.layers[0]!;
      expect(layer.kind).toBe(kind);
      expect(layer).toMatchObject(expected);
      expect(Object.isFrozen(layer)).toBe(true);
      expect(Object.isFrozen(next)).toBe(true);
      expect(Object.isFrozen(next.layers)).toBe(true);
    }
  });

  it("withCodeBundle with copyStyle none adds nothing", () => {
    const image = base();
    expect(image.withCodeBundle({ copyStyle: "none" })).toBe(image);
  });

  it("cannot be mutated", () => {
    const image = base().withAptPackages("curl");
    expect(() => {
      (image as unknown as { name: string }).name = "x";
    }).toThrow(TypeError);
    expect(() => {
      (image.layers as unknown as unknown[]).push({});
    }).toThrow(TypeError);
    expect(() => {
      (image.layers[0]!.packages as string[]).push("git");
    }).toThrow(TypeError);
  });

  it.each<[string, (i: Image) => Image, string, unknown]>([
    ["pip package", (i) => i.withPipPackages("numpy", "pandas>>2"), "packages[1]", "pandas>>2"],
    ["pip package with a newline", (i) => i.withPipPackages("numpy\nRUN rm -rf /"), "packages[0]", "numpy\nRUN rm -rf /"],
    ["no pip packages", (i) => i.withPipPackages(), "packages", []],
    ["index URL", (i) => i.withPipPackages("x", { indexUrl: "not a url" }), "indexUrl", "not a url"],
    ["extra index URL", (i) => i.withPipPackages("x", { extraIndexUrls: ["ftp://x"] }), "extraIndexUrls[0]", "ftp://x"],
    ["pip argument", (i) => i.withPipPackages("x", { extraArgs: ["--a\n--b"] }), "extraArgs[0]", "--a\n--b"],
    ["secret id", (i) => i.withPipPackages("x", { secretMounts: ["bad id"] }), "secretMounts[0]", "bad id"],
    ["secret from both", (i) => i.withCommands("x", { secretMounts: [{ id: "a", src: "f", env: "E" }] }), "secretMounts[0]", { id: "a", src: "f", env: "E" }],
    ["requirements not .txt", (i) => i.withRequirements("reqs.in"), "file", "reqs.in"],
    ["apt package", (i) => i.withAptPackages("curl", "Bad Name"), "packages[1]", "Bad Name"],
    ["conda package", (i) => i.withCondaPackages(["numpy;ls"]), "packages[0]", "numpy;ls"],
    ["conda channel", (i) => i.withCondaPackages(["numpy"], { channels: ["a b"] }), "channels[0]", "a b"],
    ["env name", (i) => i.withEnvVars({ "BAD-NAME": "1" }), 'vars["BAD-NAME"]', "BAD-NAME"],
    ["empty env", (i) => i.withEnvVars({}), "vars", {}],
    ["workdir", (i) => i.withWorkdir("/a\nb"), "path", "/a\nb"],
    ["empty command", (i) => i.withCommands(["echo", "  "]), "commands[1]", "  "],
    ["cuda", (i) => i.withCuda({ cuda: "twelve" }), "cuda", "twelve"],
    ["cudnn", (i) => i.withCuda({ cuda: "12.4", cudnn: "x" }), "cudnn", "x"],
    ["runtime package", (i) => i.withRuntimePackages("ok", "not ok!"), "packages[1]", "not ok!"],
    ["platform", (i) => i.withPlatform("linux/amd64", "macos/arm64"), "platform[1]", "macos/arm64"],
  ])("rejects a bad %s, naming the field and the value", (_what, step, field, value) => {
    const error = thrown(() => step(base()));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.issues.map((i) => i.field)).toContain(field);
    expect(error.issues.find((i) => i.field === field)?.value).toEqual(value);
    expect(error.message).toMatch(/^Cannot /);
  });

  it("env names with a dash name the variable itself", () => {
    const error = thrown(() => base().withEnvVars({ "BAD-NAME": "1" }));
    expect(error.message).toContain("BAD-NAME");
  });

  it("accepts plugin layers through withLayer, validated by their schema", () => {
    const greeting = defineLayer({ specificationVersion: "v1", kind: "greeting", schema: z.object({ text: z.string().min(1) }).strict() });
    const image = base().withLayer(greeting, { text: "hi" });
    expect(image.layers[0]).toMatchObject({ kind: "greeting", text: "hi" });
    const error = thrown(() => base().withLayer(greeting, { text: "" }));
    expect(error.message).toContain("add a greeting layer");
    expect(error.field).toBe("text");
    expect(thrown(() => base().withLayer(greeting, { text: "a", extra: 1 } as never)).message).toContain("extra");
  });

  it("rejects a malformed layer kind name", () => {
    expect(() => defineLayer({ specificationVersion: "v1", kind: "Bad Kind", schema: z.object({}) })).toThrow(/Cannot define layer kind/);
  });
});

describe("variants", () => {
  it("withPlatform replaces the platforms and dedupes them", () => {
    expect(base().withPlatform("linux/amd64", "linux/arm64", "linux/amd64").platforms).toEqual(["linux/amd64", "linux/arm64"]);
  });

  it("clone changes registry, name and python version; a Debian base follows the version", () => {
    const image = Image.fromDebianBase({ pythonVersion: "3.11" }).withAptPackages("curl");
    const clone = image.clone({ registry: "ghcr.io/acme", name: "other", pythonVersion: "3.12" });
    expect(clone.registry).toBe("ghcr.io/acme");
    expect(clone.name).toBe("other");
    expect(clone.pythonVersion).toBe("3.12");
    expect(clone.base).toMatchObject({ type: "debian", uri: "python:3.12-slim-bookworm" });
    expect(clone.layers).toEqual(image.layers);
    expect(image.registry).toBeUndefined();
    expect(thrown(() => image.clone({ registry: "bad registry" })).field).toBe("registry");
  });

  it("withBase keeps the definition and replaces the base", async () => {
    const image = Image.fromDebianBase({ pythonVersion: "3.11", name: "app", registry: "ghcr.io/acme" }).withAptPackages("git").forcePush();
    const parent = base().withPipPackages("numpy");
    const rebased = image.withBase(parent);
    expect(rebased.base).toEqual({ type: "image", image: parent });
    expect(rebased).toMatchObject({ name: "app", registry: "ghcr.io/acme", pythonVersion: "3.11", forcePushRequested: true });
    expect(rebased.layers).toEqual(image.layers);
    expect(image.withBase("python:3.12-slim").base).toEqual({ type: "uri", uri: "python:3.12-slim" });
    expect(thrown(() => image.withBase("Not Valid")).field).toBe("base");
    expect(thrown(() => Image.fromDockerfile("Dockerfile").withBase("x:1")).code).toBe("NOT_EXTENDABLE");
  });

  it("forcePush marks the image without changing its identity", async () => {
    const image = base().withAptPackages("curl");
    const forced = image.forcePush();
    expect(forced.forcePushRequested).toBe(true);
    expect(image.forcePushRequested).toBe(false);
    expect(forced.id).toBe(image.id);
    expect(await forced.tag()).toBe(await image.tag());
  });

  it("forFastRegistration drops code bundles, here and in base Images", async () => {
    const dir = project({ "app.py": "print(1)\n" });
    const parent = Image.fromBase("python:3.12-slim", { root: dir }).withCodeBundle({ dst: "/base-src" });
    const child = Image.fromBase(parent, { root: dir }).withAptPackages("curl").withCodeBundle({ dst: "/src" });
    const fast = child.forFastRegistration();
    expect(fast.layers.map((l) => l.kind)).toEqual(["aptPackages"]);
    expect(fast.base.type === "image" && fast.base.image.layers).toEqual([]);
    expect(await fast.tag()).not.toBe(await child.tag());
    const plain = base().withAptPackages("curl");
    expect(plain.forFastRegistration()).toBe(plain);
  });
});

describe("validate", () => {
  it("checks every file and folder the layers read", () => {
    const dir = project({ "requirements.txt": "numpy\n", "src/a.py": "" });
    const good = Image.fromDebianBase({ root: dir }).withRequirements("requirements.txt").withSourceFolder("src");
    expect(good.validate()).toBe(good);
    const bad = Image.fromDebianBase({ root: dir }).withRequirements("missing.txt").withSourceFolder("requirements.txt").withSourceFile("src");
    const error = thrown(() => bad.validate());
    expect(error.code).toBe("FILE_NOT_FOUND");
    expect(error.message).toContain('layers[0].requirements.file = "missing.txt"');
    expect(error.message).toContain('layers[1].copy.src = "requirements.txt": expected a folder');
    expect(error.message).toContain('layers[2].copy.src = "src": expected a file');
    expect(error.hint).toContain(dir);
  });

  it("checks the Dockerfile and its context", () => {
    const dir = project();
    expect(thrown(() => Image.fromDockerfile("Dockerfile", { root: dir }).validate()).message).toContain("dockerfile");
  });
});

describe("isContainer", () => {
  afterEach(() => {
    delete process.env[IMAGE_ID_ENV];
  });
  it("compares IMAGESPEC_IMAGE_ID with the image's id inside a container, and is true outside any (flytekit's rule)", () => {
    const image = base().withAptPackages("curl");
    const other = base().withAptPackages("git");
    delete process.env[IMAGE_ID_ENV];
    // Running locally: every image's packages are assumed present, so `if (spec.isContainer()) import ...` runs.
    expect(image.isContainer()).toBe(true);
    expect(other.isContainer()).toBe(true);
    expect(isContainer()).toBe(false);
    process.env[IMAGE_ID_ENV] = "";
    expect(image.isContainer()).toBe(true);
    process.env[IMAGE_ID_ENV] = image.id;
    expect(image.isContainer()).toBe(true);
    expect(isContainer()).toBe(true);
    expect(other.isContainer()).toBe(false);
  });
});

describe("exists, against the real registry", () => {
  const registry = requireEnv("IMAGESPEC_TEST_REGISTRY");

  it("is absent before a push and present after it", async () => {
    const image = base()
      .withEnvVars({ RUN: `${Date.now()}-${Math.random()}` })
      .clone({ registry, name: "imagespec-test/image-exists" });
    expect(await image.exists()).toEqual({ status: "absent" });
    const client = new RegistryClient();
    const tiny = tinyImage(image.id);
    await pushTinyImage(client, registry, "imagespec-test/image-exists", await image.tag(), tiny);
    expect(await image.exists()).toEqual({ status: "present", digest: tiny.digest });
  });

  it("is unknown, with the reason, for a registry that is down", async () => {
    const image = base().clone({ registry: "127.0.0.1:9", name: "x" });
    const existence = await image.exists();
    expect(existence.status).toBe("unknown");
    expect(existence.status === "unknown" && existence.reason).toMatch(/127\.0\.0\.1:9/);
  });

  it("is unknown for a local image, which has no registry to ask", async () => {
    const existence = await base().exists();
    expect(existence.status).toBe("unknown");
  });
});
