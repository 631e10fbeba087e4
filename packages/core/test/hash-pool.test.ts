/**
 * The hash pool against `sha256sum`: jobs small enough for the calling thread alone and large enough for worker
 * threads give the digests coreutils gives, and a file that cannot be read fails the job with its errno code.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hashFiles } from "../src/hash-pool.js";

function tree(count: number): { files: string[]; sizes: number[] } {
  const dir = mkdtempSync(path.join(tmpdir(), "imagespec-hash-pool-"));
  const files: string[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `f${i}.txt`);
    // Empty files, small ones, and one of 3 MiB (read in several chunks).
    const content = i === 7 ? Buffer.alloc(3 << 20, i) : Buffer.from(i % 10 === 0 ? "" : `file ${i}\n`.repeat(i % 50));
    writeFileSync(file, content);
    files.push(file);
    sizes.push(content.length);
  }
  return { files, sizes };
}

function sha256sum(files: readonly string[]): string[] {
  const out = execFileSync("xargs", ["-0", "sha256sum"], { input: files.join("\0"), maxBuffer: 1 << 26, encoding: "utf8" });
  const byFile = new Map(
    out
      .split("\n")
      .filter(Boolean)
      .map((line) => [line.slice(66), line.slice(0, 64)]),
  );
  return files.map((file) => byFile.get(file)!);
}

async function hashAll(files: readonly string[], sizes: readonly number[], threads: number, workersOnly = false): Promise<string[]> {
  const digests: string[] = new Array(files.length);
  await hashFiles(files, sizes, (index, digest) => (digests[index] = digest), { threads, workersOnly });
  return digests;
}

describe("hashFiles, compared with sha256sum", () => {
  it("a small job, on the calling thread", async () => {
    const { files, sizes } = tree(20);
    expect(await hashAll(files, sizes, 4)).toEqual(sha256sum(files));
  });

  it("a large job, shared with a worker thread (and again on the calling thread alone)", async () => {
    const { files, sizes } = tree(3_000);
    const expected = sha256sum(files);
    expect(await hashAll(files, sizes, 2)).toEqual(expected);
    expect(await hashAll(files, sizes, 1)).toEqual(expected);
    // The workers' own code, whatever the timing: they take every batch.
    expect(await hashAll(files, sizes, 3, true)).toEqual(expected);
  });

  it("fails with the errno code of a file that cannot be read, on either thread", async () => {
    const { files, sizes } = tree(3_000);
    // One near the start (the calling thread's first batches) and one near the end (a worker's, once it is up).
    rmSync(files[5]!);
    rmSync(files[2_990]!);
    await expect(hashAll(files, sizes, 2)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(hashAll(files, sizes, 1)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(hashAll(files, sizes, 2, true)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
