import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Image, ImageBuildEngine } from "@imagespec/core";
import { type BuildEvent, type ImageBuilder, type ImageSpecError, isImageSpecError } from "@imagespec/core/authoring";
import { createBuildContext } from "@imagespec/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEnvdBuilder, envdBuildArgs } from "../src/index.js";
import { createFakeEnvd, removeFakeEnvds } from "./support/fake-envd.js";

let root: string;
const originalPath = process.env.PATH;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "envd-build-"));
  await mkdir(path.join(root, "src", "bin"), { recursive: true });
  await writeFile(path.join(root, "requirements.txt"), "six==1.16.0\n");
  await writeFile(path.join(root, "src", "app.py"), "print(1)\n");
  await writeFile(path.join(root, "src", "bin", "run.sh"), "#!/bin/sh\necho run\n", { mode: 0o755 });
  await writeFile(path.join(root, "src", "debug.log"), "ignored\n");
  await symlink("app.py", path.join(root, "src", "link.py"));
  await writeFile(path.join(root, ".dockerignore"), "*.log\n");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await removeFakeEnvds();
});
afterEach(() => {
  process.env.PATH = originalPath;
});

/** Puts a fake envd first on PATH, as a user's installed envd would be. */
async function fakeOnPath(options: Parameters<typeof createFakeEnvd>[0] = {}) {
  const fake = await createFakeEnvd(options);
  process.env.PATH = `${fake.dir}${path.delimiter}${originalPath}`;
  return fake;
}

async function failure(promise: Promise<unknown>): Promise<ImageSpecError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isImageSpecError(error), `expected an ImageSpecError, got ${String(error)}`).toBe(true);
  return error as ImageSpecError;
}

const image = () =>
  Image.fromDebianBase({ root, name: "envd-test", pythonVersion: "3.11" })
    .withPipPackages("six")
    .withRequirements("requirements.txt")
    .withDockerignore(".dockerignore")
    .withSourceFolder("src", "/app")
    .withEnvVars({ MODE: "test" })
    .withCommands("ls /app");

describe("envd build", () => {
  it("checks `envd version`, then runs `envd build --path <ctx> --platform <p> --tag <uri>` for a local image", async () => {
    const fake = await fakeOnPath();
    const img = image();
    const context = await createBuildContext(img);
    const result = await createEnvdBuilder().build(img, context);
    const calls = await fake.calls();
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual(["version"]);
    const [build] = calls.slice(1) as [string[]];
    const contextDir = build[2]!;
    expect(build).toEqual(["build", "--path", contextDir, "--platform", "linux/amd64", "--tag", context.uri]);
    expect(contextDir.startsWith(path.join(os.tmpdir(), "imagespec-envd-"))).toBe(true);
    expect(result).toMatchObject({ uri: context.uri, pushed: false });
    // The context is removed once envd is done with it.
    await expect(stat(contextDir)).rejects.toThrow();
  });

  it("pushes with --output type=image,name=<uri>,push=true when the image has a registry, for its one platform", async () => {
    const fake = await fakeOnPath();
    const img = Image.fromBase("ubuntu:22.04", { root, registry: "localhost:5000", name: "team/app", platform: "linux/arm64" }).withEnvVars({ A: "1" });
    const context = await createBuildContext(img, { push: true });
    const result = await createEnvdBuilder().build(img, context);
    const build = (await fake.calls())[1]!;
    expect(build).toEqual(["build", "--path", build[2], "--platform", "linux/arm64", "--output", `type=image,name=${context.uri},push=true`]);
    expect(context.uri).toMatch(/^localhost:5000\/team\/app:[a-z0-9]+$/);
    expect(result).toMatchObject({ uri: context.uri, pushed: true });
  });

  it("builds the argument list the same way on its own", () => {
    expect(envdBuildArgs({ contextDir: "/tmp/ctx", platform: "linux/amd64", uri: "app:abc", push: false })).toEqual([
      "build",
      "--path",
      "/tmp/ctx",
      "--platform",
      "linux/amd64",
      "--tag",
      "app:abc",
    ]);
    expect(envdBuildArgs({ contextDir: "/tmp/ctx", platform: "linux/arm/v7", uri: "r.example/app:abc", push: true }).slice(-2)).toEqual([
      "--output",
      "type=image,name=r.example/app:abc,push=true",
    ]);
  });

  it("gives envd a context holding build.envd and exactly the files the tag was computed from", async () => {
    const fake = await fakeOnPath();
    const img = image();
    const context = await createBuildContext(img);
    await createEnvdBuilder().build(img, context);
    const rendered = await createEnvdBuilder().render!(img, { identity: context.identity, baseUri: undefined, config: {} });
    expect(await readFile(path.join(fake.contextCopy, "build.envd"), "utf8")).toBe(rendered.content);
    expect(await readFile(path.join(fake.contextCopy, "files", "1", "requirements.txt"), "utf8")).toBe("six==1.16.0\n");
    const copied = path.join(fake.contextCopy, "files", "3", "app");
    expect((await readdir(copied)).sort()).toEqual(["app.py", "bin", "link.py"]); // debug.log is ignored, as in the tag
    expect((await stat(path.join(copied, "bin", "run.sh"))).mode & 0o111).not.toBe(0);
    expect((await lstat(path.join(copied, "link.py"))).isSymbolicLink()).toBe(true);
    expect(await readlink(path.join(copied, "link.py"))).toBe("app.py");
    expect(rendered.content).toContain('io.copy(source="files/3/app", target="/")');
  });

  it("streams envd's output (stdout and stderr) as log events, and BuildKit's progress as steps", async () => {
    await fakeOnPath({
      buildOutput: [
        "#1 [internal] load build definition",
        "#1 DONE 0.1s",
        "#2 pip install six",
        "#2 0.512 Collecting six",
        "#2 CACHED",
        "#3 copy files",
        "#3 DONE 1.25s",
      ],
      buildStderr: ["done."],
    });
    const events: BuildEvent[] = [];
    const img = image();
    const result = await createEnvdBuilder().build(img, await createBuildContext(img, { onEvent: (e) => events.push(e) }));
    const logs = events.filter((e) => e.type === "log").map((e) => (e as { line: string }).line);
    expect(logs[0]).toMatch(/^envd v0\.3\.45 \(envd\)$/);
    expect(logs[1]).toMatch(/^\$ envd build --path \S+ --platform linux\/amd64 --tag envd-test:/);
    // stdout keeps its order; the stderr line arrives on its own stream.
    expect(logs.slice(2).filter((line) => line !== "done.")).toEqual([
      "#1 [internal] load build definition",
      "#1 DONE 0.1s",
      "#2 pip install six",
      "#2 0.512 Collecting six",
      "#2 CACHED",
      "#3 copy files",
      "#3 DONE 1.25s",
    ]);
    expect(logs).toContain("done.");
    expect(events.filter((e) => e.type === "step")).toEqual([
      { type: "step", id: "1", name: "[internal] load build definition", status: "started" },
      { type: "step", id: "1", name: "[internal] load build definition", status: "done", durationMs: 100 },
      { type: "step", id: "2", name: "pip install six", status: "started" },
      { type: "step", id: "2", name: "pip install six", status: "cached" },
      { type: "step", id: "3", name: "copy files", status: "started" },
      { type: "step", id: "3", name: "copy files", status: "done", durationMs: 1250 },
    ]);
    expect(result.log).toContain("Collecting six");
  });

  it("keeps the context when asked to, and says where", async () => {
    await fakeOnPath();
    const events: BuildEvent[] = [];
    const img = image();
    await createEnvdBuilder({ keepContext: true }).build(img, await createBuildContext(img, { onEvent: (e) => events.push(e) }));
    const kept = events.map((e) => (e.type === "log" ? /^envd build context kept in (.+)$/.exec(e.line)?.[1] : undefined)).find(Boolean)!;
    expect(await readFile(path.join(kept, "build.envd"), "utf8")).toContain("def build():");
    await rm(kept, { recursive: true, force: true });
  });

  it("hands an image's registryConfig to envd as DOCKER_CONFIG, the folder of its config.json", async () => {
    const fake = await fakeOnPath();
    await mkdir(path.join(root, "auth"), { recursive: true });
    await writeFile(path.join(root, "auth", "config.json"), "{}");
    await writeFile(path.join(root, "auth", "creds.json"), "{}");
    const withConfig = (registryConfig: string) => Image.fromBase("ubuntu:22.04", { root, name: "auth", registryConfig }).withEnvVars({ A: "1" });
    const file = withConfig(path.join(root, "auth", "config.json"));
    await createEnvdBuilder().build(file, await createBuildContext(file));
    expect(await fake.dockerConfig()).toBe(path.join(root, "auth"));
    const folder = withConfig(path.join(root, "auth"));
    await createEnvdBuilder().build(folder, await createBuildContext(folder));
    expect(await fake.dockerConfig()).toBe(path.join(root, "auth"));

    const otherName = withConfig(path.join(root, "auth", "creds.json"));
    const error = await failure(createEnvdBuilder().build(otherName, await createBuildContext(otherName)));
    expect(error.code).toBe("CONFIG_ERROR");
    expect(error.message).toMatch(/envd reads registry credentials from a folder's config\.json/);
    const missing = withConfig(path.join(root, "nowhere", "config.json"));
    expect((await failure(createEnvdBuilder().build(missing, await createBuildContext(missing)))).code).toBe("FILE_NOT_FOUND");
  });

  it("takes the binary from builders.envd.binary", async () => {
    const fake = await createFakeEnvd();
    process.env.PATH = "/nonexistent";
    const img = image();
    await createEnvdBuilder().build(img, await createBuildContext(img, { config: { binary: fake.binary } }));
    expect((await fake.calls()).map((c) => c[0])).toEqual(["version", "build"]);
  });
});

describe("envd build errors", () => {
  it("says how to install envd when it is not on PATH", async () => {
    process.env.PATH = await mkdtemp(path.join(os.tmpdir(), "empty-path-"));
    const error = await failure(createEnvdBuilder().build(image(), await createBuildContext(image())));
    expect(error.code).toBe("ENVIRONMENT");
    expect(error.message).toBe('Cannot build envd-test with envd: the envd command "envd" was not found on PATH');
    expect(error.hint).toMatch(/pip install envd/);
    expect(error.hint).toMatch(/https:\/\/github\.com\/tensorchord\/envd\/releases/);
    expect(error.hint).toMatch(/builders\.envd\.binary/);
  });

  it("names a configured binary that does not exist", async () => {
    const error = await failure(createEnvdBuilder({ binary: "/opt/nowhere/envd" }).build(image(), await createBuildContext(image())));
    expect(error.code).toBe("ENVIRONMENT");
    expect(error.message).toBe('Cannot build envd-test with envd: the envd command "/opt/nowhere/envd" was not found');
  });

  it("refuses envd older than 0.3.39, saying why, without building", async () => {
    const fake = await fakeOnPath({ version: "envd: v0.3.38\nGoVersion: go1.20" });
    const error = await failure(createEnvdBuilder().build(image(), await createBuildContext(image())));
    expect(error.code).toBe("ENVIRONMENT");
    expect(error.message).toMatch(
      /^Cannot build envd-test with envd: envd v0\.3\.38 is older than 0\.3\.39, the first version that reads the build\.envd this builder writes/,
    );
    expect(error.hint).toMatch(/pip install --upgrade 'envd>=0\.3\.39'/);
    expect((await fake.calls()).map((c) => c[0])).toEqual(["version"]);
  });

  it("refuses a pre-release of 0.3.39", async () => {
    await fakeOnPath({ version: "envd: v0.3.39-rc.1" });
    const error = await failure(createEnvdBuilder().build(image(), await createBuildContext(image())));
    expect(error.message).toMatch(/envd v0\.3\.39-rc\.1 is older than 0\.3\.39/);
  });

  it("reports an `envd version` that fails or prints no version", async () => {
    await fakeOnPath({ version: "fatal: cannot connect", versionExit: 3 });
    const failed = await failure(createEnvdBuilder().build(image(), await createBuildContext(image())));
    expect(failed.code).toBe("ENVIRONMENT");
    expect(failed.message).toMatch(/`envd version` exited with 3:\nfatal: cannot connect/);

    await fakeOnPath({ version: "hello" });
    const unreadable = await failure(createEnvdBuilder().build(image(), await createBuildContext(image())));
    expect(unreadable.message).toMatch(/cannot read a version from `envd version`, which printed "hello"/);
  });

  it("fails as BUILD_FAILED with the end of envd's output when the build fails", async () => {
    await fakeOnPath({ buildOutput: ["#4 pip install six", "ERROR: No matching distribution found for six"], buildExit: 1 });
    const error = await failure(createEnvdBuilder().build(image(), await createBuildContext(image())));
    expect(error.code).toBe("BUILD_FAILED");
    expect(error.message).toMatch(/^Cannot build envd-test with envd: envd build exited with 1:\n/);
    expect(error.message).toContain("ERROR: No matching distribution found for six");
  });

  it("does not run envd for an image it refuses", async () => {
    const fake = await fakeOnPath();
    const refused = Image.fromDebianBase({ root, name: "refused" }).withEntrypoint(["python"]);
    const error = await failure(createEnvdBuilder().build(refused, await createBuildContext(refused)));
    expect(error.code).toBe("NO_BUILDER");
    expect(error.message).toMatch(/^Cannot build refused with envd: layers\[0\] \(entrypoint\): envd cannot set an entrypoint/);
    expect(await fake.calls()).toEqual([]);
  });

  it("rejects bad settings as CONFIG_ERROR naming each", async () => {
    const error = await failure(
      createEnvdBuilder().build(image(), await createBuildContext(image(), { config: { binary: "", keepContext: "yes", keepContxt: true } })),
    );
    expect(error.code).toBe("CONFIG_ERROR");
    expect(error.message).toBe(
      'Cannot configure the envd builder: builders.envd.keepContxt = true: is not a setting of the envd builder; did you mean keepContext?; builders.envd.binary = "": cannot be empty; builders.envd.keepContext = "yes": expected a boolean',
    );
  });

  it("stops envd and cleans up when the build is cancelled", async () => {
    const fake = await fakeOnPath({ buildOutput: ["#1 starting"], buildSleep: 60 });
    const controller = new AbortController();
    const events: BuildEvent[] = [];
    const started = Date.now();
    const running = createEnvdBuilder().build(image(), await createBuildContext(image(), { signal: controller.signal, onEvent: (e) => events.push(e) }));
    // Abort once envd has printed its first line, i.e. while it runs.
    for (let i = 0; i < 200 && !events.some((e) => e.type === "log" && e.line === "#1 starting"); i++) await new Promise((r) => setTimeout(r, 25));
    controller.abort();
    const error = await failure(running);
    expect(error.code).toBe("CANCELLED");
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(stat((await fake.calls())[1]![2]!)).rejects.toThrow();
  });
});

describe("the engine with envd among other builders", () => {
  /** Stands in for a lower-priority builder: builds only images of one platform set, or nothing at all. */
  const other = (type: string, accepts: (image: Image) => boolean): ImageBuilder => ({
    type,
    supports: (image) => (accepts(image) ? true : `${type} does not take this one`),
    build: async (_image, context) => ({ uri: context.uri, pushed: false }),
  });

  it("chooses envd by priority, falls back when envd refuses, and explains when no one can build", async () => {
    await fakeOnPath();
    const engine = new ImageBuildEngine({ env: {} }).register(createEnvdBuilder(), { priority: 50 }).register(
      other("multiarch", (image) => image.layers.length === 0),
      { priority: 10 },
    );
    const plain = Image.fromBase("ubuntu:22.04", { root, name: "plain" });
    expect(engine.select(plain).builder.type).toBe("envd");
    // Two platforms: envd refuses, the next builder by priority takes it.
    expect(engine.select(plain.withPlatform("linux/amd64", "linux/arm64")).builder.type).toBe("multiarch");
    // An entrypoint: neither can; the error gives envd's reason.
    expect(() => engine.select(plain.withEntrypoint(["bash"]))).toThrow(/envd \(priority 50\): layers\[0\] \(entrypoint\): envd cannot set an entrypoint/);

    const events: string[] = [];
    const [outcome] = await engine.build(image(), { onEvent: (e) => events.push(e.type === "image" ? `${e.status}:${e.builder}` : e.type) });
    expect(outcome).toMatchObject({ status: "built", builder: "envd", pushed: false });
    expect(events).toContain("building:envd");
    expect(events).toContain("built:envd");
  });
});
