/**
 * Settings are resolved once (flags, environment, config file) and passed down: the CLI and `loadProject()` give
 * an image the same tag for the same config, and the CLI writes nothing into process.env on the way.
 */

import path from "node:path";
import { importModule, isImage, loadProject } from "@imagespec/core";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import type { Streams } from "../src/output.js";
import { createProject } from "./support/project.js";

const MIRROR = "mirror.example.com/python:{python_version}-slim-bookworm";

const project = createProject({
  files: {
    "imagespec.config.ts": `import { defineConfig } from "@imagespec/core";\nexport default defineConfig({ debianBaseImage: ${JSON.stringify(MIRROR)}, registry: "127.0.0.1:5000/team" });\n`,
    "images.ts": `import { Image } from "@imagespec/core";\nexport const base = Image.fromDebianBase({ name: "base", pythonVersion: "3.11" });\nexport const app = Image.fromBase(base, { name: "app" }).withEnvVars({ A: "1" });\n`,
  },
});
afterAll(() => project.remove());

/** `main` in this process with nothing but the given environment: what reaches the images must come through it. */
async function cliTags(env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (t: string) => void) =>
    ({
      write: (chunk: string) => {
        append(String(chunk));
        return true;
      },
    }) as unknown as Streams["stdout"];
  const code = await main(["tag", "images.ts", "--json"], env, { cwd: project.dir, stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)) });
  expect(code, stderr).toBe(0);
  const entries = JSON.parse(stdout) as { name: string; uri: string }[];
  return Object.fromEntries(entries.map((e) => [e.name, e.uri]));
}

async function projectTags(env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const loaded = await loadProject({ cwd: project.dir, env });
  const module = await importModule(path.join(project.dir, "images.ts"));
  const tags: Record<string, string> = {};
  for (const [name, value] of Object.entries(module)) if (isImage(value)) tags[name] = await loaded.prepare(value).uri();
  return tags;
}

describe("settings resolved once", () => {
  it("the CLI and loadProject() give the same tag for the same config, with its Debian base and registry", async () => {
    const saved = process.env.IMAGESPEC_DEBIAN_BASE_IMAGE;
    delete process.env.IMAGESPEC_DEBIAN_BASE_IMAGE;
    try {
      const env = { PATH: process.env.PATH };
      const cli = await cliTags(env);
      // Nothing was left in process.env for Image constructors to read.
      expect(process.env.IMAGESPEC_DEBIAN_BASE_IMAGE).toBeUndefined();
      const fromCode = await projectTags(env);
      expect(fromCode).toEqual(cli);
      expect(cli.app).toMatch(/^127\.0\.0\.1:5000\/team\/app:/);

      const loaded = await loadProject({ cwd: project.dir, env });
      expect(loaded.settings.debianBaseImage).toBe(MIRROR);
      const module = await importModule(path.join(project.dir, "images.ts"));
      if (!isImage(module.base)) throw new Error("images.ts exports no base Image");
      expect(loaded.prepare(module.base).base).toMatchObject({ type: "debian", uri: "mirror.example.com/python:3.11-slim-bookworm" });
    } finally {
      if (saved !== undefined) process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = saved;
    }
  });

  it("the environment wins over the config in both, and another base is another tag", async () => {
    const env = { PATH: process.env.PATH, IMAGESPEC_DEBIAN_BASE_IMAGE: "other.example.com/py:{python_version}" };
    const cli = await cliTags(env);
    expect(await projectTags(env)).toEqual(cli);
    expect(cli.base).not.toBe((await cliTags({ PATH: process.env.PATH })).base);
  });
});
