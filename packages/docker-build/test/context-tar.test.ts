/** The build context holds exactly the files the layers reference, with the tag's own ignore rules applied. */
import { execFileSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import type { Readable } from "node:stream";
import { Image } from "@imagespec/core";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { contextTar } from "../src/context-tar.js";
import { renderDockerBuild } from "../src/index.js";
import { project, write } from "./support/project.js";

async function entries(stream: Readable): Promise<Map<string, { type: string; mode: number; body: string; linkname?: string | null }>> {
  const extract = tar.extract();
  const out = new Map<string, { type: string; mode: number; body: string; linkname?: string | null }>();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.set(entry.header.name, {
        type: entry.header.type ?? "file",
        mode: entry.header.mode ?? 0,
        body: Buffer.concat(chunks).toString("utf8"),
        linkname: entry.header.linkname,
      });
    }
  })();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

describe("the context tar", () => {
  it("holds the Dockerfile and exactly the referenced files, ignore rules applied as for the tag", async () => {
    const root = project({
      "app/main.py": "print(1)\n",
      "app/run.sh*": "#!/bin/sh\n",
      "app/debug.log": "ignored by withDockerignore\n",
      "app/cache/tmp.bin": "ignored by the folder's own .dockerignore\n",
      "app/.dockerignore": "cache/\n",
      "app/build/out.txt": "ignored by .gitignore\n",
      "app/.gitignore": "build/\n",
      "app/empty/.keep": "",
      "app/with space/a b.txt": "spaces\n",
      "requirements.txt": "six\n",
      "unreferenced.txt": "never sent\n",
      ".ignore": "*.log\n",
    });
    symlinkSync("main.py", `${root}/app/link.py`);
    const image = Image.fromDebianBase({ root }).withDockerignore(".ignore").withRequirements("requirements.txt").withSourceFolder("app", "/app");
    const plan = await renderDockerBuild(image);
    const tarball = contextTar(plan.context, { image, identity: await image.identity() });
    const files = await entries(tarball.stream);
    await tarball.done;
    expect([...files.keys()].sort()).toEqual(
      [
        "Dockerfile",
        "layers/",
        "layers/1/",
        "layers/1/requirements.txt",
        "layers/2/",
        "layers/2/.dockerignore",
        "layers/2/.gitignore",
        "layers/2/empty/",
        "layers/2/empty/.keep",
        "layers/2/link.py",
        "layers/2/main.py",
        "layers/2/run.sh",
        "layers/2/with space/",
        "layers/2/with space/a b.txt",
      ].sort(),
    );
    expect(files.get("Dockerfile")?.body).toBe(plan.dockerfile);
    expect(files.get("layers/2/run.sh")?.mode).toBe(0o755);
    expect(files.get("layers/2/main.py")?.mode).toBe(0o644);
    expect(files.get("layers/2/link.py")).toMatchObject({ type: "symlink", linkname: "main.py" });
    expect(files.get("layers/2/empty/")).toMatchObject({ type: "directory", mode: 0o755 });
    expect(files.get("layers/1/requirements.txt")?.body).toBe("six\n");
  });

  it("sends only the files git tracks for a tracked code bundle", async () => {
    const root = project({ "src/tracked.py": "x = 1\n", "src/untracked.py": "y = 2\n" });
    execFileSync("git", ["init", "-q"], { cwd: root });
    execFileSync("git", ["add", "src/tracked.py"], { cwd: root });
    const image = Image.fromDebianBase({ root }).withCodeBundle({ src: "src", dst: "/code", copyStyle: "tracked" });
    const tarball = contextTar((await renderDockerBuild(image)).context, { image, identity: await image.identity() });
    const names = [...(await entries(tarball.stream)).keys()];
    expect(names.filter((n) => n.startsWith("layers/0/"))).toEqual(["layers/0/", "layers/0/tracked.py"]);
  });

  it("clamps file times to SOURCE_DATE_EPOCH", async () => {
    const root = project({ "a.txt": "a\n" });
    const image = Image.fromDebianBase({ root }).withSourceFile("a.txt", "/a.txt");
    const plan = await renderDockerBuild(image);
    const extract = tar.extract();
    const tarball = contextTar(plan.context, { image, identity: await image.identity(), env: { SOURCE_DATE_EPOCH: "1700000000" } });
    tarball.stream.pipe(extract as unknown as NodeJS.WritableStream);
    const times: number[] = [];
    for await (const entry of extract) {
      times.push(entry.header.mtime?.getTime() ?? -1);
      entry.resume();
    }
    expect(times.length).toBeGreaterThan(0);
    for (const time of times) expect(time).toBeLessThanOrEqual(1_700_000_000_000);
  });

  it("fails with the file named when a referenced file disappears after the tag was computed", async () => {
    const root = project({ "gone.txt": "x\n" });
    const image = Image.fromDebianBase({ root }).withSourceFile("gone.txt", "/gone.txt");
    const identity = await image.identity();
    const plan = await renderDockerBuild(image);
    const { rmSync } = await import("node:fs");
    rmSync(`${root}/gone.txt`);
    const tarball = contextTar(plan.context, { image, identity });
    tarball.stream.resume();
    await expect(tarball.done).rejects.toMatchObject({ code: "FILE_CHANGED", message: expect.stringContaining("gone.txt") });
  });

  it("sends only what the identity lists: a file added since is not sent, and a file no layer declares is refused", async () => {
    const root = project({ "src/a.py": "a\n" });
    const image = Image.fromDebianBase({ root }).withSourceFolder("src", "/app");
    const identity = await image.identity();
    write(root, { "src/late.py": "late\n" });
    const plan = await renderDockerBuild(image);
    const names = [...(await entries(contextTar(plan.context, { image, identity }).stream)).keys()];
    expect(names.filter((n) => n.startsWith("layers/0/"))).toEqual(["layers/0/", "layers/0/a.py"]);
    const undeclared = contextTar([{ type: "file", path: "x", source: `${root}/src/late.py` }], { image, identity });
    undeclared.stream.resume();
    await expect(undeclared.done).rejects.toMatchObject({ code: "PLUGIN_ERROR", message: expect.stringMatching(/no layer declares it/) });
  });
});
