/**
 * Real builds: the CLI with @imagespec/builder-docker discovered from the project's package.json, against the
 * test environment's Docker engine and registry. The image is run after it is built.
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildWheel, runImage, servePackageIndex, testEnv } from "@imagespec/test-env";
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
// A package index on this machine, which a build container cannot reach at 127.0.0.1.
export const localIndex = Image.fromDebianBase({ name: "cli-e2e-index", pythonVersion: "3.11" })
  .withPipPackages("imagespec-not-in-the-base", { indexUrl: "http://127.0.0.1:9/simple", extraArgs: ["--retries", "1", "--timeout", "5"] })
  .withEnvVars({ RUN: "${run}" });
`;

let project: Project;
let env: Record<string, string>;

beforeAll(() => {
  const plugin = path.join(packagesDir, "builder-docker", "dist", "plugin.js");
  if (!existsSync(plugin)) {
    throw new Error(
      `Cannot run the real-build tests: ${plugin} does not exist. Build the docker builder first: pnpm turbo run build --filter @imagespec/builder-docker`,
    );
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
    // Progress says it was pushed, and shows steps without mounts and imagespec's set-up scripts.
    expect(first.result.stderr).toMatch(/^app: built and pushed 127\.0\.0\.1:5000\/cli-e2e\/cli-e2e:[a-z2-7]{26} \(docker\) \d+\.\ds$/m);
    expect(first.result.stderr).not.toContain("--mount=");
    expect(first.result.stderr).not.toContain('["/bin/sh","-c"');
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
    expect(stderr).toContain("hint: The full build log: run again with --debug (every log line as it comes), or --json");
  });

  it("pip refused at 127.0.0.1 in a build: the hint says a build container is not this machine, and network host", async () => {
    const { code, stderr } = await project.run(["build", "images.ts", "localIndex", "--no-push"], { env });
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/Connection refused/i);
    expect(stderr).toContain("hint: A build step could not connect to 127.0.0.1/localhost: inside a build, that is the build container itself");
    expect(stderr).toContain('builderConfig: { network: "host" }');
  });

  it("a Debian base that cannot be pulled from here: the hint names IMAGESPEC_DEBIAN_BASE_IMAGE", async () => {
    // No IMAGESPEC_DEBIAN_BASE_IMAGE: the official python image, from a registry these machines cannot reach.
    const { code, stderr } = await project.run(["build", "images.ts", "app"], { env: {} });
    expect(code, stderr).toBe(1);
    expect(stderr).toContain("hint: The Debian Python base python:3.11-slim-bookworm could not be pulled from here. Point IMAGESPEC_DEBIAN_BASE_IMAGE");
  });

  it("builds with secrets (an index behind basic auth, a file) and prints neither value, with --json or with --debug", async () => {
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const token = `tok-${randomBytes(12).toString("hex")}`;
    const wheels = mkdtempSync(path.join(tmpdir(), "imagespec-cli-wheels-"));
    const index = await servePackageIndex(
      [await buildWheel(wheels, { name: "imagespec-cli-private", version: "1.0.0", modules: { "imagespec_cli_private/__init__.py": 'VALUE = "private"\n' } })],
      { basicAuth: { username: "imagespec", password } },
    );
    try {
      project.write("token.txt", token);
      project.write(
        "secret-images.ts",
        `import { Image } from "@imagespec/core";
export const secret = Image.fromDebianBase({ name: "cli-e2e-secret", pythonVersion: "3.11", builderConfig: { network: "host", noCache: true } })
  .withPipPackages("imagespec-cli-private", { secretMounts: [{ id: "index", env: "IMAGESPEC_CLI_INDEX_URL", asEnv: "PIP_INDEX_URL" }] })
  .withCommands('test -s /run/secrets/token && echo secret step ${run}', { secretMounts: [{ id: "token", src: "token.txt" }] });
`,
      );
      const secretEnv = { ...env, IMAGESPEC_CLI_INDEX_URL: index.url.replace("http://", `http://imagespec:${password}@`), IMAGESPEC_FORCE_PUSH: "true" };
      const json = await project.run(["build", "secret-images.ts", "--json"], { env: secretEnv });
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)[0]).toMatchObject({ name: "secret", status: "built" });
      const debug = await project.run(["build", "secret-images.ts", "--debug"], { env: secretEnv });
      expect(debug.code, debug.stderr).toBe(0);
      // --debug prints every log line: the session's, the pip step's, the command's (no step is cached: noCache).
      expect(debug.stderr).toContain("session: secret index: from the environment variable IMAGESPEC_CLI_INDEX_URL");
      expect(debug.stderr).toContain(`secret step ${run}`);
      for (const value of [password, token]) {
        expect(json.stdout + json.stderr).not.toContain(value);
        expect(debug.stdout + debug.stderr).not.toContain(value);
      }
    } finally {
      await index.close();
      rmSync(wheels, { recursive: true, force: true });
    }
  }, 300_000); // two complete builds (noCache), each with a pip install: minutes on a 2-core CI machine running other suites

  it("no Docker engine exits 3", async () => {
    const local = { IMAGESPEC_DEBIAN_BASE_IMAGE: env.IMAGESPEC_DEBIAN_BASE_IMAGE!, DOCKER_HOST: "unix:///nonexistent/docker.sock" };
    const { result, value } = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env: local });
    expect(result.code, result.stderr).toBe(3);
    expect(value[0]).toMatchObject({ name: "app", status: "failed" });
    expect(value[0]!.reason).toMatch(/Docker engine/i);
  });
});

/** An HTTP proxy in front of the test registry that records every request it forwards (method and path). */
async function countingRegistryProxy(registry: string): Promise<{ host: string; requests: string[]; close(): Promise<void> }> {
  const [hostname, port] = registry.split(":");
  const requests: string[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
    const forwarded = httpRequest({ hostname, port: Number(port), method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    forwarded.on("error", () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("remembered existence", () => {
  it("a second build within the TTL sends the registry no request; --no-cache and IMAGESPEC_EXISTENCE_TTL=0 ask again", async () => {
    const proxy = await countingRegistryProxy(testEnv().registry);
    try {
      const cacheDir = mkdtempSync(path.join(tmpdir(), "imagespec-cli-cache-"));
      const through = { ...env, IMAGESPEC_REGISTRY: `${proxy.host}/cli-remembered`, IMAGESPEC_CACHE_DIR: cacheDir };
      const first = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env: through });
      expect(first.result.code, first.result.stderr).toBe(0);
      expect(first.value[0]).toMatchObject({ status: "built", pushed: true });
      const manifest = `/v2/cli-remembered/cli-e2e/manifests/${first.value[0]!.uri.split(":").pop()}`;
      expect(proxy.requests).toContain(`HEAD ${manifest}`);

      // A build's own push is not remembered: the registry's answer is.
      proxy.requests.length = 0;
      const asked = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env: through });
      expect(asked.value[0], asked.result.stderr).toMatchObject({ status: "skipped", reason: expect.not.stringContaining("as it said") });
      expect(proxy.requests).toEqual([`HEAD ${manifest}`]);

      proxy.requests.length = 0;
      const second = await project.json<BuildReport[]>(["build", "images.ts", "app"], { env: through });
      expect(second.result.code, second.result.stderr).toBe(0);
      expect(second.value[0]).toMatchObject({ status: "skipped", uri: first.value[0]!.uri, digest: first.value[0]!.digest });
      expect(second.value[0]!.reason).toMatch(/already exists in .* \(as it said \d+ s ago; --no-cache asks again\)/);
      expect(proxy.requests).toEqual([]);

      for (const [args, extra] of [
        [["--no-cache"], {}],
        [[], { IMAGESPEC_EXISTENCE_TTL: "0" }],
      ] as const) {
        proxy.requests.length = 0;
        const again = await project.json<BuildReport[]>(["build", "images.ts", "app", ...args], { env: { ...through, ...extra } });
        expect(again.value[0], again.result.stderr).toMatchObject({ status: "skipped", reason: expect.not.stringContaining("as it said") });
        expect(proxy.requests).toEqual([`HEAD ${manifest}`]);
      }
    } finally {
      await proxy.close();
    }
  });
});
