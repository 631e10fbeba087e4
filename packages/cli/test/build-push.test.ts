/**
 * `imagespec build` pushing to the test environment's real registry (the rest of build.test.ts needs no registry
 * and runs in the unit tier): a builder plugin discovered from the project's package.json records what it built.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildReport } from "../src/commands/build.js";
import { FAKE_BUILDER_PACKAGE, fakeBuilderFiles } from "./support/fake-builder.js";
import { createProject } from "./support/project.js";

const project = createProject({
  localPackages: { [FAKE_BUILDER_PACKAGE]: fakeBuilderFiles },
  files: {
    "images.ts": `import { Image } from "@imagespec/core";\nexport const other = Image.fromBase("python:3.12-slim", { name: "other" }).withCommands("echo hi");\n`,
  },
});
afterAll(() => project.remove());

const freshState = () => mkdtempSync(path.join(tmpdir(), "imagespec-fake-engine-"));
const recorded = (state: string) =>
  existsSync(state) ? readdirSync(state).map((f) => JSON.parse(readFileSync(path.join(state, f), "utf8")) as { uri: string; push: boolean }) : [];

async function build(args: string[], env: Record<string, string> = {}) {
  const { result, value } = await project.json<BuildReport[]>(["build", ...args], { env });
  return { ...result, reports: value, byName: Object.fromEntries(value.map((r) => [r.name, r])) };
}

describe("build", () => {
  it("pushes images with a registry unless --no-push or IMAGESPEC_PUSH=false", async () => {
    // A repository nobody pushed to: the real registry answers 404, so the image is built.
    const registry = `${process.env.IMAGESPEC_TEST_REGISTRY}/cli-${Date.now().toString(36)}`;
    for (const [args, env, pushed] of [
      [[], {}, true],
      [["--no-push"], {}, false],
      [[], { IMAGESPEC_PUSH: "false" }, false],
    ] as const) {
      const state = freshState();
      const { code, byName, stderr } = await build(["images.ts", "other", ...args], { FAKE_STATE_DIR: state, IMAGESPEC_REGISTRY: registry, ...env });
      expect(code, stderr).toBe(0);
      expect(byName.other!.uri.startsWith(`${registry}/other:`)).toBe(true);
      expect(byName.other!.pushed, JSON.stringify([args, env])).toBe(pushed);
      expect(recorded(state)[0]!.push).toBe(pushed);
    }
  });
});
