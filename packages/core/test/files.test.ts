import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type HashedFile, readHashedFile, readHashedFileSync } from "../src/authoring.js";
import { HashingReporter, PROGRESS_EVERY_MS, PROGRESS_FIRST_MS } from "../src/files.js";
import { FileHasher, type HashingProgress, onHashingProgress } from "../src/index.js";

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "imagespec-files-"));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
    // Old mtimes, so the racy-write guard does not keep digests out of the cache.
    utimesSync(path.join(dir, rel), new Date(2020, 0, 1), new Date(2020, 0, 1));
  }
  return dir;
}

/** Records in each root file of a cache folder, sorted (the file format: a header line, then key and record, NUL-separated). */
function cacheRecords(cacheDir: string): number[] {
  return readdirSync(cacheDir)
    .filter((n) => n.startsWith("root-"))
    .map((n) => (readFileSync(path.join(cacheDir, n), "latin1").split("\0").length - 1) / 2)
    .sort((a, b) => a - b);
}

/**
 * With `racyWindowMs: 0` a file is cached once its mtime is before "now", which the hasher reads in whole
 * milliseconds: a file written in the same millisecond as the walk is (rightly) not cached. Tests that expect every
 * file cached wait that millisecond out.
 */
const pastThisMillisecond = () => new Promise((resolve) => setTimeout(resolve, 3));

const paths = async (dir: string, patterns?: string[]) =>
  (await new FileHasher({ cacheFile: false }).listFolder(dir, { ignorePatterns: patterns })).map((e) => `${e.type[0]} ${e.path}`);

describe("folder selection", () => {
  it("applies .dockerignore the way Docker does, exceptions included", async () => {
    const dir = project({ ".dockerignore": "*.md\n!README.md\ndocs\n", "README.md": "", "CHANGES.md": "", "docs/a.txt": "", "sub/x.md": "", "app.py": "" });
    expect(await paths(dir)).toEqual(["f .dockerignore", "f README.md", "f app.py", "d sub", "f sub/x.md"]);
  });

  it("descends into an excluded folder when an exception may re-include something in it", async () => {
    const dir = project({ "build/keep.txt": "", "build/drop.txt": "" });
    expect(await paths(dir, ["build", "!build/keep.txt"])).toEqual(["d build", "f build/keep.txt"]);
  });

  it("applies nested .gitignore files relative to their folder", async () => {
    const dir = project({ ".gitignore": "*.pyc\n", "pkg/.gitignore": "local/\n", "pkg/local/x": "", "pkg/m.py": "", "pkg/m.pyc": "", "local/kept": "" });
    expect(await paths(dir)).toEqual(["f .gitignore", "d local", "f local/kept", "d pkg", "f pkg/.gitignore", "f pkg/m.py"]);
  });

  it("records symlinks as links, without following them", async () => {
    const dir = project({ "real/file": "x" });
    symlinkSync("real/file", path.join(dir, "link"));
    const entries = await new FileHasher({ cacheFile: false }).listFolder(dir);
    expect(entries.find((e) => e.path === "link")).toMatchObject({ path: "link", type: "symlink", target: "real/file" });
  });

  it("explains a missing folder and a file given as a folder", async () => {
    const dir = project({ f: "" });
    const hasher = new FileHasher({ cacheFile: false });
    await expect(hasher.hashFolder(path.join(dir, "nope"))).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
    await expect(hasher.hashFolder(path.join(dir, "f"))).rejects.toThrow(/as a folder: it is a file/);
    await expect(hasher.hashFile(dir)).rejects.toThrow(/as a file: it is a folder/);
  });
});

describe("the digest cache", () => {
  it("persists digests so an unchanged tree is not read again, and re-reads what changed", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`src/m${i}.py`] = `print(${i})\n`;
    const dir = project(files);
    const cacheDir = mkdtempSync(path.join(tmpdir(), "imagespec-cache-"));
    await pastThisMillisecond();

    const first = new FileHasher({ cacheDir, racyWindowMs: 0 });
    const cold = await first.hashFolder(path.join(dir, "src"));
    expect(first.stats).toEqual({ read: 50, cached: 0 });
    expect(cacheRecords(cacheDir)).toEqual([50]);

    const second = new FileHasher({ cacheDir, racyWindowMs: 0 }); // a new process, as far as the cache knows
    const warm = await second.hashFolder(path.join(dir, "src"));
    expect(warm.digest).toBe(cold.digest);
    expect(second.stats).toEqual({ read: 0, cached: 50 });

    writeFileSync(path.join(dir, "src/m7.py"), "print('changed')\n");
    utimesSync(path.join(dir, "src/m7.py"), new Date(2021, 0, 1), new Date(2021, 0, 1));
    const third = new FileHasher({ cacheDir, racyWindowMs: 0 });
    const changed = await third.hashFolder(path.join(dir, "src"));
    expect(changed.digest).not.toBe(cold.digest);
    expect(third.stats).toEqual({ read: 1, cached: 49 });
  });

  it("does not cache a file written within the last moments, whose mtime may not change on the next write", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "imagespec-racy-"));
    writeFileSync(path.join(dir, "fresh.txt"), "a");
    const cacheDir = path.join(dir, "cache");
    const hasher = new FileHasher({ cacheDir });
    await hasher.hashFile(path.join(dir, "fresh.txt"));
    await hasher.flush();
    const again = new FileHasher({ cacheDir });
    await again.hashFile(path.join(dir, "fresh.txt"));
    expect(again.stats.read).toBe(1);
  });

  it("survives a damaged cache file", async () => {
    const dir = project({ a: "1" });
    const cacheDir = path.join(dir, "cache");
    mkdirSync(cacheDir);
    writeFileSync(path.join(cacheDir, "files.digests"), "{not json");
    const hasher = new FileHasher({ cacheDir });
    expect((await hasher.hashFile(path.join(dir, "a"))).digest).toMatch(/^[0-9a-f]{64}$/);
    await hasher.hashFolder(dir);
    // A truncated file (a writer killed half-way) is read as empty, not as half of its records.
    for (const name of readdirSync(cacheDir)) writeFileSync(path.join(cacheDir, name), readFileSync(path.join(cacheDir, name)).subarray(0, -3));
    const again = new FileHasher({ cacheDir });
    await again.hashFolder(dir);
    expect(again.stats.cached).toBe(0);
  });

  it("keeps one file per walked folder, holding only the files of its last walk", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`a/m${i}.py`] = `print(${i})\n`;
    for (let i = 0; i < 5; i++) files[`b/n${i}.py`] = `print(${i})\n`;
    const dir = project(files);
    const cacheDir = mkdtempSync(path.join(tmpdir(), "imagespec-cache-"));
    await pastThisMillisecond();
    const first = new FileHasher({ cacheDir, racyWindowMs: 0 });
    await first.hashFolder(path.join(dir, "a"));
    await first.hashFolder(path.join(dir, "b"));
    expect(cacheRecords(cacheDir)).toEqual([5, 20]);

    // Deleted files leave the cache with the next walk; the other folder's file is untouched.
    for (let i = 0; i < 15; i++) rmSync(path.join(dir, `a/m${i}.py`));
    const second = new FileHasher({ cacheDir, racyWindowMs: 0 });
    await second.hashFolder(path.join(dir, "a"));
    expect(second.stats).toEqual({ read: 0, cached: 5 });
    expect(cacheRecords(cacheDir)).toEqual([5, 5]);

    // An unchanged walk writes nothing.
    const before = readdirSync(cacheDir).map((n) => statSync(path.join(cacheDir, n)).mtimeMs);
    await new FileHasher({ cacheDir, racyWindowMs: 0 }).hashFolder(path.join(dir, "a"));
    expect(readdirSync(cacheDir).map((n) => statSync(path.join(cacheDir, n)).mtimeMs)).toEqual(before);
  });

  it("keeps at most 64 folders' files, dropping the least recently written", async () => {
    const dir = project(Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`d${i}/f`, `${i}`])));
    const cacheDir = mkdtempSync(path.join(tmpdir(), "imagespec-cache-"));
    await pastThisMillisecond();
    for (let i = 0; i < 70; i++) await new FileHasher({ cacheDir, racyWindowMs: 0 }).hashFolder(path.join(dir, `d${i}`));
    expect(readdirSync(cacheDir).filter((n) => n.startsWith("root-"))).toHaveLength(64);
    // The newest folder is still cached, the oldest is not.
    const newest = new FileHasher({ cacheDir, racyWindowMs: 0 });
    await newest.hashFolder(path.join(dir, "d69"));
    expect(newest.stats).toEqual({ read: 0, cached: 1 });
    const oldest = new FileHasher({ cacheDir, racyWindowMs: 0 });
    await oldest.hashFolder(path.join(dir, "d0"));
    expect(oldest.stats).toEqual({ read: 1, cached: 0 });
  });
});

describe(".gitignore files above the folder", () => {
  function repo(files: Record<string, string>): string {
    const dir = project(files);
    execFileSync("git", ["init", "-q"], { cwd: dir });
    return dir;
  }

  it("apply up to the repository root, as git applies them", async () => {
    const dir = repo({
      ".gitignore": "__pycache__/\n*.log\n/top-only\n",
      "services/.gitignore": ".venv/\n",
      "services/api/app.py": "",
      "services/api/__pycache__/app.pyc": "",
      "services/api/.venv/bin/python": "",
      "services/api/debug.log": "",
      "services/api/top-only": "",
    });
    expect(await paths(path.join(dir, "services/api"))).toEqual(["f app.py", "f top-only"]);
  });

  it("do not empty a folder that is named explicitly although git ignores it", async () => {
    const dir = repo({ ".gitignore": "dist/\n", "dist/app.js": "", "dist/inner/x.js": "" });
    expect(await paths(path.join(dir, "dist"))).toEqual(["f app.js", "d inner", "f inner/x.js"]);
  });

  it("do not apply outside a git repository", async () => {
    const dir = project({ ".gitignore": "*.log\n", "sub/debug.log": "" });
    expect(await paths(path.join(dir, "sub"))).toEqual(["f debug.log"]);
  });
});

describe("the digest cache trusts what git's index trusts", () => {
  // Each reproduction: the same size, the same (old) mtime, often the same inode, other bytes. Only ctime (and, for a
  // new file, the inode) tells them apart, as in git's index; and a change within the last moments is never cached.
  const cacheDir = () => mkdtempSync(path.join(tmpdir(), "imagespec-cache-"));
  const sh = (cwd: string, script: string) => execFileSync("sh", ["-c", script], { cwd });

  async function digestTwice(setup: string, change: string): Promise<[string, string]> {
    const dir = mkdtempSync(path.join(tmpdir(), "imagespec-stale-"));
    const cache = cacheDir();
    sh(dir, setup);
    // Old enough that the racy window does not keep the first digest out of the cache.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const hasher = new FileHasher({ cacheDir: cache });
    const first = await hasher.hashFile(path.join(dir, "v.txt"));
    await hasher.flush(); // as a command that computed a tag leaves it, for the next one
    sh(dir, change);
    const second = await new FileHasher({ cacheDir: cache }).hashFile(path.join(dir, "v.txt"));
    return [first.entries[0]!.digest!, second.entries[0]!.digest!];
  }

  it("rewritten in place with the mtime set back (printf + touch -d)", async () => {
    const [before, after] = await digestTwice(
      "printf 'version=1\\n' > v.txt; touch -d 2020-01-01 v.txt",
      "printf 'version=2\\n' > v.txt; touch -d 2020-01-01 v.txt",
    );
    expect(after).not.toBe(before);
  });

  it("replaced by cp -p of a same-size file", async () => {
    const [before, after] = await digestTwice("printf 'aaaa' > v.txt; printf 'bbbb' > w.txt; touch -d 2020-01-01 v.txt w.txt", "cp -p w.txt v.txt");
    expect(after).not.toBe(before);
  });

  it("replaced by tar -x of an archive with normalised mtimes", async () => {
    const [before, after] = await digestTwice(
      "mkdir -p x && printf 'one\\n' > x/v.txt && tar --mtime=2020-01-01 -C x -cf one.tar v.txt && printf 'two\\n' > x/v.txt && tar --mtime=2020-01-01 -C x -cf two.tar v.txt && tar -xf one.tar",
      "tar -xf two.tar",
    );
    expect(after).not.toBe(before);
  });
});

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

describe.each([
  ["readHashedFile (streamed)", (file: string, expected: HashedFile, options?: { follow?: boolean }) => readAll(readHashedFile(file, expected, options))],
  [
    "readHashedFileSync (whole)",
    async (file: string, expected: HashedFile, options?: { follow?: boolean }) => readHashedFileSync(file, expected, options).toString("utf8"),
  ],
])("%s: the bytes that were hashed, or a typed error naming the file", (_name, readHashed) => {
  async function hashed(content: string) {
    const dir = project({ "f.txt": content });
    const file = path.join(dir, "f.txt");
    const entry = (await new FileHasher({ cacheFile: false }).hashFile(file)).entries[0]!;
    return { file, expected: { digest: entry.digest!, size: entry.size! } };
  }

  it("reads an unchanged file", async () => {
    const { file, expected } = await hashed("same\n");
    expect(await readHashed(file, expected)).toBe("same\n");
    const empty = await hashed("");
    expect(await readHashed(empty.file, empty.expected)).toBe("");
  });

  it("fails when the bytes changed, even at the same size", async () => {
    const { file, expected } = await hashed("aaaa");
    writeFileSync(file, "bbbb");
    await expect(readHashed(file, expected)).rejects.toMatchObject({ code: "FILE_CHANGED", message: expect.stringContaining("f.txt") });
    writeFileSync(file, "longer");
    await expect(readHashed(file, expected)).rejects.toMatchObject({ code: "FILE_CHANGED", message: expect.stringMatching(/size changed/) });
  });

  it("fails when the file was deleted, became a symlink or a folder", async () => {
    const { file, expected } = await hashed("x");
    rmSync(file);
    await expect(readHashed(file, expected)).rejects.toMatchObject({ code: "FILE_CHANGED", message: expect.stringMatching(/deleted/) });
    writeFileSync(`${file}.real`, "x");
    symlinkSync(`${file}.real`, file);
    await expect(readHashed(file, expected)).rejects.toMatchObject({ code: "FILE_CHANGED", message: expect.stringMatching(/symlink/) });
    expect(await readHashed(file, expected, { follow: true })).toBe("x");
    rmSync(file);
    mkdirSync(file);
    await expect(readHashed(file, expected)).rejects.toMatchObject({ code: "FILE_CHANGED", message: expect.stringMatching(/no longer a regular file/) });
  });
});

describe("readHashedFile: large files", () => {
  it("never hands out the whole of a changed file: the last chunk waits for the digest", async () => {
    const dir = project({ "f.txt": "a".repeat(3 << 20) });
    const file = path.join(dir, "f.txt");
    const entry = (await new FileHasher({ cacheFile: false }).hashFile(file)).entries[0]!;
    const expected = { digest: entry.digest!, size: entry.size! };
    expect(() => readHashedFileSync(file, expected)).toThrow(RangeError);
    writeFileSync(file, `${"a".repeat((3 << 20) - 1)}b`);
    const received: Buffer[] = [];
    await expect(
      (async () => {
        for await (const chunk of readHashedFile(file, expected)) received.push(chunk as Buffer);
      })(),
    ).rejects.toMatchObject({ code: "FILE_CHANGED" });
    expect(Buffer.concat(received).length).toBeLessThan(3 << 20);
  });
});

describe("modes and names", () => {
  it("records permission bits with setuid, setgid and sticky, and folder modes", async () => {
    const dir = project({ "key.pem": "k", "bin/tool": "t", "shared/x": "x" });
    chmodSync(path.join(dir, "key.pem"), 0o600);
    chmodSync(path.join(dir, "bin/tool"), 0o4755);
    chmodSync(path.join(dir, "shared"), 0o1777);
    chmodSync(path.join(dir, "bin"), 0o2750);
    const modes = Object.fromEntries((await new FileHasher({ cacheFile: false }).listFolder(dir)).map((e) => [e.path, e.mode.toString(8)]));
    expect(modes).toMatchObject({ "key.pem": "600", "bin/tool": "4755", shared: "1777", bin: "2750" });
  });

  it("a file name that is not UTF-8 is fine when ignored, and refused clearly when it would be sent", async () => {
    const dir = project({ "a.txt": "a", ".dockerignore": "*.bin\n" });
    writeFileSync(Buffer.from(`${dir}/\xff.bin`, "latin1"), "x");
    expect(await paths(dir)).toEqual(["f .dockerignore", "f a.txt"]);
    writeFileSync(Buffer.from(`${dir}/\xff.dat`, "latin1"), "x");
    await expect(paths(dir)).rejects.toMatchObject({ code: "INVALID_SPEC", message: expect.stringMatching(/not valid UTF-8/) });
  });

  it("refuses an invalid pattern naming the ignore file and the line, as Docker refuses it", async () => {
    const dir = project({ "a.txt": "a", ".dockerignore": "# fine\na.txt\n[oops\n" });
    await expect(paths(dir)).rejects.toMatchObject({
      code: "INVALID_SPEC",
      message: expect.stringMatching(/\.dockerignore line 3: "\[oops" is not a valid pattern/),
    });
  });
});

describe("hashing progress", () => {
  const collect = () => {
    const events: HashingProgress[] = [];
    const stop = onHashingProgress((p) => events.push(p));
    return { events, stop };
  };

  it("reports the end of a folder's hashing with its entries, the files read and their bytes; a warm one reads none", async () => {
    const files: Record<string, string> = { "a.txt": "alpha", "sub/b.txt": "bravo!", "sub/deeper/c.bin": "x".repeat(5000) };
    const dir = project(files);
    const cacheDir = mkdtempSync(path.join(tmpdir(), "imagespec-cache-"));
    const { events, stop } = collect();
    try {
      const cold = await new FileHasher({ cacheDir, racyWindowMs: 0 }).hashFolder(dir);
      const end = events.filter((e) => e.path === dir).at(-1)!;
      expect(end).toMatchObject({
        type: "folder",
        phase: "done",
        entries: cold.entries.length,
        filesToRead: 3,
        filesRead: 3,
        bytesToRead: 5011,
        bytesRead: 5011,
      });
      expect(end.elapsedMs).toBeGreaterThanOrEqual(0);
      events.length = 0;
      await new FileHasher({ cacheDir, racyWindowMs: 0 }).hashFolder(dir);
      expect(events.filter((e) => e.path === dir)).toEqual([
        expect.objectContaining({ phase: "done", entries: cold.entries.length, filesToRead: 0, filesRead: 0, bytesRead: 0 }),
      ]);
    } finally {
      stop();
    }
    events.length = 0;
    await new FileHasher({ cacheDir: false }).hashFolder(dir);
    expect(events).toEqual([]);
  });

  it("reports a single file, and ignores a listener that throws", async () => {
    const dir = project({ Dockerfile: "FROM scratch\n" });
    const stopThrowing = onHashingProgress(() => {
      throw new Error("a broken progress renderer");
    });
    const { events, stop } = collect();
    try {
      const hashed = await new FileHasher({ cacheDir: false }).hashFile(path.join(dir, "Dockerfile"));
      expect(hashed.entries[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(events).toEqual([
        expect.objectContaining({ path: path.join(dir, "Dockerfile"), type: "file", phase: "done", entries: 1, filesRead: 1, bytesRead: 13 }),
      ]);
    } finally {
      stop();
      stopThrowing();
    }
  });

  it("reports `failed` when a folder cannot be hashed", async () => {
    const dir = project({ "ok.txt": "fine" });
    // A name that is not UTF-8 in a folder that is sent: the walk refuses it (see "modes and names").
    writeFileSync(Buffer.from(`${dir}/\xff.dat`, "latin1"), "x");
    const { events, stop } = collect();
    try {
      await expect(new FileHasher({ cacheDir: false }).hashFolder(dir)).rejects.toMatchObject({ code: "INVALID_SPEC" });
    } finally {
      stop();
    }
    expect(events.at(-1)).toMatchObject({ path: dir, phase: "failed" });
  });

  it("reports a long hashing after 200 ms and then every 100 ms, reading the clock every 64 entries while walking", () => {
    let now = 1_000;
    let clockReads = 0;
    const { events, stop } = collect();
    try {
      const reporter = new HashingReporter("/tree", "folder", () => {
        clockReads++;
        return now;
      });
      for (let i = 0; i < 64 * 3; i++) {
        reporter.entries++;
        reporter.tick();
      }
      expect(clockReads).toBe(1 + 3);
      expect(events).toEqual([]);
      now += PROGRESS_FIRST_MS;
      for (let i = 0; i < 64; i++) reporter.tick();
      expect(events.map((e) => [e.phase, e.entries, e.elapsedMs])).toEqual([["walking", 192, 200]]);
      now += PROGRESS_EVERY_MS - 1;
      for (let i = 0; i < 64; i++) reporter.tick();
      expect(events).toHaveLength(1);
      reporter.phase = "reading";
      reporter.filesToRead = 2;
      const reads = clockReads;
      reporter.tick();
      expect(clockReads).toBe(reads + 1);
      expect(events).toHaveLength(1);
      now += 1;
      reporter.filesRead = 1;
      reporter.tick();
      expect(events.at(-1)).toMatchObject({ phase: "reading", filesRead: 1, filesToRead: 2, elapsedMs: 300 });
      reporter.end(false);
      expect(events.at(-1)).toMatchObject({ phase: "done" });
      expect(events).toHaveLength(3);
    } finally {
      stop();
    }
  });
});
