/** `imagespec explain`: every input with its digest, and `--against` a git revision or another file. */

import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject } from "./support/project.js";

const IMAGES = `
import { Image } from "@imagespec/core";
export const app = Image.fromBase("python:3.12-slim", { name: "app", pythonVersion: "3.12" })
  .withPipPackages("requests")
  .withSourceFolder("src", "/app")
  .withEnvVars({ MODE: "prod" });
`;

interface Explained {
  name: string;
  id: string;
  tag: string;
  uri: string;
  inputs: { name: string; digest: string; detail?: string; files?: { path: string; digest?: string }[] }[];
  against?: { ref: string; commit?: string; tag: string; uri: string };
  changes?: {
    input: string;
    change: string;
    before: string | null;
    after: string | null;
    files?: { path: string; change: string; what?: string[]; before: string | null; after: string | null }[];
    changes?: { input: string; change: string }[];
  }[];
}

const project = createProject({
  files: {
    "images.ts": IMAGES,
    "src/main.py": "print('hello')\n",
    "src/util.py": "def helper():\n    return 1\n",
    "src/pkg/__init__.py": "",
    ".gitignore": "node_modules/\n",
    "spec.yaml": "name: app\nbase_image: python:3.12-slim\npackages: [requests]\n",
    "spec-old.yaml": "name: app\nbase_image: python:3.12-slim\npackages: [requests, numpy]\n",
    "deploy/images.ts": `import { Image } from "@imagespec/core";\nexport const svc = Image.fromBase("python:3.12-slim", { name: "svc" }).withSourceFolder("app");\n`,
    "deploy/app/run.py": "print('svc')\n",
  },
});
const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.email=test@example.com", "-c", "user.name=test", ...args], { cwd: project.dir, encoding: "utf8" });

beforeAll(() => {
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-q", "-m", "first");
});
afterAll(() => project.remove());

describe("explain", () => {
  it("lists every input of the tag with its own digest, files included", async () => {
    const { code, stdout, stderr } = await project.run(["explain", "images.ts", "app"]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^app {2}app:[a-z2-7]{26}$/m);
    for (const input of [
      "base",
      "python",
      "platforms",
      "layers\\[0\\]\\.pipPackages",
      "layers\\[1\\]\\.copy",
      "layers\\[1\\]\\.copy\\.src",
      "layers\\[2\\]\\.env",
    ]) {
      expect(stdout).toMatch(new RegExp(`^ {2}${input} +[0-9a-f]{12} {2}`, "m"));
    }
    expect(stdout).toMatch(/^ +[0-9a-f]{12} {4}main\.py$/m);
    expect(stdout).toMatch(/^ +[0-9a-f]{12} {4}pkg\/__init__\.py$/m);
  });

  it("--json gives the identity with every input", async () => {
    const { result, value } = await project.json<Explained>(["explain", "images.ts"]);
    expect(result.code).toBe(0);
    const tag = (await project.run(["tag", "images.ts", "app"])).stdout.trim();
    expect(value.uri).toBe(tag);
    const src = value.inputs.find((i) => i.name === "layers[1].copy.src")!;
    expect(src.detail).toBe("src");
    expect(src.files!.map((f) => f.path).sort()).toEqual(["main.py", "pkg", "pkg/__init__.py", "util.py"]);
    for (const input of value.inputs) expect(input.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("--against a git revision names exactly the input and the file that changed", async () => {
    const same = await project.run(["explain", "images.ts", "app", "--against", "HEAD"]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^app: same tag as HEAD \([0-9a-f]{12}\)/);

    writeFileSync(path.join(project.dir, "src", "util.py"), "def helper():\n    return 2\n");
    try {
      const { result, value } = await project.json<Explained>(["explain", "images.ts", "app", "--against", "main"]);
      expect(result.code, result.stderr).toBe(0);
      expect(value.against).toMatchObject({ ref: "main", commit: git("rev-parse", "HEAD").trim() });
      expect(value.against!.tag).not.toBe(value.tag);
      expect(value.changes).toEqual([
        {
          input: "layers[1].copy.src",
          change: "changed",
          before: expect.stringMatching(/^[0-9a-f]{64}$/),
          after: expect.stringMatching(/^[0-9a-f]{64}$/),
          detailBefore: "src",
          detailAfter: "src",
          files: [{ path: "util.py", change: "changed", what: ["content"], before: expect.any(String), after: expect.any(String) }],
        },
      ]);

      const text = await project.run(["explain", "images.ts", "app", "--against", "main"]);
      expect(text.stdout).toContain("1 input changed:");
      expect(text.stdout).toMatch(/^ {2}~ layers\[1\]\.copy\.src {2}changed/m);
      expect(text.stdout).toMatch(/^ {6}~ util\.py {2}changed {2}[0-9a-f]{12} -> [0-9a-f]{12}$/m);
    } finally {
      git("checkout", "-q", "--", "src/util.py");
    }
    // The comparison left the repository as it was: no extra worktree, nothing staged.
    expect(git("worktree", "list").trim().split("\n")).toHaveLength(1);
    expect(git("status", "--porcelain")).toBe("");
  });

  it("--against lists added and removed files and changed fields", async () => {
    writeFileSync(path.join(project.dir, "src", "new.py"), "x = 1\n");
    rmSync(path.join(project.dir, "src", "main.py"));
    writeFileSync(path.join(project.dir, "images.ts"), IMAGES.replace('"requests"', '"requests", "rich"'));
    try {
      const { result, value } = await project.json<Explained>(["explain", "images.ts", "app", "--against", "HEAD"]);
      expect(result.code, result.stderr).toBe(0);
      expect(value.changes!.map((c) => c.input)).toEqual(["layers[0].pipPackages", "layers[1].copy.src"]);
      expect(value.changes![1]!.files!.map((f) => [f.path, f.change])).toEqual([
        ["main.py", "removed"],
        ["new.py", "added"],
      ]);
    } finally {
      rmSync(path.join(project.dir, "src", "new.py"));
      git("checkout", "-q", "--", "src/main.py", "images.ts");
    }
  });

  it("--against works from a subfolder whose images are rooted in the current folder", async () => {
    const cwd = path.join(project.dir, "deploy");
    writeFileSync(path.join(cwd, "app", "run.py"), "print('svc v2')\n");
    try {
      const { result, value } = await project.json<Explained>(["explain", "images.ts", "--against", "HEAD"], { cwd });
      expect(result.code, result.stderr).toBe(0);
      expect(value.changes!.map((c) => [c.input, c.files?.map((f) => f.path)])).toEqual([["layers[0].copy.src", ["run.py"]]]);
    } finally {
      git("checkout", "-q", "--", "deploy/app/run.py");
    }
  });

  it("--against another spec file or module", async () => {
    const { result, value } = await project.json<Explained>(["explain", "--image", "spec.yaml", "--against", "spec-old.yaml"]);
    expect(result.code, result.stderr).toBe(0);
    expect(value.changes!.map((c) => [c.input, c.change])).toEqual([["layers[0].pipPackages", "changed"]]);

    project.write("images-v2.ts", IMAGES.replace('MODE: "prod"', 'MODE: "dev"'));
    const modules = await project.json<Explained>(["explain", "images.ts", "app", "--against", "images-v2.ts"]);
    expect(modules.value.changes!.map((c) => c.input)).toEqual(["layers[2].env"]);
  });

  it("--against follows a changed base Image down to the input that changed, for several images at once", async () => {
    const layered = (packages: string) =>
      `import { Image } from "@imagespec/core";\n` +
      `export const base = Image.fromBase("python:3.12-slim", { name: "base" }).withPipPackages(${packages});\n` +
      `export const api = Image.fromBase(base, { name: "api" }).withEnvVars({ ROLE: "api" });\n`;
    project.write("layered.ts", layered(`"numpy"`));
    git("add", "layered.ts");
    git("commit", "-q", "-m", "layered");
    project.write("layered.ts", layered(`"numpy", "pandas"`));
    const text = await project.run(["explain", "layered.ts", "api", "--against", "HEAD"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/~ base {2}changed .*\n {6}because in the base:\n {6}~ layers\[0\]\.pipPackages {2}changed /);

    const { result, value } = await project.json<Explained[]>(["explain", "layered.ts", "--against", "HEAD"]);
    expect(result.code, result.stderr).toBe(0);
    const byName = Object.fromEntries(value.map((v) => [v.name, v]));
    expect(byName.base!.changes!.map((c) => c.input)).toEqual(["layers[0].pipPackages"]);
    const [baseChange] = byName.api!.changes!;
    expect(baseChange).toMatchObject({ input: "base", change: "changed", changes: [{ input: "layers[0].pipPackages", change: "changed" }] });
    git("checkout", "-q", "--", "layered.ts");
  });

  it("a revision that does not exist is exit 2", async () => {
    const { code, stderr } = await project.run(["explain", "images.ts", "app", "--against", "no-such-branch"]);
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot compare against "no-such-branch": it is neither a file nor a revision of the git repository');
  });

  it("a module that did not exist at the revision is exit 2", async () => {
    project.write("later.ts", IMAGES);
    const { code, stderr } = await project.run(["explain", "later.ts", "app", "--against", "HEAD"]);
    expect(code).toBe(2);
    expect(stderr).toContain("later.ts does not exist at that revision");
    expect(git("worktree", "list").trim().split("\n")).toHaveLength(1);
  });
});
