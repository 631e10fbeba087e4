/**
 * End to end against the real engine (scripts/test-env): one package of a pnpm, an npm and a yarn 1 workspace, built
 * by the docker builder from the test environment's Node.js base image (Debian's nodejs and npm), installing from its
 * npm registry on 127.0.0.1 with the token in an .npmrc, then run: it answers HTTP, runs as `node` with
 * NODE_ENV=production, and its files (listed from the image itself) hold no dev dependency, no other workspace
 * package and no token — nor does any layer or the image's history.
 */
import { createDockerBuilder } from "@imagespec/builder-docker";
import { type BuildOutcome, type Image, ImageBuildEngine } from "@imagespec/core";
import { docker, imageFiles, imageFilesContaining, imageHttpAnswer, nodeTestEnv, publishNpmPackage, runImage, testEnv } from "@imagespec/test-env";
import { tempProject } from "@imagespec/test-env/project";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromNodeBase, withNodeProject } from "../src/index.js";
import { MANAGERS, type Manager, npmrc, runManager, workspace, write } from "./support/project.js";

let engine: ImageBuildEngine;
const built: string[] = [];

async function build(image: Image): Promise<BuildOutcome> {
  const outcomes = await engine.build(image, { force: true });
  const uri = await image.uri();
  const outcome = outcomes.find((o) => o.uri === uri)!;
  built.push(uri);
  if (outcome.status !== "built") {
    const log = (outcome.error as { log?: string } | undefined)?.log ?? "";
    throw new Error(`expected ${uri} to be built, got ${outcome.status}: ${outcome.reason}\n${log.split("\n").slice(-60).join("\n")}`);
  }
  return outcome;
}

beforeAll(() => {
  process.env.IMAGESPEC_NODE_BASE_IMAGE = `${testEnv().registry}/imagespec/node:{node_version}-bookworm-slim`;
  engine = new ImageBuildEngine().register(createDockerBuilder({ network: "host" }), { priority: 100 });
});

afterAll(async () => {
  for (const uri of built) await docker(["image", "rm", "--force", uri]).catch(() => undefined);
});

describe.each(MANAGERS)("a package of a %s workspace", (manager: Manager) => {
  let uri: string;
  let image: Image;

  beforeAll(async () => {
    const root = workspace(manager, { ".npmrc": npmrc() });
    image = withNodeProject(fromNodeBase({ nodeVersion: nodeTestEnv().nodeVersion, root, name: `i16-node-e2e/${manager}-api` }), { package: "apps/api" });
    uri = (await build(image)).uri;
  }, 900_000);

  it("answers HTTP on loopback, as the user node, with NODE_ENV=production and what its build made", async () => {
    const port = 28100 + MANAGERS.indexOf(manager);
    expect(await imageHttpAnswer(uri, { port })).toMatch(
      /^Hello, fixture, from a private package! up \d+m?s, typescript 5\.9\.3, NODE_ENV=production, uid=1000\n$/,
    );
  });

  it("holds the package and the shared package's files only: no dev dependency, no other package, no sources left out by files", async () => {
    const files = await imageFiles(uri);
    const app = files.filter((f) => f.startsWith("app/"));
    expect(app).toContain("app/apps/api/dist/server.js");
    expect(app).toContain("app/packages/shared/index.js");
    expect(app.some((f) => /(^|\/)ms\/package\.json$/.test(f))).toBe(true);
    expect(
      app.filter((f) => f.includes("apps/web")),
      "another workspace package",
    ).toEqual([]);
    expect(
      app.filter((f) => f.includes("packages/shared/test")),
      "files the shared package does not publish",
    ).toEqual([]);
    expect(
      app.filter((f) => f.startsWith("app/apps/api/src") || f === "app/apps/api/build.js"),
      "the api's sources (its files are dist)",
    ).toEqual([]);
    expect(
      app.filter((f) => /typescript/.test(f)),
      "a dev dependency",
    ).toEqual([]);
    expect(files.filter((f) => /(^|\/)\.npmrc$/.test(f))).toEqual([]);
    // The package manager of the build stages stays there.
    expect(files.filter((f) => /node_modules\/(pnpm|yarn)\/package\.json$/.test(f))).toEqual([]);
  });

  it("keeps the registry token out of every layer, the config and the history", async () => {
    const token = nodeTestEnv().npmToken;
    expect(await imageFilesContaining(uri, token)).toEqual([]);
    const history = await docker(["history", "--no-trunc", uri]);
    expect(history).not.toContain(token);
    expect(history).not.toContain("_authToken");
  });

  it("sets the command from the start script and the working directory to the package", async () => {
    const config = JSON.parse(await docker(["image", "inspect", "--format", "{{json .Config}}", uri])) as {
      Cmd: string[];
      WorkingDir: string;
      User: string;
      Env: string[];
    };
    expect(config.Cmd).toEqual(["node", "dist/server.js"]);
    expect(config.WorkingDir).toBe("/app/apps/api");
    expect(config.User).toBe("node");
    expect(config.Env).toContain("NODE_ENV=production");
    // The shared package resolves from the package's folder, as the service requires it (a minute ago prints "1m").
    expect(await runImage(uri, ["-e", "console.log(require('@fx/shared').since(Date.now() - 60000))"], { entrypoint: "node" })).toBe("1m");
  });
});

describe("builds that fail, saying why", () => {
  it("needs the .npmrc's token for a private package no cache has seen; with it, a single project builds and runs", async () => {
    // Published for this test alone: neither the engine's cache nor the package manager's cache mount has it.
    const probe = await publishNpmPackage(`@imagespec-test/probe-${Date.now()}`, "1.0.0", { "index.js": 'module.exports = "private probe";\n' });
    try {
      const root = tempProject(
        {
          ".npmrc": npmrc(),
          "package.json": JSON.stringify({
            name: "probe-app",
            version: "1.0.0",
            private: true,
            packageManager: "pnpm@10.34.9",
            main: "main.js",
            dependencies: { [probe.name]: "1.0.0" },
          }),
          "main.js": `console.log(require(${JSON.stringify(probe.name)}));\n`,
        },
        { prefix: "imagespec-node-probe-" },
      );
      await runManager("pnpm", ["install", "--lockfile-only"], root);
      const image = (npmrcFile: string) =>
        withNodeProject(fromNodeBase({ nodeVersion: nodeTestEnv().nodeVersion, root, name: "i16-node-e2e/probe" }), { npmrc: npmrcFile });
      // The same registry without the token: the private package is refused.
      write(root, { "no-token.npmrc": `registry=${nodeTestEnv().npmRegistry}\n` });
      const outcomes = await engine.build(image("no-token.npmrc"), { force: true });
      const failed = outcomes.at(-1)!;
      expect(failed.status).toBe("failed");
      expect(String((failed.error as Error).message)).toContain("layers[1] (nodeProject)");
      expect(String((failed.error as { log?: string }).log)).toContain(probe.name);
      const uri = (await build(image(".npmrc"))).uri;
      expect(await runImage(uri, [])).toBe("private probe");
      expect(await imageFilesContaining(uri, nodeTestEnv().npmToken)).toEqual([]);
    } finally {
      await probe.remove();
    }
  }, 900_000);

  it("a build that does not make the files its package.json lists, naming the package and the entry", async () => {
    const root = workspace("npm", { ".npmrc": npmrc() });
    write(root, { "apps/api/build.js": "require('typescript');\n" });
    const image = withNodeProject(fromNodeBase({ nodeVersion: nodeTestEnv().nodeVersion, root, name: "i16-node-e2e/no-dist" }), { package: "apps/api" });
    const outcomes = await engine.build(image, { force: true });
    const outcome = outcomes.find((o) => o.uri === (outcomes.at(-1)?.uri ?? ""))!;
    expect(outcome.status).toBe("failed");
    expect(String((outcome.error as Error).message)).toContain("layers[1] (nodeProject)");
    expect(String((outcome.error as { log?: string }).log)).toContain(
      'imagespec: @fx/api lists dist in the "files" of its package.json, but /app/apps/api/dist does not exist after the build',
    );
  }, 900_000);
});
