/**
 * The builder conformance suite (@imagespec/testing) run by the docker builder with this package's layer kinds:
 * fromNodeBase's nodeVersion and nodeProject, on a single npm project and on a package of the pnpm fixture workspace,
 * against the test environment's real engine.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync } from "node:fs";
import path from "node:path";
import { Image } from "@imagespec/core";
import plugin from "@imagespec/builder-docker/plugin";
import { nodeTestEnv, runImage, testEnv } from "@imagespec/test-env";
import { type ConformanceFiles, describeBuilderConformance } from "@imagespec/testing";
import { expect } from "vitest";
import { fromNodeBase, withNodeProject } from "../src/index.js";
import { FIXTURES, write } from "./support/project.js";

/** A single npm project with no dependencies (its install needs no registry), written into the suite's folder once. */
function npmProject(files: ConformanceFiles, scripts: Record<string, string> = {}): string {
  const dir = `node-app-${createHash("sha256").update(JSON.stringify(scripts)).digest("hex").slice(0, 8)}`;
  if (!existsSync(path.join(files.root, dir))) {
    const manifest = { name: "conformance-app", version: "1.0.0", main: "main.js", scripts };
    write(path.join(files.root, dir), {
      "package.json": `${JSON.stringify(manifest, null, 2)}\n`,
      "package-lock.json": `${JSON.stringify({ name: "conformance-app", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "conformance-app", version: "1.0.0" } } }, null, 2)}\n`,
      "main.js": 'console.log("conformance " + process.env.NODE_ENV + " " + process.env.IMAGESPEC_IMAGE_ID);\n',
    });
  }
  return dir;
}

/** The pnpm fixture workspace, copied into the suite's folder once. */
function pnpmWorkspace(files: ConformanceFiles): string {
  const dir = "node-workspace";
  if (!existsSync(path.join(files.root, dir))) cpSync(path.join(FIXTURES, "pnpm-workspace"), path.join(files.root, dir), { recursive: true });
  return dir;
}

const base = (root: string, name = "i16-node-conformance/app") => {
  process.env.IMAGESPEC_NODE_BASE_IMAGE = `${testEnv().registry}/imagespec/node:{node_version}-bookworm-slim`;
  return fromNodeBase({ nodeVersion: nodeTestEnv().nodeVersion, root, name });
};

describeBuilderConformance(plugin.builders[0]!, {
  name: "docker builder conformance with @imagespec/node's layer kinds",
  plugin,
  config: { network: "host" },
  supported: [
    (files) => withNodeProject(base(files.root), { package: npmProject(files) }),
    (files) => withNodeProject(base(files.root), { package: `${pnpmWorkspace(files)}/apps/api`, npmrc: false }).withEnvVars({ AFTER: "the node layer" }),
    (files) => withNodeProject(Image.fromBase(base(files.root), { root: files.root, name: "i16-node-conformance/child" }), { package: npmProject(files) }),
  ],
  build: {
    image: (files) => withNodeProject(base(files.root), { package: npmProject(files) }),
    check: async (result, { image }) => {
      expect(result.digest).toMatch(/^sha256:/);
      expect(await runImage(result.uri, [])).toBe(`conformance production ${image.id}`);
    },
  },
  errors: [
    {
      name: "a package's build script fails",
      image: (files) => withNodeProject(base(files.root, "i16-node-conformance/fails"), { package: npmProject(files, { build: "exit 3" }) }),
      code: "BUILD_FAILED",
    },
  ],
  cancellation: {
    image: (files) => withNodeProject(base(files.root, "i16-node-conformance/slow"), { package: npmProject(files, { build: `sleep 60 # ${Date.now()}` }) }),
    abortAfterMs: 3000,
  },
  timeoutMs: 600_000,
});
