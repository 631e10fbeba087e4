/**
 * What the engine builds is what the tag was computed from, against the real engine: a file edited, deleted or
 * replaced after the tag was computed fails the build naming it (no image under that tag), a file added since does not
 * ship, and every mode Docker's COPY keeps arrives in the image exactly as `docker build` (BuildKit) puts it there.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Image } from "@imagespec/core";
import type { BuildContext, ImageIdentity } from "@imagespec/core/authoring";
import { buildkitDockerClient, docker, dockerSelection, imageFolder, type ImageEntry, testEnv } from "@imagespec/test-env";
import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { buildOnEngine, type EngineConnection } from "../src/engine.js";
import { project } from "./support/project.js";

const RUN = `${Date.now().toString(36)}${process.pid}`;

function connection(): EngineConnection {
  const socketPath = testEnv().dockerHost.replace(/^unix:\/\//, "");
  return { docker: new Docker({ socketPath }), endpoint: testEnv().dockerHost };
}

function buildContext(identity: ImageIdentity): BuildContext {
  return {
    uri: identity.uri,
    identity,
    push: false,
    baseUri: undefined,
    credentials: async () => undefined,
    config: {},
    signal: new AbortController().signal,
    report: () => {},
  };
}

const build = async (image: Image, identity: ImageIdentity) => buildOnEngine(connection(), image, buildContext(identity), { settings: {}, engine: "local" });

async function imageExists(uri: string): Promise<boolean> {
  return docker(["image", "inspect", uri]).then(
    () => true,
    () => false,
  );
}

describe("one read, one truth", () => {
  for (const [what, change, message] of [
    ["edited (same size)", (dir: string) => writeFileSync(path.join(dir, "src/app.py"), "print(2)\n"), /app\.py.*content changed/],
    ["deleted", (dir: string) => rmSync(path.join(dir, "src/app.py")), /app\.py.*deleted/],
    [
      "replaced by a folder",
      (dir: string) => (rmSync(path.join(dir, "src/app.py")), mkdirSync(path.join(dir, "src/app.py"))),
      /app\.py.*(no longer a regular file|cannot be read)/,
    ],
  ] as const) {
    it(`a file ${what} after the tag was computed fails the build, naming it, and leaves no image under the tag`, async () => {
      const dir = project({ "src/app.py": "print(1)\n", "src/other.py": "x = 1\n" });
      const image = Image.fromBase("scratch", { root: dir, name: `i11-hashed-context-${what.split(" ")[0]}-${RUN}` }).withSourceFolder("src", "/app");
      const identity = await image.identity();
      change(dir);
      await expect(build(image, identity)).rejects.toMatchObject({ code: "FILE_CHANGED", message: expect.stringMatching(message) });
      expect(await imageExists(identity.uri)).toBe(false);
    });
  }

  it("a file added after the tag was computed does not ship: the image is what the tag says", async () => {
    const dir = project({ "src/app.py": "print(1)\n" });
    const image = Image.fromBase("scratch", { root: dir, name: `i11-hashed-context-added-${RUN}` }).withSourceFolder("src", "/app");
    const identity = await image.identity();
    writeFileSync(path.join(dir, "src/late.py"), "late\n");
    const result = await build(image, identity);
    try {
      expect([...(await imageFolder(buildkitDockerClient(), result.uri, "/app")).keys()]).toEqual(["app.py"]);
    } finally {
      await docker(["rmi", result.uri]).catch(() => {});
    }
  });
});

describe("modes", () => {
  it("arrive in the image as docker build's COPY puts them there: permissions, setuid, setgid, sticky, folder modes", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "imagespec-modes-"));
    const files: Record<string, number> = {
      "key.pem": 0o600,
      "bin/tool": 0o4755,
      "bin/group-tool": 0o2711,
      "run.sh": 0o750,
      "plain.txt": 0o644,
      "secret/inner.txt": 0o640,
    };
    const dirs: Record<string, number> = { bin: 0o755, secret: 0o700, "tmp-like": 0o1777, "setgid-dir": 0o2775 };
    for (const d of Object.keys(dirs)) mkdirSync(path.join(dir, "ctx", d), { recursive: true });
    for (const [f, mode] of Object.entries(files)) {
      writeFileSync(path.join(dir, "ctx", f), f);
      chmodSync(path.join(dir, "ctx", f), mode);
    }
    for (const [d, mode] of Object.entries(dirs)) chmodSync(path.join(dir, "ctx", d), mode);

    const image = Image.fromBase("scratch", { root: dir, name: `i11-modes-${RUN}` }).withSourceFolder("ctx", "/ctx/");
    const result = await build(image, await image.identity());
    const client = buildkitDockerClient();
    try {
      const ours = await imageFolder(client, result.uri, "/ctx");
      const theirs = await dockerSelection(client, path.join(dir, "ctx"), `i11-modes-docker-${RUN}`);
      const show = (entries: Map<string, ImageEntry>) => Object.fromEntries([...entries].map(([name, e]) => [name, `${e.type} ${e.mode.toString(8)}`]));
      expect(show(ours)).toEqual(show(theirs as Map<string, ImageEntry>));
      expect(show(ours)).toMatchObject({ "key.pem": "file 600", "bin/tool": "file 4755", secret: "dir 700", "tmp-like": "dir 1777", "setgid-dir": "dir 2775" });
    } finally {
      await docker(["rmi", result.uri]).catch(() => {});
    }
  });
});
