/**
 * .dockerignore against `docker build` itself: every case of dockerignore-cases.ts is a context built with Docker
 * (FROM scratch, COPY . /ctx/) and listed with imagespec; both must select the same files with the same modes, or both
 * refuse the ignore file (imagespec naming the file and the line).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileHasher, Image, isImageSpecError } from "../src/index.js";
import { DOCKERIGNORE_CASES, type DockerignoreCase } from "./dockerignore-cases.js";
import { buildkitDockerClient, type DockerClient, dockerSelection, type ImageEntry, inParallel, modernDockerClient } from "@imagespec/test-env";

function context(c: DockerignoreCase): string {
  const dir = mkdtempSync(path.join(tmpdir(), `imagespec-dockerignore-${c.name}-`));
  writeFileSync(path.join(dir, ".dockerignore"), c.dockerignore);
  for (const file of c.files) {
    const bytes = typeof file === "string" ? Buffer.from(file) : file;
    const full = Buffer.concat([Buffer.from(`${dir}/`), bytes]);
    if (bytes.at(-1) === 0x2f) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    const slash = bytes.lastIndexOf(0x2f);
    if (slash > 0) mkdirSync(Buffer.concat([Buffer.from(`${dir}/`), bytes.subarray(0, slash)]), { recursive: true });
    writeFileSync(full, `${bytes.toString("hex")}\n`);
  }
  return dir;
}

type Outcome = { entries: string[] } | { error: string };

const describeEntries = (entries: Iterable<[string, ImageEntry]>) =>
  [...entries].map(([name, e]) => `${e.type} ${name} ${(e.mode & 0o7777).toString(8)}`).sort();

async function imagespecOutcome(dir: string): Promise<Outcome> {
  try {
    const entries = await new FileHasher({ cacheFile: false }).listFolder(dir, { gitignore: false });
    return { entries: describeEntries(entries.map((e) => [e.path, { type: e.type, mode: e.type === "symlink" ? 0o777 : e.mode }])) };
  } catch (error) {
    // Anything but a typed error is a failure of its own: the case then fails on the comparison below.
    return { error: isImageSpecError(error) ? error.message : `not an ImageSpecError: ${String(error)}` };
  }
}

describe(".dockerignore, compared with docker build", () => {
  let client: DockerClient;
  const results = new Map<string, { docker: Outcome; imagespec: Outcome }>();

  beforeAll(async () => {
    client = await modernDockerClient();
    const tasks = DOCKERIGNORE_CASES.map((c, i) => async () => {
      const dir = context(c);
      const docker = await dockerSelection(client, dir, `i11-dockerignore-oracle:${process.pid}-${i}`);
      results.set(c.name, {
        docker: "error" in docker ? { error: docker.error } : { entries: describeEntries(docker) },
        imagespec: await imagespecOutcome(dir),
      });
    });
    await inParallel(tasks, 4);
  }, 600_000);

  it(`covers at least 40 cases`, () => {
    expect(DOCKERIGNORE_CASES.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of DOCKERIGNORE_CASES) {
    it(`${c.name}: ${JSON.stringify(String(c.dockerignore)).slice(0, 60)}`, () => {
      const result = results.get(c.name)!;
      if ("error" in result.docker) {
        expect(result.imagespec, `Docker refused the file (${result.docker.error.trim().split("\n").pop()}); imagespec must too`).toHaveProperty("error");
        expect((result.imagespec as { error: string }).error).toMatch(/\.dockerignore line \d+/);
      } else {
        expect(result.imagespec).toEqual(result.docker);
      }
    });
  }
});

describe("a Dockerfile's context, compared with docker build (BuildKit)", () => {
  it("applies <Dockerfile>.dockerignore instead of the context's .dockerignore, and no .gitignore", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "imagespec-dockerfile-ignore-"));
    const files: Record<string, string> = {
      "docker/app.Dockerfile": "FROM scratch\nCOPY . /ctx/\n",
      "docker/app.Dockerfile.dockerignore": "b.txt\n*.md\n!KEEP.md\n",
      "ctx/.dockerignore": "a.txt\n",
      "ctx/.gitignore": "c.txt\nbuild/\n",
      "ctx/a.txt": "a",
      "ctx/b.txt": "b",
      "ctx/c.txt": "c",
      "ctx/build/out.js": "o",
      "ctx/README.md": "r",
      "ctx/KEEP.md": "k",
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), content);
    }
    const identity = await Image.fromDockerfile("docker/app.Dockerfile", { root, context: "ctx" }).identity();
    const ours = identity.inputs.find((i) => i.name === "base.context")!.files!;
    const docker = await dockerSelection(buildkitDockerClient(), path.join(root, "ctx"), `i11-dockerfile-ignore:${process.pid}`, {
      dockerfile: path.join(root, "docker/app.Dockerfile"),
    });
    expect("error" in docker).toBe(false);
    expect(describeEntries(ours.map((e) => [e.path, { type: e.type, mode: e.mode }]))).toEqual(describeEntries(docker as Map<string, ImageEntry>));
    expect(ours.map((e) => e.path)).toEqual(expect.arrayContaining(["a.txt", "c.txt", "build/out.js", "KEEP.md"]));
  });
});
