import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type Image, loadProject } from "@imagespec/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportFolder } from "../src/index.js";
import { imagespec, installedConsumer } from "./support.js";

let dir: string;
beforeAll(async () => {
  dir = await installedConsumer();
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The consumer's images.ts, loaded from inside the consumer (its own @imagespec/core). */
async function images(): Promise<{ base: Image; app: Image }> {
  const { importModule } = await import("@imagespec/core");
  return (await importModule(path.join(dir, "images.ts"))) as unknown as { base: Image; app: Image };
}

describe("a project that depends on the export builder", () => {
  it("finds it by discovery, next to noop, with its priority", async () => {
    const project = await loadProject({ cwd: dir, env: {} });
    expect(project.failures).toEqual([]);
    expect(project.builders.map((b) => `${b.type}:${b.priority}:${b.packageName}:${b.via}`)).toEqual([
      "export:10:imagespec-builder-export:dependency",
      "noop:0:@imagespec/builder-noop:dependency",
    ]);
    expect(project.configFile).toBe(path.join(dir, "imagespec.config.ts"));
  });

  it("chooses it by priority, and lets the config pin another order", async () => {
    const { base, app } = await images();
    const project = await loadProject({ cwd: dir, env: {} });
    expect(project.engine.select(base).builder.type).toBe("export"); // both can; 10 beats 0
    expect(project.engine.select(app).builder.type).toBe("export"); // noop refuses layers

    const { writeFile } = await import("node:fs/promises");
    await writeFile(
      path.join(dir, "noop-first.config.ts"),
      `import { defineConfig } from "@imagespec/core";\nexport default defineConfig({ priorities: { noop: 20 } });\n`,
    );
    const pinned = await loadProject({ cwd: dir, configFile: path.join(dir, "noop-first.config.ts"), env: {} });
    expect(pinned.engine.select(base).builder.type).toBe("noop");
    expect(pinned.engine.select(app).builder.type).toBe("export");
  });

  it("is listed by the project's own `imagespec builders`", async () => {
    const run = await imagespec(dir, ["builders", "--json"]);
    expect(run.exitCode, run.stderr).toBe(0);
    const listed = JSON.parse(run.stdout) as { builders: { type: string; priority: number; package: string; via: string }[]; failures: unknown[] };
    expect(listed.builders.map((b) => [b.type, b.priority, b.package, b.via])).toEqual([
      ["export", 10, "imagespec-builder-export", "dependency"],
      ["noop", 0, "@imagespec/builder-noop", "dependency"],
    ]);
    expect(listed.failures).toEqual([]);
  });

  it("exports the images with `imagespec build`, base first, and skips them the second time", async () => {
    const first = await imagespec(dir, ["build", "images.ts"]);
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);
    const { base, app } = await images();
    const out = path.join(dir, "exported");
    const appDockerfile = await readFile(path.join(exportFolder(out, await app.uri()), "Dockerfile"), "utf8");
    expect(appDockerfile).toContain(`FROM ${await base.uri()}\n`);
    expect(appDockerfile).toContain('ENV GREETING="hello from a third-party builder"\n');
    expect(appDockerfile).toContain(`ENTRYPOINT ["python3","-c","import os; print(os.environ['GREETING'])"]`);
    expect(await readFile(path.join(exportFolder(out, await base.uri()), "Dockerfile"), "utf8")).toContain("FROM python:3.12-slim-bookworm\n");

    const second = await imagespec(dir, ["build", "images.ts", "--json"]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toContain('"skipped"');
    expect(second.stdout).not.toContain('"built"');
  });
});
