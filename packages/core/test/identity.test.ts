import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FileHasher, Image, ImageSpec } from "../src/index.js";
import { defineLayer } from "../src/authoring.js";
import { shortHash } from "../src/canonical.js";
import { computeIdentity } from "../src/identity.js";
import { project, write } from "./support/project.js";

/** A tag computed from scratch (fresh Image and a memory-only hasher), as a new process would see it. */
async function freshTag(make: () => Image): Promise<string> {
  return (await computeIdentity(make(), new FileHasher({ cacheFile: false }))).tag;
}

const debian = (root?: string) => Image.fromBase("python:3.12-slim-bookworm", { pythonVersion: "3.12", ...(root && { root }) });

describe("the hash contract, v2", () => {
  it("is pinned: this definition has had this tag since v2 (change HASH_CONTRACT_VERSION to change it)", async () => {
    const dir = project({ "requirements.txt": "numpy==1.26.4\n", "src/app.py": "print('hi')\n", "src/pkg/__init__.py": "" });
    const make = () =>
      debian(dir)
        .withAptPackages("git", "curl")
        .withPipPackages("pandas<2,>=1.5")
        .withRequirements("requirements.txt")
        .withSourceFolder("src", "/app")
        .withEnvVars({ MODE: "prod" })
        .withCommands(["echo hi"]);
    const identity = await computeIdentity(make(), new FileHasher({ cacheFile: false }));
    expect(identity.id).toBe(make().id);
    expect({ id: identity.id, tag: identity.tag }).toMatchInlineSnapshot(`
      {
        "id": "b4huvplcl4xc26aq7fjedyd4ej",
        "tag": "ddmcxxblz5x5yaeyb4fimnzlbl",
      }
    `);
  });

  it("gives a short lowercase text that is a valid tag, in tagFormat", async () => {
    const tag = await freshTag(() => debian());
    expect(tag).toMatch(/^[a-z2-7]{26}$/);
    const formatted = await freshTag(() => Image.fromBase("python:3.12-slim-bookworm", { pythonVersion: "3.12", tagFormat: "py312-{spec_hash}" }));
    expect(formatted).toBe(`py312-${tag}`);
    expect(shortHash("0".repeat(64))).toBe("a".repeat(26));
  });

  it("id is the definition alone: file bytes, registry and name do not change it; the tag sees file bytes", async () => {
    const dir = project({ "requirements.txt": "numpy\n" });
    const make = () => debian(dir).withRequirements("requirements.txt");
    const before = make();
    const beforeTag = await freshTag(make);
    writeFileSync(path.join(dir, "requirements.txt"), "numpy==2.0\n");
    const after = make();
    expect(after.id).toBe(before.id);
    expect(await freshTag(make)).not.toBe(beforeTag);
    const elsewhere = make().clone({ registry: "ghcr.io/acme", name: "other" });
    expect(elsewhere.id).toBe(after.id);
    expect(await elsewhere.tag()).toBe(await freshTag(make));
    expect(await elsewhere.uri()).toBe(`ghcr.io/acme/other:${await freshTag(make)}`);
  });

  it("a checkout moved elsewhere gets the same tag (paths are relative to the root)", async () => {
    const dir = project({ "requirements.txt": "numpy\n", "src/a.py": "1", "src/b/c.py": "2" });
    const moved = mkdtempSync(path.join(tmpdir(), "imagespec-moved-"));
    cpSync(dir, moved, { recursive: true });
    const make = (root: string) => () => debian(root).withRequirements("requirements.txt").withSourceFolder("src", "/app");
    expect(await freshTag(make(moved))).toBe(await freshTag(make(dir)));
  });

  it("counts every mode bit Docker's COPY keeps (permissions, setuid, setgid, sticky, folder modes), not the mtime", async () => {
    const dir = project({ "run.sh": "echo hi\n", "src/key.pem": "k", "src/sub/x": "x" });
    const make = () => debian(dir).withSourceFile("run.sh", "/run.sh").withSourceFolder("src", "/src");
    const original = await freshTag(make);
    utimesSync(path.join(dir, "run.sh"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(await freshTag(make)).toBe(original);
    const seen = new Set([original]);
    for (const [file, mode] of [
      ["run.sh", 0o755],
      ["run.sh", 0o4755],
      ["src/key.pem", 0o600],
      ["src/key.pem", 0o640],
      ["src/sub", 0o700],
      ["src/sub", 0o1777],
      ["src/sub", 0o2755],
    ] as const) {
      chmodSync(path.join(dir, file), mode);
      const tag = await freshTag(make);
      expect(seen.has(tag), `${file} ${mode.toString(8)}`).toBe(false);
      seen.add(tag);
    }
  });

  it("counts a copy by destination, contents and modes, not by where it comes from (v2)", async () => {
    const dir = project({ "one/app.py": "print(1)\n", "two/app.py": "print(1)\n", "a/req.txt": "six\n", "b/req.txt": "six\n", "one.txt": "x", "two.txt": "x" });
    const folder = (src: string) => () => debian(dir).withSourceFolder(src, "/app");
    expect(await freshTag(folder("two"))).toBe(await freshTag(folder("one")));
    // A renamed source folder keeps the tag.
    cpSync(path.join(dir, "one"), path.join(dir, "renamed"), { recursive: true });
    expect(await freshTag(folder("renamed"))).toBe(await freshTag(folder("one")));
    const requirements = (file: string) => () => debian(dir).withRequirements(file);
    expect(await freshTag(requirements("b/req.txt"))).toBe(await freshTag(requirements("a/req.txt")));
    // A file copied to a file destination does not keep its name; copied into a folder it does, so its name counts.
    const file = (src: string, dst: string) => () => debian(dir).withSourceFile(src, dst);
    expect(await freshTag(file("two.txt", "/data.txt"))).toBe(await freshTag(file("one.txt", "/data.txt")));
    expect(await freshTag(file("two.txt", "/data/"))).not.toBe(await freshTag(file("one.txt", "/data/")));
  });

  it("counts a copied folder's directory names and its destination, not only its file bytes", async () => {
    const dir = project({ "src/a/x.py": "1" });
    const make =
      (dst = "/app") =>
      () =>
        debian(dir).withSourceFolder("src", dst);
    const original = await freshTag(make());
    expect(await freshTag(make("/other"))).not.toBe(original);
    mkdirSync(path.join(dir, "src/empty"));
    const withEmptyDir = await freshTag(make());
    expect(withEmptyDir).not.toBe(original);
    rmSync(path.join(dir, "src/empty"), { recursive: true });
    expect(await freshTag(make())).toBe(original);
    // Same bytes under another directory name.
    rmSync(path.join(dir, "src/a"), { recursive: true });
    write(dir, { "src/b/x.py": "1" });
    expect(await freshTag(make())).not.toBe(original);
  });

  it("does not count what an ignore file leaves out", async () => {
    const dir = project({ "src/app.py": "1", "src/.dockerignore": "*.log\nbuild\n", "src/.gitignore": "__pycache__/\n", "ignore-extra": "**/*.tmp\n" });
    const make = () => debian(dir).withDockerignore("ignore-extra").withSourceFolder("src", "/app");
    const original = await freshTag(make);
    write(dir, { "src/debug.log": "noise", "src/build/out.bin": "x", "src/__pycache__/app.pyc": "x", "src/y.tmp": "t" });
    expect(await freshTag(make)).toBe(original);
    // As with Docker, a folder that is not ignored is copied (and counts) even when all it holds is ignored.
    write(dir, { "src/deep/z.tmp": "t" });
    const withFolder = await freshTag(make);
    expect(withFolder).not.toBe(original);
    write(dir, { "src/deep/more.tmp": "t" });
    expect(await freshTag(make)).toBe(withFolder);
    write(dir, { "src/new.py": "2" });
    expect(await freshTag(make)).not.toBe(withFolder);
  });

  it("does not count what a layer's input excludes (FileInput.exclude), on top of the ignore files", async () => {
    const dir = project({ "pkg/index.js": "x\n", "pkg/node_modules/dep/index.js": "y\n", "pkg/deep/node_modules/z.js": "z\n" });
    const excluding = defineLayer({
      specificationVersion: "v1",
      kind: "testExcluding",
      schema: z.object({ src: z.string() }).strict(),
      inputs: (f: { src: string }) => [{ field: "src", path: f.src, type: "folder", exclude: ["node_modules", "**/node_modules"] }],
    });
    const make = () => debian(dir).withLayer(excluding, { src: "pkg" });
    const before = await freshTag(make);
    write(dir, { "pkg/node_modules/dep/index.js": "changed\n", "pkg/deep/node_modules/z.js": "changed\n", "pkg/node_modules/new.js": "new\n" });
    expect(await freshTag(make)).toBe(before);
    write(dir, { "pkg/index.js": "changed\n" });
    expect(await freshTag(make)).not.toBe(before);
  });

  it("never counts VCS metadata", async () => {
    const dir = project({ "src/app.py": "1" });
    const make = () => debian(dir).withSourceFolder("src");
    const original = await freshTag(make);
    write(dir, { "src/.git/HEAD": "ref: refs/heads/main\n" });
    expect(await freshTag(make)).toBe(original);
  });

  it("sorts lists whose order means nothing and keeps the order of those where it matters", async () => {
    const tag = (make: () => Image) => freshTag(make);
    expect(await tag(() => debian().withPipPackages("b", "a"))).toBe(await tag(() => debian().withPipPackages("a", "b")));
    expect(await tag(() => debian().withAptPackages("git", "curl"))).toBe(await tag(() => debian().withAptPackages("curl", "git")));
    expect(await tag(() => debian().withRuntimePackages("y", "x"))).toBe(await tag(() => debian().withRuntimePackages("x", "y")));
    expect(await tag(() => debian().withCommands(["a", "b"]))).not.toBe(await tag(() => debian().withCommands(["b", "a"])));
    expect(await tag(() => debian().withAptPackages("git").withPipPackages("x"))).not.toBe(
      await tag(() => debian().withPipPackages("x").withAptPackages("git")),
    );
    expect(await tag(() => debian().withCondaPackages(["x"], { channels: ["a", "b"] }))).not.toBe(
      await tag(() => debian().withCondaPackages(["x"], { channels: ["b", "a"] })),
    );
  });

  it("frames every value, so different definitions cannot run together", async () => {
    expect(debian().withPipPackages("ab", "c").id).not.toBe(debian().withPipPackages("a", "bc").id);
    expect(debian().withCommands(["a b"]).id).not.toBe(debian().withCommands(["a", "b"]).id);
    expect(debian().withEnvVars({ A: "1", B: "2" }).id).not.toBe(debian().withEnvVars({ A: "1" }).withEnvVars({ B: "2" }).id);
  });

  it("counts the platforms, the Python version and the base image's identity", async () => {
    const original = await freshTag(() => debian());
    expect(await freshTag(() => debian().withPlatform("linux/arm64"))).not.toBe(original);
    expect(await freshTag(() => debian().withPlatform("linux/arm64", "linux/amd64"))).toBe(
      await freshTag(() => debian().withPlatform("linux/amd64", "linux/arm64")),
    );
    expect(await freshTag(() => Image.fromBase("python:3.12-slim-bookworm", { pythonVersion: "3.11" }))).not.toBe(original);
    expect(await freshTag(() => Image.fromBase("python:3.13-slim-bookworm", { pythonVersion: "3.12" }))).not.toBe(original);
    // Two spellings of one reference are one base.
    expect(await freshTag(() => Image.fromBase("docker.io/library/python:3.12-slim-bookworm", { pythonVersion: "3.12" }))).toBe(original);
  });

  it("counts a base Image's identity recursively, including its files", async () => {
    const dir = project({ "base.txt": "1" });
    const make = () => Image.fromBase(debian(dir).withSourceFile("base.txt", "/base.txt"), { name: "child" }).withAptPackages("git");
    const original = await freshTag(make);
    const idBefore = make().id;
    writeFileSync(path.join(dir, "base.txt"), "2");
    expect(await freshTag(make)).not.toBe(original);
    expect(make().id).toBe(idBefore);
    const parentChange = Image.fromBase(debian(dir).withSourceFile("base.txt", "/elsewhere.txt"), { name: "child" }).withAptPackages("git");
    expect(parentChange.id).not.toBe(idBefore);
  });

  it("never counts secret values or where they come from, only how they appear in the build", async () => {
    const a = await freshTag(() => debian().withCommands("x", { secretMounts: [{ id: "tok", src: "/home/a/token" }] }));
    expect(await freshTag(() => debian().withCommands("x", { secretMounts: [{ id: "tok", env: "TOKEN" }] }))).toBe(a);
    expect(await freshTag(() => debian().withCommands("x", { secretMounts: [{ id: "tok", src: "/home/a/token", target: "/run/t" }] }))).not.toBe(a);
  });

  it("counts an SSH mount's id and socket path, never which agent or key files serve it", async () => {
    const plain = await freshTag(() => debian().withCommands("git clone ssh://git@example.com/x"));
    const agent = await freshTag(() => debian().withCommands("git clone ssh://git@example.com/x", { sshMounts: ["default"] }));
    expect(agent).not.toBe(plain);
    expect(await freshTag(() => debian().withCommands("git clone ssh://git@example.com/x", { sshMounts: [{ keys: ["/home/a/.ssh/id_ed25519"] }] }))).toBe(
      agent,
    );
    expect(await freshTag(() => debian().withCommands("git clone ssh://git@example.com/x", { sshMounts: [{ id: "default", keys: ["deploy_key"] }] }))).toBe(
      agent,
    );
    expect(await freshTag(() => debian().withCommands("git clone ssh://git@example.com/x", { sshMounts: ["deploy"] }))).not.toBe(agent);
    expect(await freshTag(() => debian().withCommands("git clone ssh://git@example.com/x", { sshMounts: [{ target: "/run/agent.sock" }] }))).not.toBe(agent);
    expect(await freshTag(() => debian().withPipPackages("x", { sshMounts: ["a", "b"] }))).toBe(
      await freshTag(() => debian().withPipPackages("x", { sshMounts: ["b", "a"] })),
    );
  });

  it("refuses an SSH mount it cannot render: a bad id, an unknown field, no key in `keys`", () => {
    expect(() => debian().withCommands("x", { sshMounts: ["bad id"] })).toThrow(/sshMounts\[0\]/);
    expect(() => debian().withCommands("x", { sshMounts: [{ id: "a", key: "k" } as never] })).toThrow(/key/);
    expect(() => debian().withCommands("x", { sshMounts: [{ keys: [] }] })).toThrow(/keys/);
  });

  it("counts builder options but not builder settings nor the builder's name", async () => {
    const plain = await freshTag(() => debian());
    expect(await freshTag(() => Image.fromBase("python:3.12-slim-bookworm", { pythonVersion: "3.12", builderOptions: { stage: 2 } }))).not.toBe(plain);
    expect(
      await freshTag(() => Image.fromBase("python:3.12-slim-bookworm", { pythonVersion: "3.12", builderConfig: { network: "host" }, builder: "envd" })),
    ).toBe(plain);
  });

  it("ImageSpec and its YAML-free twin agree; source roots count unless fast mode leaves them out", async () => {
    const dir = project({ "src/app.py": "1" });
    const spec = () => new ImageSpec({ root: dir, sourceRoot: "src", packages: ["numpy"] });
    const original = await freshTag(() => spec().toImage());
    write(dir, { "src/app.py": "2" });
    expect(await freshTag(() => spec().toImage())).not.toBe(original);
    const fastBefore = await freshTag(() => spec().toImage().forFastRegistration());
    write(dir, { "src/app.py": "3" });
    expect(await freshTag(() => spec().toImage().forFastRegistration())).toBe(fastBefore);
  });

  it("tracked mode counts only what git tracks, with its working-tree bytes", async () => {
    const dir = project({ "app.py": "1", "notes.txt": "untracked" });
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd: dir });
    git("init", "-q");
    git("add", "app.py");
    git("commit", "-qm", "init");
    const make = () => debian(dir).withCodeBundle({ copyStyle: "tracked", dst: "/src" });
    const identity = await computeIdentity(make(), new FileHasher({ cacheFile: false }));
    const bundle = identity.inputs.find((i) => i.name === "layers[0].codeBundle.src");
    expect(bundle?.files?.map((f) => f.path)).toEqual(["app.py"]);
    write(dir, { "notes.txt": "changed, still untracked" });
    expect(await freshTag(make)).toBe(identity.tag);
    write(dir, { "app.py": "2" });
    expect(await freshTag(make)).not.toBe(identity.tag);
  });

  it("tracked mode outside a git repository explains itself", async () => {
    const dir = project({ "app.py": "1" });
    await expect(freshTag(() => debian(dir).withCodeBundle({ copyStyle: "tracked" }))).rejects.toMatchObject({
      code: "FILE_NOT_FOUND",
      hint: expect.stringContaining("tracked"),
    });
  });

  it("lists every input with its own digest, for explain", async () => {
    const dir = project({ "requirements.txt": "numpy\n", "src/a.py": "1" });
    const identity = await debian(dir).withRequirements("requirements.txt").withSourceFolder("src", "/app").withCommands("echo").identity();
    expect(identity.inputs.map((i) => i.name)).toEqual([
      "base",
      "python",
      "platforms",
      "layers[0].requirements",
      "layers[0].requirements.file",
      "layers[1].copy",
      "layers[1].copy.src",
      "layers[2].commands",
    ]);
    for (const input of identity.inputs) expect(input.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(identity.inputs.find((i) => i.name === "layers[1].copy.src")?.files?.map((f) => f.path)).toEqual(["a.py"]);
    expect(identity.inputs[0]?.detail).toBe("docker.io/library/python:3.12-slim-bookworm");
  });

  it("a missing file names the layer field, and a fixed file is picked up on the next call", async () => {
    const dir = project();
    const image = debian(dir).withRequirements("requirements.txt");
    await expect(image.tag()).rejects.toMatchObject({ code: "FILE_NOT_FOUND", field: "layers[0].requirements.file", value: "requirements.txt" });
    write(dir, { "requirements.txt": "numpy\n" });
    expect(await image.tag()).toMatch(/^[a-z2-7]{26}$/);
  });

  it("is computed once per Image instance", async () => {
    const image = debian().withAptPackages("git");
    expect(image.identity()).toBe(image.identity());
  });

  it("a Dockerfile image counts the Dockerfile and its context", async () => {
    const dir = project({ Dockerfile: "FROM scratch\nCOPY a /a\n", a: "1" });
    const make = () => Image.fromDockerfile("Dockerfile", { root: dir });
    const original = await freshTag(make);
    write(dir, { a: "2" });
    expect(await freshTag(make)).not.toBe(original);
  });
});
