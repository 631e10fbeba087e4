/**
 * Real builds: the CLI with @imagespec/builder-docker discovered from the project's package.json, against the
 * test environment's Docker engine and registry. The image is run after it is built.
 */

import { existsSync } from "node:fs";
import path from "node:path";
import { runImage, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, packagesDir, type Project } from "./support/project.js";
import type { BuildReport } from "../src/commands/build.js";

const run = Date.now().toString(36);

const IMAGES = `
import { Image } from "@imagespec/core";
export const app = Image.fromDebianBase({ name: "cli-e2e", pythonVersion: "3.11" })
  .withSourceFile("hello.py", "/app/hello.py")
  .withEnvVars({ GREETING: "hello from imagespec ${run}" })
  .withEntrypoint(["python", "/app/hello.py"]);
export const broken = Image.fromDebianBase({ name: "cli-e2e-broken", pythonVersion: "3.11" }).withCommands("echo about to fail ${run} && exit 7");
`;


let project: Project;
let env: Record<string, string>;

beforeAll(() => {
  const plugin = path.join(packagesDir, "builder-docker", "dist", "plugin.js");
  if (!existsSync(plugin)) {
    throw new Error(`Cannot run the real-build tests: ${plugin} does not exist. Build the docker builder first: pnpm turbo run build --filter @imagespec/builder-docker`);
  }
  project = createProject({
    dependencies: ["@imagespec/core", "@imagespec/builder-docker"],
    files: { "images.ts": IMAGES, "hello.py": "import os\nprint(os.environ['GREETING'])\n" },
  });
  env = {
    IMAGESPEC_DEBIAN_BASE_IMAGE: `${testEnv().registry}/imagespec/python:{python_version}-slim-bookworm`,
    IMAGESPEC_REGISTRY: `${testEnv().registry}/cli-e2e`,
  };
});
afterAll(() => project?.remove());

describe("build with the docker builder", () => {
  it("lists docker among the builders", async () => {
    const { result, value } = await project.json<{ builders: { type: string; package: string }[] }>(["builders"]);
    expect(result.code, result.stderr).toBe(0);
    expect(value.builders).toContainEqual(expect.objectContaining({ type: "docker", package: "@imagespec/builder-docker" }));
  });

  it("prints the Dockerfile it would build", async () => {
    const { code, stdout, stderr } = await project.run(["dockerfile", "images.ts", "app"], { env });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^FROM /m);
    expect(stdout).toContain(`${testEnv().registry}/imagespec/python:3.11-slim-bookworm`);
    expect(stdout).toContain("/app/hello.py");
  });

  it("builds and pushes an image that runs, and skips it the second time", async () => {
    const first = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env });
    expect(first.result.code, first.result.stderr).toBe(0);
    const [report] = first.value;
    expect(report).toMatchObject({ name: "app", builder: "docker", status: "built", pushed: true, reason: null });
    expect(report!.uri).toMatch(/^127\.0\.0\.1:5000\/cli-e2e\/cli-e2e:[a-z2-7]{26}$/);
    expect(report!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    expect((await runImage(report!.uri, [])).trim()).toBe(`hello from imagespec ${run}`);

    const exists = await project.run(["exists", "images.ts", "app"], { env });
    expect(exists.code, exists.stdout + exists.stderr).toBe(0);

    const second = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env });
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(second.value[0]).toMatchObject({ name: "app", status: "skipped", uri: report!.uri });
    expect(second.value[0]!.reason).toContain("already exists");
  });

  it("a failing RUN step exits 1 and shows the build's output", async () => {
    const { code, stderr } = await project.run(["build", "images.ts", "broken"], { env });
    expect(code).toBe(1);
    expect(stderr).toContain("broken: failed");
    expect(stderr).toContain(`about to fail ${run}`);
  });

  it("no Docker engine exits 3", async () => {
    const local = { IMAGESPEC_DEBIAN_BASE_IMAGE: env.IMAGESPEC_DEBIAN_BASE_IMAGE!, DOCKER_HOST: "unix:///nonexistent/docker.sock" };
    const { result, value } = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env: local });
    expect(result.code, result.stderr).toBe(3);
    expect(value[0]).toMatchObject({ name: "app", status: "failed" });
    expect(value[0]!.reason).toMatch(/Docker engine/i);
  });
});
