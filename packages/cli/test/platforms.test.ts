/**
 * Multi-platform images for real, through the CLI as a user runs it: one definition for linux/amd64 and linux/arm64
 * (an apt package, a pip package from a local index, a copied file) built by @imagespec/builder-docker as one
 * Engine API build per platform (arm64 under the test environment's QEMU) and one OCI image index. The index is read
 * by Debian's skopeo, each platform's image is pulled and run, and `native` and an engine that cannot run a platform
 * are checked against the same engine.
 */

import { existsSync } from "node:fs";
import path from "node:path";
import { buildWheel, docker, inspectRaw, type PackageIndex, servePackageIndex, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildReport } from "../src/commands/build.js";
import { createProject, packagesDir, type Project } from "./support/project.js";

const run = Date.now().toString(36);
const PLATFORMS = ["linux/amd64", "linux/arm64"];

let project: Project;
let index: PackageIndex;
let env: Record<string, string>;

function images(indexUrl: string): string {
  return `
import { Image } from "@imagespec/core";
const common = { name: "i13-platforms", pythonVersion: "3.11", builderConfig: { network: "host" } } as const;
export const multi = Image.fromDebianBase({ ...common, platform: ${JSON.stringify(PLATFORMS)} })
  .withAptPackages("hello")
  .withPipPackages("i13-demo", { indexUrl: ${JSON.stringify(indexUrl)} })
  .withSourceFile("app.py", "/app/app.py")
  .withEnvVars({ RUN: "${run}" })
  .withEntrypoint(["python", "/app/app.py"]);
export const native = Image.fromDebianBase({ name: "i13-native", pythonVersion: "3.11", platform: "native" }).withEnvVars({ RUN: "${run}" });
export const amd64 = Image.fromDebianBase({ name: "i13-native", pythonVersion: "3.11", platform: "linux/amd64" }).withEnvVars({ RUN: "${run}" });
export const s390x = Image.fromDebianBase({ name: "i13-s390x", pythonVersion: "3.11", platform: ["linux/amd64", "linux/s390x"] }).withCommands("echo never built ${run}");
`;
}

const APP = "import platform, i13_demo\nprint(platform.machine(), i13_demo.VALUE)\n";

function repositoryAndTag(uri: string): { repository: string; tag: string } {
  const rest = uri.slice(testEnv().registry.length + 1);
  const colon = rest.lastIndexOf(":");
  return { repository: rest.slice(0, colon), tag: rest.slice(colon + 1) };
}

beforeAll(async () => {
  const plugin = path.join(packagesDir, "builder-docker", "dist", "plugin.js");
  if (!existsSync(plugin))
    throw new Error(
      `Cannot run the real-build tests: ${plugin} does not exist. Build the docker builder first: pnpm turbo run build --filter @imagespec/builder-docker`,
    );
  const wheels = createProject({ dependencies: ["@imagespec/core"] });
  index = await servePackageIndex([
    await buildWheel(wheels.dir, { name: "i13-demo", version: "1.0.0", modules: { "i13_demo/__init__.py": `VALUE = "demo-${run}"\n` } }),
  ]);
  project = createProject({ dependencies: ["@imagespec/core", "@imagespec/builder-docker"], files: { "images.ts": images(index.url), "app.py": APP } });
  env = {
    IMAGESPEC_DEBIAN_BASE_IMAGE: `${testEnv().registry}/imagespec/python:{python_version}-slim-bookworm`,
    IMAGESPEC_REGISTRY: `${testEnv().registry}/i13-cli`,
  };
});
afterAll(async () => {
  project?.remove();
  await index?.close();
});

describe("an image for linux/amd64 and linux/arm64, built by the docker builder", () => {
  it(
    "is one OCI index that skopeo reads, whose platform images run (aarch64 and x86_64) with the pip package; skipped the second time; rebuilt when a platform's manifest is deleted",
    async () => {
      const first = await project.json<BuildReport[]>(["build", "images.ts", "multi"], { env });
      expect(first.result.code, first.result.stderr).toBe(0);
      const [report] = first.value;
      expect(report).toMatchObject({ name: "multi", builder: "docker", status: "built", pushed: true, reason: null });
      expect(report!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(report!.platforms?.map((p) => p.platform)).toEqual(PLATFORMS);
      for (const p of report!.platforms!) {
        expect(p.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(p.engine).toMatch(/^docker unix:\/\//);
      }
      const { uri } = report!;

      // A client this project did not write reads the index: both platforms, by the digests the build reported.
      const raw = await inspectRaw(uri);
      expect(raw.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      expect(raw.manifests?.map((m) => [`${m.platform?.os}/${m.platform?.architecture}`, m.digest])).toEqual(
        report!.platforms!.map((p) => [p.platform, p.digest]),
      );

      // Each platform's image, pulled through the index, runs as that platform: Python, the pip package, the apt package.
      await docker(["pull", "--platform", "linux/arm64", uri]);
      expect((await docker(["run", "--rm", "--platform", "linux/arm64", "--network", "none", uri])).trim()).toBe(`aarch64 demo-${run}`);
      expect((await docker(["run", "--rm", "--platform", "linux/arm64", "--entrypoint", "hello", uri])).trim()).toBe("Hello, world!");
      await docker(["pull", "--platform", "linux/amd64", uri]);
      expect((await docker(["run", "--rm", "--platform", "linux/amd64", "--network", "none", uri])).trim()).toBe(`x86_64 demo-${run}`);

      const exists = await project.json<{ status: string; digest: string; platforms: { platform: string; digest: string }[] }>(
        ["exists", "images.ts", "multi"],
        { env },
      );
      expect(exists.result.code, exists.result.stderr).toBe(0);
      expect(exists.value).toMatchObject({
        status: "present",
        digest: report!.digest,
        platforms: report!.platforms!.map(({ platform, digest }) => ({ platform, digest })),
      });

      const second = await project.json<BuildReport[]>(["build", "images.ts", "multi"], { env });
      expect(second.result.code, second.result.stderr).toBe(0);
      expect(second.value[0]).toMatchObject({
        status: "skipped",
        uri,
        digest: report!.digest,
        platforms: report!.platforms!.map(({ platform, digest }) => ({ platform, digest })),
      });

      // Delete the arm64 manifest from the registry: the index still lists it, but the image is no longer complete.
      const arm = report!.platforms!.find((p) => p.platform === "linux/arm64")!;
      const { repository } = repositoryAndTag(uri);
      const deleted = await fetch(`http://${testEnv().registry}/v2/${repository}/manifests/${arm.digest}`, { method: "DELETE" });
      expect(deleted.status).toBe(202);
      const missing = await project.json<{ status: string; reason: string }>(["exists", "images.ts", "multi"], { env });
      expect(missing.result.code).toBe(1);
      expect(missing.value).toMatchObject({
        status: "absent",
        reason: `the index at ${uri} lists linux/arm64 (${arm.digest}), but the registry no longer has that manifest`,
      });

      // The second build's "present" is remembered for a few minutes: --no-cache asks the registry again.
      const third = await project.json<BuildReport[]>(["build", "images.ts", "multi", "--no-cache"], { env });
      expect(third.result.code, third.result.stderr).toBe(0);
      expect(third.value[0]).toMatchObject({
        status: "built",
        uri,
        reason: `rebuilt: the index at ${uri} lists linux/arm64 (${arm.digest}), but the registry no longer has that manifest`,
      });
      expect((await inspectRaw(uri)).manifests?.map((m) => m.platform?.architecture)).toEqual(["amd64", "arm64"]);
      const again = await project.json<{ status: string }>(["exists", "images.ts", "multi"], { env });
      expect(again.value.status).toBe("present");
    },
    30 * 60_000,
  );
});

describe("platforms the engine decides", () => {
  it("native is the engine's own platform, resolved before hashing: explain says so, and the tag is that platform's", async () => {
    const version = (await docker(["version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"])).trim();
    const explained = await project.json<{ inputs: { name: string; detail: string }[]; uri: string }>(["explain", "images.ts", "native"], { env });
    expect(explained.result.code, explained.result.stderr).toBe(0);
    expect(explained.value.inputs.find((i) => i.name === "platforms")?.detail).toMatch(new RegExp(`^${version} \\(native: ${version} of docker unix://`));
    const tags = await project.json<{ name: string; uri: string }[]>(["tag", "images.ts", "native", "amd64"], { env });
    expect(tags.result.code, tags.result.stderr).toBe(0);
    expect(version).toBe("linux/amd64");
    expect(tags.value[0]!.uri).toBe(tags.value[1]!.uri);
    expect(tags.value[0]!.uri).toBe(explained.value.uri);
  });

  it("a platform the engine cannot run (linux/s390x, no QEMU registered for it) fails before anything is built, with a clear error", async () => {
    // What makes this test mean something: the test environment registers QEMU for arm64 only.
    expect(existsSync("/proc/sys/fs/binfmt_misc/qemu-s390x")).toBe(false);
    const { result, value } = await project.json<BuildReport[]>(["build", "images.ts", "s390x"], { env });
    expect(result.code, result.stderr).toBe(3);
    expect(value[0]).toMatchObject({ name: "s390x", status: "failed", error: { code: "ENVIRONMENT", field: "platform", value: "linux/s390x" } });
    expect(value[0]!.error!.message).toMatch(
      /^Cannot build i13-s390x for linux\/s390x: the engine docker unix:\/\/\S+ cannot run that platform; it builds for linux\/amd64, .*linux\/arm64/,
    );
    expect(value[0]!.error!.hint).toContain("qemu-s390x.conf");
    // Nothing was built: no step ran, and the amd64 half was not pushed.
    expect(result.stderr).not.toContain("never built");
    const { repository, tag } = repositoryAndTag(value[0]!.uri);
    const staged = await fetch(`http://${testEnv().registry}/v2/${repository}/manifests/${tag}-linux-amd64`, { method: "HEAD" });
    expect(staged.status).toBe(404);
  });
});
