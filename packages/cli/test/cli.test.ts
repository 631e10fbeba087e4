/** The command line itself: help, version, mistakes and what they suggest, and that --help loads nothing heavy. */

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createProject, packagesDir } from "./support/project.js";

const project = createProject();
afterAll(() => project.remove());

const COMMANDS = ["build", "tag", "dockerfile", "explain", "exists", "builders"];

describe("help", () => {
  it("lists every command and the exit codes", async () => {
    const { code, stdout } = await project.run(["--help"]);
    expect(code).toBe(0);
    for (const command of COMMANDS) expect(stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(stdout).toMatch(/^ {2}3 +environment problem/m);
  });

  it.each(COMMANDS)("%s --help shows its usage, options and an example", async (command) => {
    for (const args of [
      [command, "--help"],
      [command, "-h"],
      ["help", command],
    ]) {
      const { code, stdout, stderr } = await project.run(args);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain(`imagespec ${command}`);
      expect(stdout).toMatch(/^Options:\n {2}/m);
      expect(stdout).toMatch(new RegExp(`^Examples:\\n {2}imagespec ${command}`, "m"));
    }
  });

  it("prints the version (the binary, as a process)", async () => {
    const { code, stdout } = await project.run(["--version"], { process: true });
    expect(code).toBe(0);
    const pkg = JSON.parse(readFileSync(path.join(packagesDir, "cli", "package.json"), "utf8")) as { version: string };
    expect(stdout.trim()).toBe(pkg.version);
  });

  it("without a command prints the help on stderr and exits 2", async () => {
    const { code, stdout, stderr } = await project.run([]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("Usage: imagespec <command>");
  });

  it("loads no command, core, YAML parser, TypeScript loader or Docker client for --help", async () => {
    const trace = path.join(mkdtempSync(path.join(tmpdir(), "imagespec-trace-")), "imports.txt");
    const bin = path.join(packagesDir, "cli", "dist", "cli.js");
    await promisify(execFile)(process.execPath, ["--import", path.join(import.meta.dirname, "support", "trace-imports.mjs"), bin, "--help"], {
      env: { ...process.env, TRACE_IMPORTS_FILE: trace },
    });
    const loaded = readFileSync(trace, "utf8").trim().split("\n");
    expect(loaded.some((url) => url.endsWith("/cli/dist/cli.js"))).toBe(true);
    for (const heavy of ["/core/dist/", "/zod/", "/yaml/", "/jiti/", "/dockerode/", "/execa/", "build-", "explain-"]) {
      expect(
        loaded.filter((url) => url.includes(heavy)),
        heavy,
      ).toEqual([]);
    }
  });

  it("the binary asks Node for its compile cache before it loads the CLI", async () => {
    // Node 20 has no compile cache: support/fake-compile-cache.mjs stands in for Node 22's and records the call.
    const trace = path.join(mkdtempSync(path.join(tmpdir(), "imagespec-trace-")), "imports.txt");
    const bin = path.join(packagesDir, "cli", "bin", "imagespec.js");
    const support = path.join(import.meta.dirname, "support");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", path.join(support, "trace-imports.mjs"), "--import", path.join(support, "fake-compile-cache.mjs"), bin, "--version"],
      { env: { ...process.env, TRACE_IMPORTS_FILE: trace } },
    );
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const lines = readFileSync(trace, "utf8").trim().split("\n");
    const asked = lines.indexOf("enableCompileCache()");
    const cli = lines.findIndex((line) => line.endsWith("/cli/dist/cli.js"));
    expect(asked, lines.join("\n")).toBeGreaterThanOrEqual(0);
    expect(cli, lines.join("\n")).toBeGreaterThan(asked);
  });
});

describe("what a command that builds nothing loads", () => {
  it("exists with the docker builder's plugin: one copy of zod (core's, bundled), no Docker client", async () => {
    // Port 9 refuses at once: the command runs its whole path (discovery, the plugin's settings, the tag, the
    // registry) and answers "unknown" without a registry or an engine.
    const docker = createProject({
      dependencies: ["@imagespec/core", "@imagespec/builder-docker"],
      files: {
        "images.ts":
          'import { Image } from "@imagespec/core";\nexport const app = Image.fromBase("debian:bookworm", { name: "app", registry: "127.0.0.1:9" }).withEnvVars({ A: "1" });\n',
      },
    });
    try {
      const trace = path.join(mkdtempSync(path.join(tmpdir(), "imagespec-trace-")), "imports.txt");
      const bin = path.join(packagesDir, "cli", "dist", "cli.js");
      const failed = await promisify(execFile)(
        process.execPath,
        ["--import", path.join(import.meta.dirname, "support", "trace-imports.mjs"), bin, "exists", "images.ts"],
        { cwd: docker.dir, env: { ...process.env, TRACE_IMPORTS_FILE: trace } },
      ).then(
        () => undefined,
        (error: { code: number; stdout: string }) => error,
      );
      expect(failed?.code).toBe(3);
      expect(failed?.stdout).toMatch(/^unknown 127\.0\.0\.1:9\/app:/);
      const loaded = readFileSync(trace, "utf8").trim().split("\n");
      // The plugin did load: its settings are checked, and they enter the tag.
      expect(loaded.some((url) => url.includes("/builder-docker/dist/plugin.js"))).toBe(true);
      // zod's own entry loads ~95 modules (every locale); core bundles the part it uses and the plugins share it.
      for (const heavy of ["/zod/", "/dockerode/", "/tar-stream/", "/@grpc/", "/execa/"])
        expect(
          loaded.filter((url) => url.includes(heavy)),
          heavy,
        ).toEqual([]);
    } finally {
      docker.remove();
    }
  });
});

describe("exit codes", () => {
  it("--help lists every error code of core under its exit code, as exit.ts maps them", async () => {
    const { EXIT_BY_ERROR_CODE } = await import("../src/exit.js");
    const { stdout } = await project.run(["--help"]);
    const section = stdout.slice(stdout.indexOf("Exit codes:"), stdout.indexOf("Environment:"));
    for (const [code, exit] of Object.entries(EXIT_BY_ERROR_CODE)) expect(section).toMatch(new RegExp(`^  ${exit} .*\\b${code}\\b`, "m"));
  });
});

describe("mistakes", () => {
  it("suggests the command a misspelling meant", async () => {
    const { code, stdout, stderr } = await project.run(["biuld", "images.ts"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain('unknown command "biuld"; did you mean build?');
  });

  it("suggests the flag an unknown flag meant, exit 2 from the process", async () => {
    const { code, stderr } = await project.run(["build", "images.ts", "--fsat"], { process: true });
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option --fsat for imagespec build; did you mean --fast?");
    expect(stderr).toContain('Run "imagespec build --help"');
  });

  it("says when a flag belongs to another command", async () => {
    const { code, stderr } = await project.run(["tag", "images.ts", "--against", "HEAD"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--against is not an option of imagespec tag");
  });

  it("asks for an option's missing value", async () => {
    const { code, stderr } = await project.run(["build", "images.ts", "--builder"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--builder needs a value: --builder <type>");
  });

  it("rejects a value given to a flag", async () => {
    const { code, stderr } = await project.run(["build", "images.ts", "--fast=yes"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--fast does not take a value");
  });

  it("rejects extra arguments", async () => {
    const { code, stderr } = await project.run(["builders", "extra"]);
    expect(code).toBe(2);
    expect(stderr).toContain('builders takes no arguments (got "extra")');
    // After a module, a word is an export name: one that is not there is named.
    project.write("one.ts", `import { Image } from "@imagespec/core";\nexport const app = Image.fromBase("python:3.12-slim");\n`);
    const named = await project.run(["explain", "one.ts", "app", "extra"]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('Cannot find image "extra" in one.ts: it exports app');
  });

  it("asks for a file when none is given", async () => {
    const { code, stderr } = await project.run(["tag"]);
    expect(code).toBe(2);
    expect(stderr).toContain("tag needs a module or a spec file");
  });

  it("with --json, a usage error is one JSON document on stdout", async () => {
    const { result, value } = await project.json(["tag", "--fsat"]);
    expect(result.code).toBe(2);
    expect(value).toEqual({ error: { code: "USAGE", message: "unknown option --fsat for imagespec tag; did you mean --fast?" } });
  });

  it("accepts global options before the command", async () => {
    const { code, stderr } = await project.run(["--debug", "tag", "--fsat"]);
    expect(code).toBe(2);
    expect(stderr).toContain("did you mean --fast?");
  });
});
