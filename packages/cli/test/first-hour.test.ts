/**
 * The first hour of a new user (issue 18): the mistakes people make in their first modules and YAML files, and what
 * the CLI says about each. No silent skips, a push that cannot work fails before anything is built, errors point at
 * file:line:column and the export, several files make one run.
 */

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildReport } from "../src/commands/build.js";
import { shortStepName } from "../src/progress.js";
import { FAKE_BUILDER_PACKAGE, fakeBuilderFiles } from "./support/fake-builder.js";
import { createProject } from "./support/project.js";

const IMAGES = `
import { Image, loadImageSpecFile } from "@imagespec/core";

export const app = Image.fromBase("python:3.12-slim", { name: "app" }).withEnvVars({ APP: "1" });
// No await: a Promise of an ImageSpec, as people write it.
export const batch = loadImageSpecFile("specs/batch.yaml");
export const helper = (name: string) => name.toUpperCase();
export const settings = { retries: 3 };
`;

const project = createProject({
  localPackages: { [FAKE_BUILDER_PACKAGE]: fakeBuilderFiles },
  files: {
    "images.ts": IMAGES,
    "specs/batch.yaml": "name: batch\nbase_image: python:3.12-slim\npackages: [requests]\n",
    "specs/worker.yaml": 'name: worker\nbase_image: python:3.12-slim\ncommands: ["true"]\n',
    "specs/broken.yaml": 'name: broken\npackages: [requests, numpy\npython_version: "3.12"\n',
    "specs/child.yaml": "name: child\nbase_image: base.yaml\n",
    "number.ts": `import { Image } from "@imagespec/core";\nexport const n = Promise.resolve(42);\nexport const ok = Image.fromBase("python:3.12-slim", { name: "ok" });\n`,
    "plain.ts": `export const app = {\n  name: "app",\n  packages: ["requests"],\n};\n`,
    "typo.ts": [
      `import { Image, ImageSpec } from "@imagespec/core";`,
      ``,
      `export const fine = Image.fromBase("python:3.12-slim", { name: "fine" });`,
      ``,
      `export const worker = new ImageSpec({`,
      `  name: "worker",`,
      `  // @ts-expect-error: the misspelling under test`,
      `  pythonVerison: "3.12",`,
      `});`,
      ``,
    ].join("\n"),
    "cycle/base.ts": `import { Image } from "@imagespec/core";\nimport { app } from "./app.js";\nexport const base = Image.fromBase("python:3.12-slim", { name: "base" });\nexport const again = app;\n`,
    "cycle/app.ts": `import { Image } from "@imagespec/core";\nimport { base } from "./base.js";\nexport const app = Image.fromBase(base, { name: "app" });\n`,
    "quote.ts": `import { ImageSpec } from "@imagespec/core";\n// @ts-expect-error: a number where a string is expected\nexport const app = new ImageSpec({ name: "app", pythonVersion: 3.11, registry: "ghcr.io/Acme" });\n`,
    "upper.ts": `import { Image } from "@imagespec/core";\nexport const app = Image.fromDebianBase({ name: "app", registry: "ghcr.io/Acme" });\n`,
    "upper-spec.ts": `import { ImageSpec } from "@imagespec/core";\nexport const app = new ImageSpec({ name: "app", registry: "ghcr.io/Acme" });\n`,
  },
});
afterAll(() => project.remove());

const freshState = () => mkdtempSync(path.join(tmpdir(), "imagespec-fake-engine-"));
const noCredentials = () => mkdtempSync(path.join(tmpdir(), "imagespec-docker-config-"));

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("1. no silent skips: a Promise export is awaited, a non-image definition is an error naming the export", () => {
  it("tag and build use a Promise of an ImageSpec (loadImageSpecFile without await) like any image", async () => {
    const tag = await project.run(["tag", "images.ts"]);
    expect(tag.code, tag.stderr).toBe(0);
    expect(tag.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^app:[a-z2-7]{26}$/), expect.stringMatching(/^batch:[a-z2-7]{26}$/)]);

    const { result, value } = await project.json<BuildReport[]>(["build", "images.ts"], { env: { FAKE_STATE_DIR: freshState() } });
    expect(result.code, result.stderr).toBe(0);
    expect(value.map((r) => [r.name, r.file, r.status])).toEqual([
      ["app", "images.ts", "built"],
      ["batch", "images.ts", "built"],
    ]);
  });

  it("a Promise that resolves to something else is exit 2 naming the export, with or without naming it", async () => {
    for (const args of [["number.ts"], ["number.ts", "n"]]) {
      const { code, stderr } = await project.run(["tag", ...args]);
      expect(code, stderr).toBe(2);
      expect(stderr).toContain('Cannot use export "n" of number.ts: it is a Promise that resolved to a number, not an Image or ImageSpec');
    }
    // Naming only the good export builds it.
    expect((await project.run(["tag", "number.ts", "ok"])).code).toBe(0);
  });

  it("a plain object of ImageSpec fields (no new ImageSpec) is exit 2 naming the export and how to fix it", async () => {
    const { code, stderr } = await project.run(["build", "plain.ts"], { env: { FAKE_STATE_DIR: freshState() } });
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot use export "app" of plain.ts: it is a plain object of ImageSpec fields (name, packages), not an ImageSpec');
    expect(stderr).toContain("hint: Wrap it: export const app = new ImageSpec({ ... })");
  });

  it("functions and option objects are the module's own business; naming one says what it is", async () => {
    const { code, stderr } = await project.run(["tag", "images.ts", "settings"]);
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot use export "settings" of images.ts: it is an object, not an Image or ImageSpec');
  });
});

describe("2. a push that cannot work fails before anything is built, exit 3, naming the registry", () => {
  it("an unreachable registry (a typo in the port)", async () => {
    const port = await closedPort();
    const state = freshState();
    const { code, stderr } = await project.run(["build", "images.ts", "app"], { env: { FAKE_STATE_DIR: state, IMAGESPEC_REGISTRY: `127.0.0.1:${port}/team` } });
    expect(code, stderr).toBe(3);
    expect(stderr).toContain(`error: Cannot push to 127.0.0.1:${port}/team/app: cannot connect to 127.0.0.1:${port}: connection refused; nothing was built`);
    expect(stderr).toContain("--no-push");
    expect(existsSync(state) ? readdirSync(state) : []).toEqual([]);
  });

  it("no credentials for a registry that needs them (basic and token auth)", async () => {
    for (const registry of [process.env.IMAGESPEC_TEST_AUTH_REGISTRY!, process.env.IMAGESPEC_TEST_TOKEN_REGISTRY!]) {
      const state = freshState();
      const { code, stderr } = await project.run(["build", "images.ts", "app"], {
        env: { FAKE_STATE_DIR: state, IMAGESPEC_REGISTRY: registry, DOCKER_CONFIG: noCredentials() },
      });
      expect(code, stderr).toBe(3);
      expect(stderr).toContain(`Cannot push to ${registry}/app: ${registry} requires credentials and none were found`);
      expect(stderr).toContain(`docker login ${registry}`);
      expect(readdirSync(state)).toEqual([]);
    }
  });

  it("--no-push builds anyway, with the warning that existence is unknown", async () => {
    const port = await closedPort();
    const { code, stderr } = await project.run(["build", "images.ts", "app", "--no-push"], {
      env: { FAKE_STATE_DIR: freshState(), IMAGESPEC_REGISTRY: `127.0.0.1:${port}` },
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("building it anyway");
  });
});

describe("3. errors say where: file:line:column, the export, the line", () => {
  it("a definition error names the file, the line of the field, the export, and shows the line", async () => {
    const { code, stderr } = await project.run(["tag", "typo.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'error: typo.ts:8:3 (export worker): Cannot create ImageSpec: pythonVerison = "3.12": is not a known field; did you mean pythonVersion?',
    );
    expect(stderr).toContain('8 |   pythonVerison: "3.12",\n  |   ^');
  });

  it("a YAML syntax error keeps its position and the lines it points at", async () => {
    const { code, stderr } = await project.run(["tag", "specs/broken.yaml"]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      "error: Cannot load image spec specs/broken.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    );
    expect(stderr).toContain('packages: [requests, numpy\npython_version: "3.12"\n^');
  });
});

describe("4. import cycles and YAML bases that are files", () => {
  it("two modules importing each other: the base is undefined, and the hint says why", async () => {
    const { code, stderr } = await project.run(["tag", "cycle/base.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain("cycle/app.ts:3:");
    expect(stderr).toContain("(export app): Cannot create an image from base undefined: the base is not defined yet when this line runs");
    expect(stderr).toContain("import cycle");
  });

  it("base_image: base.yaml is not taken for docker.io/library/base.yaml", async () => {
    const { code, stderr } = await project.run(["tag", "specs/child.yaml"]);
    expect(code).toBe(2);
    expect(stderr).toContain('base_image = "base.yaml": names a YAML file, not an image; nest the base spec\'s fields as a mapping under base_image');
  });
});

describe("5. several files in one call, one JSON document", () => {
  it("build: a module and YAML specs, as arguments and with --image", async () => {
    const state = freshState();
    const { result, value } = await project.json<BuildReport[]>(["build", "images.ts", "app", "specs/batch.yaml", "--image", "specs/worker.yaml"], {
      env: { FAKE_STATE_DIR: state },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(value.map((r) => [r.name, r.file, r.status])).toEqual([
      ["app", "images.ts", "built"],
      ["batch", "specs/batch.yaml", "built"],
      ["worker", "specs/worker.yaml", "built"],
    ]);
  });

  it("tag and exists take several files too; exists answers for each and exits with the worst", async () => {
    const tag = await project.run(["tag", "specs/batch.yaml", "images.ts", "app"]);
    expect(tag.code, tag.stderr).toBe(0);
    expect(
      tag.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(":")[0]),
    ).toEqual(["batch", "app"]);

    const registry = `${process.env.IMAGESPEC_TEST_REGISTRY}/i18-exists-${Date.now().toString(36)}`;
    const { result, value } = await project.json<{ name: string; file: string; status: string }[]>(["exists", "images.ts", "app", "specs/batch.yaml"], {
      env: { IMAGESPEC_REGISTRY: registry },
    });
    expect(result.code).toBe(1);
    expect(value.map((r) => [r.name, r.file, r.status])).toEqual([
      ["app", "images.ts", "absent"],
      ["batch", "specs/batch.yaml", "absent"],
    ]);
  });

  it("a word after a YAML spec is not an export name", async () => {
    const { code, stderr } = await project.run(["tag", "specs/batch.yaml", "app"]);
    expect(code).toBe(2);
    expect(stderr).toContain('a YAML spec holds one image; "app" after specs/batch.yaml is not a file');
  });
});

describe("8. progress that reads well in CI logs", () => {
  it("says when an image was pushed", async () => {
    const { code, stderr } = await project.run(["build", "images.ts", "app"], {
      env: { FAKE_STATE_DIR: freshState(), IMAGESPEC_REGISTRY: `${process.env.IMAGESPEC_TEST_REGISTRY}/i18-progress-${Date.now().toString(36)}` },
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/^app: built and pushed 127\.0\.0\.1:5000\/.*\(fake\) \d+\.\ds$/m);
  });

  it("shows RUN steps without their mounts, exec-form wrappers and imagespec's own set-up scripts", () => {
    const venv =
      '[stage-0 3/6] RUN ["/bin/sh","-c","if [ ! -x /opt/venv/bin/python ]; then command -v python3 >/dev/null 2>&1 || { echo \'imagespec: cannot create the Python environment\' >&2; exit 1; }; python3 -m venv --system-site-packages /opt/venv; fi"]';
    expect(shortStepName(venv)).toBe("[stage-0 3/6] RUN (create the Python environment /opt/venv)");
    const pip =
      '[stage-0 4/6] RUN --mount=type=cache,id=imagespec-pip,target=/var/cache/imagespec/pip,sharing=private,mode=0777 ["/bin/sh","-c","/opt/venv/bin/python -m pip install --disable-pip-version-check --no-input --cache-dir /var/cache/imagespec/pip requests"]';
    expect(shortStepName(pip)).toBe("[stage-0 4/6] RUN /opt/venv/bin/python -m pip install --disable-pip-version-check --no-input --cach…");
    expect(shortStepName(pip)).toHaveLength(100);
    expect(shortStepName("[stage-0 5/6] COPY [layers/1/main.py,/app/main.py]")).toBe("[stage-0 5/6] COPY [layers/1/main.py,/app/main.py]");
  });

  it("Ctrl-C is reported as cancelled, not as failed images, with exit 130", async () => {
    const bin = path.join(project.dir, "node_modules", ".bin", "imagespec");
    const child = spawn(bin, ["build", "images.ts", "app"], {
      cwd: project.dir,
      env: { ...process.env, CI: "1", FAKE_STEP_MS: "10000", FAKE_STATE_DIR: freshState() },
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (/app: building/.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("cancelled: 1 of 1 image(s) not built: app");
    expect(stderr).not.toContain("failed:");
  });
});

describe("9. hints for the mistakes people make", () => {
  it("a number where a string is expected says to quote it; an upper-case registry path says upper case is the problem", async () => {
    const { code, stderr } = await project.run(["tag", "quote.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain('pythonVersion = 3.11: expected a string; quote it: "3.11"');
    const fluent = await project.run(["tag", "upper.ts"]);
    expect(fluent.code).toBe(2);
    expect(fluent.stderr).toContain('registry = "ghcr.io/Acme": the path of a registry is lowercase (it is part of every image name); write "ghcr.io/acme"');
    // An ImageSpec lower-cases it, as flytekit does, and says so.
    const spec = await project.run(["tag", "upper-spec.ts"]);
    expect(spec.code, spec.stderr).toBe(0);
    expect(spec.stdout).toMatch(/^ghcr\.io\/acme\/app:/);
    expect(spec.stderr).toContain('warning: app: registry "ghcr.io/Acme" is used as "ghcr.io/acme"');
  });
});

describe("10. plugins imported by the config file", () => {
  it("a plugin package that is not installed: the import, the file, and how to install it", async () => {
    project.write(
      "missing-plugin/imagespec.config.ts",
      `import { defineConfig } from "@imagespec/core";\nimport envd from "@imagespec/builder-envd/plugin";\nexport default defineConfig({ plugins: [envd] });\n`,
    );
    // NODE_PATH unset: pnpm sets it for the test runner, and a user's shell has none. A process of its own: module
    // resolution is fixed when a process starts, so the test runner's would find the workspace's packages.
    const { code, stderr } = await project.run(["builders"], { cwd: path.join(project.dir, "missing-plugin"), env: { NODE_PATH: undefined }, process: true });
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot import "@imagespec/builder-envd/plugin" in imagespec.config.ts: the package @imagespec/builder-envd is not installed');
    expect(stderr).toContain("hint: Install it: npm install --save-dev @imagespec/builder-envd (or pnpm add -D @imagespec/builder-envd).");
  });

  it("`imagespec builders` shows the version of a plugin the config imports", async () => {
    project.write(
      "with-config/imagespec.config.ts",
      `import { defineConfig } from "@imagespec/core";\nimport noop from "@imagespec/builder-noop/plugin";\nexport default defineConfig({ plugins: [noop], discovery: false });\n`,
    );
    const { result, value } = await project.json<{ builders: { type: string; package: string; version: string | null; via: string }[] }>(["builders"], {
      cwd: path.join(project.dir, "with-config"),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(value.builders).toEqual([expect.objectContaining({ type: "noop", package: "@imagespec/builder-noop", version: "0.1.0", via: "config" })]);
  });
});
