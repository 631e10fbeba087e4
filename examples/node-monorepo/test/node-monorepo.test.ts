/**
 * The example for real, in a copy of it (the test edits files): both services built with `imagespec build`, an edit
 * to one service rebuilding only that one, an edit to the shared library changing both tags, the services answering
 * HTTP on loopback, and each image holding neither dev dependencies nor other workspace packages' sources nor the
 * registry token — checked by listing the images and reading every layer.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { imageFiles, imageFilesContaining, imageHttpAnswer, nodeTestEnv, testEnv, testNpmrc } from "@imagespec/test-env";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let copy: string;
let env: Record<string, string>;

interface Report {
  readonly name: string;
  readonly uri: string;
  readonly status: string;
}

async function imagespec(args: string[]): Promise<string> {
  const result = await execa("pnpm", ["exec", "imagespec", ...args], { cwd: copy, env, reject: false, timeout: 900_000 });
  if (result.exitCode !== 0) throw new Error(`imagespec ${args.join(" ")} exited with ${result.exitCode}:\n${result.stderr}`);
  return String(result.stdout);
}

async function build(extra: string[] = []): Promise<Record<string, Report>> {
  const reports = JSON.parse(await imagespec(["build", "images.ts", "api", "web", "--json", ...extra])) as Report[];
  return Object.fromEntries(reports.map((r) => [r.name, r]));
}

const tag = async (name: string) => (await imagespec(["tag", "images.ts", name])).trim();

function edit(file: string, append: string): void {
  const abs = path.join(copy, "workspace", file);
  writeFileSync(abs, `${readFileSync(abs, "utf8")}${append}`);
}

async function docker(args: string[], input?: Buffer): Promise<string> {
  const { dockerCli, dockerHost } = testEnv();
  const result = await execa(dockerCli, args, { env: { DOCKER_HOST: dockerHost }, ...(input && { input }), timeout: 300_000 });
  return String(result.stdout);
}

beforeAll(() => {
  const test = testEnv();
  const node = nodeTestEnv();
  // A copy beside the original, so node_modules and the repo's scripts resolve the same way.
  copy = mkdtempSync(path.join(here, "..", ".node-monorepo-"));
  cpSync(here, copy, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) && !src.endsWith(".npmrc") });
  cpSync(path.join(here, "node_modules"), path.join(copy, "node_modules"), { recursive: true, verbatimSymlinks: true });
  writeFileSync(path.join(copy, "workspace", ".npmrc"), testNpmrc(node), { mode: 0o600 });
  env = {
    IMAGESPEC_REGISTRY: test.registry,
    IMAGESPEC_NODE_BASE_IMAGE: `${test.registry}/imagespec/node:{node_version}-bookworm-slim`,
  };
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe("examples/node-monorepo", () => {
  let first: Record<string, Report>;

  it("builds both services; an edit to web rebuilds web only and leaves api's tag; an edit to the shared library changes both", async () => {
    first = await build(["--force-push"]);
    expect(first.api!.status).toBe("built");
    expect(first.web!.status).toBe("built");

    edit("apps/web/src/server.ts", `// edited by the example's test at ${Date.now()}\n`);
    const second = await build();
    expect(second.api).toMatchObject({ status: "skipped", uri: first.api!.uri });
    expect(second.web!.status).toBe("built");
    expect(second.web!.uri).not.toBe(first.web!.uri);

    const before = { api: await tag("api"), web: await tag("web") };
    expect(before.api).toBe(first.api!.uri);
    edit("packages/shared/src/index.ts", `// edited by the example's test at ${Date.now()}\n`);
    expect(await tag("api")).not.toBe(before.api);
    expect(await tag("web")).not.toBe(before.web);
  }, 1_800_000);

  it("runs both services: each answers HTTP on loopback", async () => {
    expect(await imageHttpAnswer(first.api!.uri, { port: 28161 })).toMatch(/^api says hello \(up \d+m?s\); Hello, api user, from a private package!\n$/);
    expect(await imageHttpAnswer(first.web!.uri, { port: 28162 })).toMatch(/^<p>web says hello \(up \d+m?s\)<\/p>\n$/);
  }, 300_000);

  it("puts no dev dependency, no other service, no sources of the shared library, no .npmrc in an image", async () => {
    for (const [service, other] of [
      ["api", "web"],
      ["web", "api"],
    ] as const) {
      const files = await imageFiles(first[service]!.uri);
      const app = files.filter((f) => f.startsWith("app/"));
      expect(app).toContain(`app/apps/${service}/dist/server.js`);
      expect(app).toContain("app/packages/shared/dist/index.js");
      expect(
        app.filter((f) => f.startsWith(`app/apps/${other}`)),
        `the ${other} service in the ${service} image`,
      ).toEqual([]);
      expect(
        app.filter((f) => f.startsWith("app/packages/shared/src") || f.startsWith(`app/apps/${service}/src`)),
        "TypeScript sources",
      ).toEqual([]);
      expect(
        app.filter((f) => /typescript|@types/.test(f)),
        "dev dependencies",
      ).toEqual([]);
      expect(files.filter((f) => /(^|\/)\.npmrc$/.test(f))).toEqual([]);
    }
  }, 300_000);

  it("keeps the registry token out of every layer, the image config and the history", async () => {
    const token = nodeTestEnv().npmToken;
    for (const service of ["api", "web"]) {
      expect(await imageFilesContaining(first[service]!.uri, token)).toEqual([]);
      expect(await docker(["history", "--no-trunc", first[service]!.uri])).not.toContain(token);
    }
  }, 300_000);
});
