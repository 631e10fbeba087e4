import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWheel, type PackageIndex, runImage, servePackageIndex, testEnv } from "../src/index.js";

let dir: string;
let wheels: string[];
let index: PackageIndex;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "imagespec-test-env-"));
  wheels = [
    await buildWheel(dir, {
      name: "imagespec-demo-dep",
      version: "1.0.0",
      modules: { "imagespec_demo_dep/__init__.py": "VALUE = 41\n" },
    }),
    await buildWheel(dir, {
      name: "Imagespec.Demo",
      version: "2.0.0",
      modules: {
        "imagespec_demo/__init__.py": "from imagespec_demo_dep import VALUE\nANSWER = VALUE + 1\n",
        "imagespec_demo/sub/mod.py": "NAME = 'sub'\n",
      },
      requires: ["imagespec-demo-dep==1.0.0"],
    }),
  ];
  index = await servePackageIndex(wheels);
});

afterAll(async () => {
  await index?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("buildWheel", () => {
  it("names wheels by the escaped distribution name", () => {
    expect(wheels.map((w) => path.basename(w))).toEqual(["imagespec_demo_dep-1.0.0-py3-none-any.whl", "imagespec_demo-2.0.0-py3-none-any.whl"]);
  });

  it("is deterministic", async () => {
    const again = await buildWheel(path.join(dir, "again"), {
      name: "imagespec-demo-dep",
      version: "1.0.0",
      modules: { "imagespec_demo_dep/__init__.py": "VALUE = 41\n" },
    });
    expect(await readFile(again)).toEqual(await readFile(wheels[0]!));
  });

  it("rejects paths that escape the wheel", async () => {
    await expect(buildWheel(dir, { name: "x", version: "1", modules: { "../evil.py": "" } })).rejects.toThrow(/must be relative/);
  });
});

describe("servePackageIndex", () => {
  it("lists normalized project names", async () => {
    const html = await (await fetch(`${index.url}/`)).text();
    expect(html).toContain('href="/simple/imagespec-demo/"');
    expect(html).toContain('href="/simple/imagespec-demo-dep/"');
  });

  it("links files with their sha256", async () => {
    const sha = createHash("sha256")
      .update(await readFile(wheels[1]!))
      .digest("hex");
    const html = await (await fetch(`${index.url}/imagespec-demo/`)).text();
    expect(html).toContain(`href="/files/imagespec_demo-2.0.0-py3-none-any.whl#sha256=${sha}"`);
    const file = await fetch(new URL(`/files/imagespec_demo-2.0.0-py3-none-any.whl`, index.url));
    expect(Buffer.from(await file.arrayBuffer())).toEqual(await readFile(wheels[1]!));
  });

  it("redirects non-normalized names and 404s unknown projects", async () => {
    const res = await fetch(`${index.url}/Imagespec_Demo/`, { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/simple/imagespec-demo/");
    expect((await fetch(`${index.url}/nope/`)).status).toBe(404);
  });
});

describe("pip in the seeded image", () => {
  it("installs from the index into a venv, resolving Requires-Dist", async () => {
    const script = [
      "set -e",
      "python3 -m venv /tmp/venv",
      `/tmp/venv/bin/pip install -q --no-cache-dir --disable-pip-version-check --index-url ${index.url} imagespec.demo`,
      "/tmp/venv/bin/python -c 'import imagespec_demo, imagespec_demo.sub.mod as m; print(imagespec_demo.ANSWER, m.NAME)'",
    ].join("\n");
    const out = await runImage(testEnv().baseImage, ["sh", "-c", script], { network: "host" });
    expect(out.trim().split("\n").at(-1)).toBe("42 sub");
    expect(index.requests).toContain("/simple/imagespec-demo-dep/");
    expect(index.requests).toContain("/files/imagespec_demo_dep-1.0.0-py3-none-any.whl");
  });

  it("installs into the system python like the official slim image", async () => {
    const script = [
      "set -e",
      `python3 -m pip install -q --no-cache-dir --disable-pip-version-check --root-user-action=ignore --index-url ${index.url} imagespec-demo`,
      "python3 -c 'import imagespec_demo; print(imagespec_demo.ANSWER)'",
    ].join("\n");
    const out = await runImage(testEnv().baseImage, ["sh", "-c", script], { network: "host" });
    expect(out.trim().split("\n").at(-1)).toBe("42");
  });
});
