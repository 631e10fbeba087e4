/**
 * `imagespec build`, `dockerfile`, `exists` (local images) and `builders` against builder plugins discovered
 * from the project's package.json: builder-noop, and a small third-party plugin package (test/support/fake-builder.ts).
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { brokenPluginFiles, FAKE_BUILDER_PACKAGE, fakeBuilderFiles } from "./support/fake-builder.js";
import { createProject } from "./support/project.js";
import type { BuildReport } from "../src/commands/build.js";

const IMAGES = `
import { Image } from "@imagespec/core";
export const base = Image.fromBase("python:3.12-slim", { name: "base" }).withEnvVars({ LAYER: "base" });
export const app = Image.fromBase(base, { name: "app" }).withPipPackages("requests");
export const other = Image.fromBase("python:3.12-slim", { name: "other" }).withCommands("echo hi");
`;

const FAILING = `
import { Image } from "@imagespec/core";
export const base = Image.fromBase("python:3.12-slim", { name: "base" }).withEnvVars({ LAYER: "base" });
export const broken = Image.fromBase(base, { name: "broken" }).withEnvVars({ FAKE_FAIL: "1" });
export const child = Image.fromBase(broken, { name: "child" }).withCommands("true");
export const fine = Image.fromBase("python:3.12-slim", { name: "fine" }).withCommands("true");
`;

const PLAIN = `
import { Image } from "@imagespec/core";
export const plain = Image.fromBase("python:3.12-slim", { name: "plain" });
`;

const project = createProject({
  localPackages: { [FAKE_BUILDER_PACKAGE]: fakeBuilderFiles },
  files: { "images.ts": IMAGES, "failing.ts": FAILING, "plain.ts": PLAIN },
});
afterAll(() => project.remove());

/** A fresh "engine" for the fake builder: a folder it records built images in. */
const freshState = () => mkdtempSync(path.join(tmpdir(), "imagespec-fake-engine-"));
const recorded = (state: string) =>
  existsSync(state)
    ? readdirSync(state).map(
        (f) => JSON.parse(readFileSync(path.join(state, f), "utf8")) as { uri: string; push: boolean; dockerfile: string; started: number; finished: number },
      )
    : [];

async function build(args: string[], env: Record<string, string> = {}) {
  const { result, value } = await project.json<BuildReport[]>(["build", ...args], { env });
  return { ...result, reports: value, byName: Object.fromEntries(value.map((r) => [r.name, r])) };
}

describe("build", () => {
  it("builds every export, base images first; --json is [{ name, file, uri, builder, status, pushed, digest, platforms, reason, error }]", async () => {
    const state = freshState();
    const { code, stderr, reports, byName } = await build(["images.ts"], { FAKE_STATE_DIR: state });
    expect(code, stderr).toBe(0);
    expect(reports.map((r) => r.name).sort()).toEqual(["app", "base", "other"]);
    expect(reports.findIndex((r) => r.name === "base")).toBeLessThan(reports.findIndex((r) => r.name === "app"));
    for (const r of reports) {
      expect(Object.keys(r).sort()).toEqual(["builder", "digest", "error", "file", "name", "platforms", "pushed", "reason", "status", "uri"]);
      expect(r.platforms).toBeNull();
      expect(r).toMatchObject({ file: "images.ts", builder: "fake", status: "built", pushed: false, reason: null, error: null });
      expect(r.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(byName.app!.uri).toMatch(/^app:[a-z2-7]{26}$/);
    expect(
      recorded(state)
        .map((r) => r.uri)
        .sort(),
    ).toEqual(reports.map((r) => r.uri).sort());
    // The child was built FROM the base's URI.
    expect(recorded(state).find((r) => r.uri === byName.app!.uri)!.dockerfile).toContain(`FROM ${byName.base!.uri}`);
    // Progress went to stderr, as plain lines (no terminal here).
    expect(stderr).toContain(`base: building ${byName.base!.uri} (fake)`);
    expect(stderr).toMatch(new RegExp(`^app: built ${byName.app!.uri.replace(/[.]/g, "\\.")} \\(fake\\) [0-9.]+s$`, "m"));
    expect(stderr).not.toContain("\x1b[");

    // The second build finds every tag in the engine and skips it.
    const again = await build(["images.ts"], { FAKE_STATE_DIR: state });
    expect(again.code).toBe(0);
    for (const r of again.reports) {
      expect(r.status, r.name).toBe("skipped");
      expect(r.reason).toContain("already exists");
    }
  });

  it("without --json, stdout is the URIs of the requested images", async () => {
    const state = freshState();
    const { code, stdout, stderr } = await project.run(["build", "images.ts", "app"], { env: { FAKE_STATE_DIR: state } });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^app:[a-z2-7]{26}\n$/);
    // The base was built on the way, under a name that says whose base it is.
    expect(stderr).toMatch(/^app\.base: built /m);
  });

  it("a failing build exits 1, fails its dependants, and independent images still build", async () => {
    const state = freshState();
    const { code, byName } = await build(["failing.ts"], { FAKE_STATE_DIR: state });
    expect(code).toBe(1);
    expect(byName.broken).toMatchObject({ status: "failed", pushed: false, digest: null });
    expect(byName.broken!.reason).toContain("exited with code 7");
    expect(byName.broken!.error).toMatchObject({ code: "BUILD_FAILED", message: expect.stringContaining("exited with code 7") });
    expect(byName.child!.status).toBe("failed");
    expect(byName.child!.reason).toContain("its base image");
    expect(byName.child!.error).toMatchObject({ code: "BUILD_FAILED", message: expect.stringContaining("its base image") });
    expect(byName.fine!.status).toBe("built");
    expect(byName.fine!.error).toBeNull();
    expect(byName.base!.status).toBe("built");

    const plain = await project.run(["build", "failing.ts", "broken"], { env: { FAKE_STATE_DIR: state } });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("broken: failed");
    // The builder's last log lines come with the failure.
    expect(plain.stderr).toContain("fake: error: the command returned exit code 7");
    expect(plain.stderr).toContain("1 of 2 image(s) failed: broken");
    expect(plain.stderr).toContain("hint: See the log above.");
    expect(plain.stderr).not.toMatch(/^\s+at /m);
  });

  it("a builder that cannot reach its engine exits 3", async () => {
    const { code, byName, stderr } = await build(["images.ts", "other"], { FAKE_STATE_DIR: freshState(), FAKE_ENGINE: "/nonexistent/docker.sock" });
    expect(code, stderr).toBe(3);
    expect(byName.other!.status).toBe("failed");
    expect(byName.other!.reason).toContain("ENOENT");
    expect(byName.other!.error).toMatchObject({ code: "ENVIRONMENT", message: expect.stringContaining("ENOENT") });
  });

  it("--dry-run resolves and checks, prints the plan, and builds nothing", async () => {
    const state = freshState();
    const { code, reports } = await build(["images.ts", "--dry-run"], { FAKE_STATE_DIR: state });
    expect(code).toBe(0);
    expect(reports.map((r) => r.status)).toEqual(["planned", "planned", "planned"]);
    expect(recorded(state)).toEqual([]);
    const text = await project.run(["build", "images.ts", "other", "--dry-run"], { env: { FAKE_STATE_DIR: state } });
    expect(text.stdout).toMatch(/^build {2}other {2}other:[a-z2-7]{26} {2}fake/m);
  });

  it("--concurrency (or IMAGESPEC_CONCURRENCY) bounds how many images build at once", async () => {
    const state = freshState();
    const { code, stderr } = await build(["images.ts", "--concurrency", "1"], { FAKE_STATE_DIR: state });
    expect(code, stderr).toBe(0);
    const builds = recorded(state).sort((a, b) => a.started - b.started);
    expect(builds.length).toBeGreaterThan(1);
    for (let i = 1; i < builds.length; i++) expect(builds[i]!.started).toBeGreaterThanOrEqual(builds[i - 1]!.finished);
    for (const [args, env, shown] of [
      [["--concurrency", "0"], {}, '--concurrency must be a whole number of at least 1 (got "0")'],
      [[], { IMAGESPEC_CONCURRENCY: "many" }, 'IMAGESPEC_CONCURRENCY must be a whole number of at least 1 (got "many")'],
    ] as const) {
      const bad = await project.run(["build", "images.ts", ...args], { env: { FAKE_STATE_DIR: freshState(), ...env } });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(shown);
    }
  });

  it("--force-push and IMAGESPEC_FORCE_PUSH=true rebuild an image that exists", async () => {
    const state = freshState();
    expect((await build(["images.ts", "other"], { FAKE_STATE_DIR: state })).byName.other!.status).toBe("built");
    expect((await build(["images.ts", "other"], { FAKE_STATE_DIR: state })).byName.other!.status).toBe("skipped");
    expect((await build(["images.ts", "other", "--force-push"], { FAKE_STATE_DIR: state })).byName.other!.status).toBe("built");
    expect((await build(["images.ts", "other"], { FAKE_STATE_DIR: state, IMAGESPEC_FORCE_PUSH: "true" })).byName.other!.status).toBe("built");
  });

  it("picks the builder from --builder, IMAGESPEC_BUILDER, the config file, else the highest priority", async () => {
    const chosen = async (args: string[], env: Record<string, string> = {}, cwd?: string) => {
      const { result, value } = await project.json<BuildReport[]>(["build", "plain.ts", "--dry-run", ...args], {
        env: { FAKE_STATE_DIR: freshState(), ...env },
        cwd,
      });
      expect(result.code, result.stderr).toBe(0);
      return value[0]!.builder;
    };
    expect(await chosen([])).toBe("fake");
    expect(await chosen(["--builder", "noop"])).toBe("noop");
    expect(await chosen([], { IMAGESPEC_BUILDER: "noop" })).toBe("noop");
    project.write("noop.config.ts", `export default { builder: "noop" };\n`);
    expect(await chosen(["--config", "noop.config.ts"])).toBe("noop");
    expect(await chosen(["--config", "noop.config.ts"], { IMAGESPEC_BUILDER: "fake" })).toBe("fake");

    const { code, stderr } = await project.run(["build", "plain.ts", "--builder", "dokcer"]);
    expect(code).toBe(2);
    expect(stderr).toContain('no builder of type "dokcer" is registered (registered: fake, noop)');
  });
});

describe("two copies of @imagespec/core", () => {
  it("images, plugins and errors from the project's own copy of core work with the CLI's copy", async () => {
    const copied = createProject({
      copyCore: true,
      localPackages: { [FAKE_BUILDER_PACKAGE]: fakeBuilderFiles },
      files: { "images.ts": IMAGES, "bad.ts": `import { ImageSpec } from "@imagespec/core";\nexport const bad = new ImageSpec({ packages: ["numpy=="] });\n` },
    });
    try {
      const state = freshState();
      const { result, value } = await copied.json<BuildReport[]>(["build", "images.ts"], { env: { FAKE_STATE_DIR: state } });
      expect(result.code, result.stderr).toBe(0);
      expect(value.map((r) => [r.name, r.builder, r.status])).toEqual([
        ["base", "fake", "built"],
        ["app", "fake", "built"],
        ["other", "fake", "built"],
      ]);
      // Same tags as with one copy: the copies hash alike.
      expect(value.map((r) => r.uri).sort()).toEqual((await project.run(["tag", "images.ts"])).stdout.trim().split("\n").sort());

      const bad = await copied.run(["tag", "bad.ts"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('packages[0] = "numpy=="');
      expect(bad.stderr).not.toMatch(/^\s+at /m);
    } finally {
      copied.remove();
    }
  });
});

describe("progress", () => {
  /** Runs the CLI under a pseudo-terminal (util-linux `script`), as in an interactive shell. */
  const inTerminal = async (env: Record<string, string>, stty = "", images = "app") => {
    const bin = path.join(project.dir, "node_modules", ".bin", "imagespec");
    return project.runCommand("script", ["-qec", `${stty}${bin} build images.ts ${images}`, "/dev/null"], env);
  };

  it("on a terminal redraws one line per image with the build steps underneath", async () => {
    const { code, stdout } = await inTerminal({ FAKE_STATE_DIR: freshState(), TERM: "xterm" });
    expect(code).toBe(0);
    expect(stdout).toMatch(/\x1b\[\d+F\x1b\[0J/); // lines redrawn in place
    expect(stdout).toContain("[1/1] pipPackages"); // a step of app's build
    expect(stdout).toMatch(/\x1b\[32m✓\x1b\[39m \x1b\[32mapp built/); // coloured final state
  });

  it("keeps the live region within a small terminal", async () => {
    const { code, stdout } = await inTerminal({ FAKE_STATE_DIR: freshState(), TERM: "xterm" }, "stty rows 5 cols 60; ", "");
    expect(code).toBe(0);
    const moves = [...stdout.matchAll(/\x1b\[(\d+)F/g)].map((m) => Number(m[1]));
    expect(moves.length).toBeGreaterThan(0);
    expect(Math.max(...moves)).toBeLessThanOrEqual(3);
    for (const line of stdout.split(/\r?\n/)) expect(line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").length).toBeLessThanOrEqual(59);
  });

  it("NO_COLOR drops the colours, not the live display", async () => {
    const { code, stdout } = await inTerminal({ FAKE_STATE_DIR: freshState(), TERM: "xterm", NO_COLOR: "1" });
    expect(code).toBe(0);
    expect(stdout).toMatch(/\x1b\[\d+F/);
    expect(stdout).not.toMatch(/\x1b\[3\dm/);
    expect(stdout).toContain("✓ app built");
  });

  it("CI=true prints plain lines even on a terminal", async () => {
    const { code, stdout } = await inTerminal({ FAKE_STATE_DIR: freshState(), TERM: "xterm", CI: "true" });
    expect(code).toBe(0);
    expect(stdout).not.toMatch(/\x1b\[\d+F/);
    expect(stdout).toMatch(/^app: {3}\[1\/1\] pipPackages done 0\.0s\r?$/m);
    expect(stdout).toMatch(/^app: (\x1b\[32m)?built /m); // colours stay: CI logs show them
  });
});

describe("dockerfile", () => {
  it("prints the chosen builder's build file", async () => {
    const { code, stdout, stderr } = await project.run(["dockerfile", "images.ts", "app"]);
    expect(code, stderr).toBe(0);
    const base = (await project.run(["tag", "images.ts", "base"])).stdout.trim();
    expect(stdout.startsWith(`FROM ${base}\n`)).toBe(true);
    expect(stdout).toContain('"kind":"pipPackages"');
    expect(stderr).toContain("Fakefile for app (fake builder)");
  });

  it("a builder without a build file is exit 2", async () => {
    const { code, stderr } = await project.run(["dockerfile", "plain.ts", "--builder", "noop"]);
    expect(code).toBe(2);
    expect(stderr).toContain("the noop builder does not render one");
  });

  it("needs a name when the module exports several images", async () => {
    const { code, stderr } = await project.run(["dockerfile", "images.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain("exports several images (app, base, other); name one");
  });
});

describe("exists (an image without a registry: asked of its builder's engine)", () => {
  it("exits 1 when absent and 0 when present", async () => {
    const state = freshState();
    const absent = await project.run(["exists", "images.ts", "other"], { env: { FAKE_STATE_DIR: state } });
    expect(absent.code).toBe(1);
    expect(absent.stdout).toMatch(/^absent other:[a-z2-7]{26}\n$/);
    await build(["images.ts", "other"], { FAKE_STATE_DIR: state });
    const present = await project.json<{ name: string; uri: string; status: string; digest: string | null; reason: string | null }>(
      ["exists", "images.ts", "other"],
      {
        env: { FAKE_STATE_DIR: state },
      },
    );
    expect(present.result.code).toBe(0);
    expect(present.value).toMatchObject({ name: "other", status: "present", reason: null });
    expect(present.value.digest).toMatch(/^sha256:/);
  });
});

describe("builders", () => {
  it("lists the builders with type, priority, package, version and where they were found, and plugins that failed", async () => {
    const withBroken = createProject({ localPackages: { [FAKE_BUILDER_PACKAGE]: fakeBuilderFiles, "imagespec-builder-broken": brokenPluginFiles } });
    try {
      const { result, value } = await withBroken.json<{
        builders: { type: string; priority: number; package: string | null; version: string | null; via: string; from: string | null }[];
        failures: { package: string; reason: string }[];
      }>(["builders"]);
      expect(result.code, result.stderr).toBe(0);
      const packageJson = path.join(withBroken.dir, "package.json");
      expect(value.builders).toEqual([
        expect.objectContaining({ type: "fake", priority: 50, package: FAKE_BUILDER_PACKAGE, version: "1.2.3", via: "dependency", from: packageJson }),
        expect.objectContaining({ type: "noop", priority: 0, package: "@imagespec/builder-noop", version: "0.1.0", via: "dependency", from: packageJson }),
      ]);
      expect(value.failures).toEqual([{ package: "imagespec-builder-broken", reason: expect.stringContaining("this plugin is broken on purpose") }]);

      const text = await withBroken.run(["builders"]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^TYPE {2}PRIORITY {2}PACKAGE/m);
      expect(text.stdout).toMatch(/^fake {2}50 {8}imagespec-builder-fake {3}1\.2\.3/m);
      expect(text.stdout).toContain("imagespec-builder-broken: loading ./plugin.js failed: this plugin is broken on purpose");

      // Other commands load the same plugins and warn about the broken one.
      withBroken.write("plain.ts", PLAIN);
      const tag = await withBroken.run(["build", "plain.ts", "--dry-run"]);
      expect(tag.stderr).toContain("warning: plugin imagespec-builder-broken was not loaded");
    } finally {
      withBroken.remove();
    }
  });

  it("reports config settings for builders nothing offers, in builders and as warnings elsewhere", async () => {
    const project = createProject({ dependencies: ["@imagespec/core", "@imagespec/builder-noop"] });
    try {
      project.write("imagespec.config.mjs", `export default { priorities: { envd: 500 } };\n`);
      const { result, value } = await project.json<{ warnings: string[] }>(["builders"]);
      expect(result.code, result.stderr).toBe(0);
      expect(value.warnings).toEqual([
        expect.stringMatching(/^priorities\.envd in imagespec\.config\.mjs has no effect: no plugin offers a builder of type envd/),
      ]);
      project.write("plain.ts", PLAIN);
      const dry = await project.run(["build", "plain.ts", "--dry-run"]);
      expect(dry.stderr).toContain("warning: priorities.envd in imagespec.config.mjs has no effect");
    } finally {
      project.remove();
    }
  });

  it("lists only noop when only noop is declared", async () => {
    const onlyNoop = createProject({ dependencies: ["@imagespec/core", "@imagespec/builder-noop"] });
    try {
      const { result, value } = await onlyNoop.json<{ builders: { type: string }[]; failures: unknown[] }>(["builders"]);
      expect(result.code).toBe(0);
      expect(value.builders.map((b) => b.type)).toEqual(["noop"]);
      expect(value.failures).toEqual([]);

      // ... and an image noop cannot build is a usage problem (exit 2) that says why.
      onlyNoop.write("images.ts", IMAGES);
      const { code, stderr } = await onlyNoop.run(["build", "images.ts", "other"]);
      expect(code).toBe(2);
      expect(stderr).toContain("Cannot build other: no registered builder supports it");
    } finally {
      onlyNoop.remove();
    }
  });
});
