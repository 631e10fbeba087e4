/** Hashing progress: what a long hash shows on a terminal and in a log, and what `--debug` prints for every folder. */

import { utimesSync } from "node:fs";
import path from "node:path";
import type { HashingProgress } from "@imagespec/core";
import { afterAll, describe, expect, it } from "vitest";
import { HashingDisplay } from "../src/hashing.js";
import { Output } from "../src/output.js";
import { createProject } from "./support/project.js";

function capture(options: { tty: boolean; debug?: boolean }) {
  let stderr = "";
  const out = new Output({
    env: { TERM: "xterm" },
    json: false,
    debug: options.debug ?? false,
    streams: {
      stdout: { write: () => true },
      stderr: {
        isTTY: options.tty,
        columns: 200,
        write: (chunk: string | Uint8Array) => {
          stderr += String(chunk);
          return true;
        },
      },
    },
  });
  // Without colour codes: the dim "hashed" of a terminal is not what these tests are about.
  return { out, text: () => stderr.replace(/\x1b\[[0-9;]*m/g, "") };
}

const event = (over: Partial<HashingProgress>): HashingProgress => ({
  path: "/work/repo/src",
  type: "folder",
  phase: "walking",
  entries: 0,
  filesToRead: 0,
  filesRead: 0,
  bytesToRead: 0,
  bytesRead: 0,
  elapsedMs: 0,
  ...over,
});

describe("hashing progress on stderr", () => {
  it("in a log: nothing while it runs, one summary line for a hashing of a second or more", () => {
    const { out, text } = capture({ tty: false });
    const display = new HashingDisplay(out, "/work/repo");
    try {
      display.onProgress(event({ entries: 12_000, elapsedMs: 200 }));
      display.onProgress(event({ phase: "reading", entries: 51_389, filesToRead: 50_001, filesRead: 20_000, bytesToRead: 214_700_000, elapsedMs: 900 }));
      expect(text()).toBe("");
      display.onProgress(event({ path: "/work/repo/quick", phase: "done", entries: 3, elapsedMs: 12 }));
      expect(text()).toBe("");
      display.onProgress(
        event({ phase: "done", entries: 51_389, filesToRead: 50_001, filesRead: 50_001, bytesToRead: 214_700_000, bytesRead: 214_700_000, elapsedMs: 1_840 }),
      );
      expect(text()).toBe("hashed src: 51,389 entries, 50,001 files read (214.7 MB) in 1.8s\n");
    } finally {
      display.stop();
    }
  });

  it("with --debug: every folder's summary, a cached one saying so, and paths outside the current folder in full", () => {
    const { out, text } = capture({ tty: false, debug: true });
    const display = new HashingDisplay(out, "/work/repo");
    try {
      display.onProgress(event({ phase: "done", entries: 4, elapsedMs: 3 }));
      display.onProgress(event({ path: "/elsewhere/models", phase: "done", entries: 1, filesToRead: 1, filesRead: 1, bytesRead: 999, elapsedMs: 40 }));
      display.onProgress(event({ path: "/work/repo/Dockerfile", type: "file", phase: "done", entries: 1, elapsedMs: 1 }));
      display.onProgress(event({ path: "/work/repo/src", phase: "failed", entries: 2, elapsedMs: 5_000 }));
      expect(text()).toBe("hashed src: 4 entries, every digest from the cache in 0.0s\nhashed /elsewhere/models: 1 entry, 1 file read (999 B) in 0.0s\n");
    } finally {
      display.stop();
    }
  });

  it("on a terminal: one line redrawn in place while it runs, cleared at the end, a summary left for a long one", () => {
    const { out, text } = capture({ tty: true });
    expect(out.live).toBe(true);
    const display = new HashingDisplay(out, "/work/repo");
    display.onProgress(event({ entries: 12_288, elapsedMs: 200 }));
    expect(text()).toMatch(/^\r\S+ hashing src: 12,288 entries so far$/);
    display.onProgress(event({ path: "/work/repo/lib", entries: 10, elapsedMs: 200 }));
    display.onProgress(
      event({ phase: "reading", entries: 51_389, filesToRead: 50_001, filesRead: 1_488, bytesToRead: 214_700_000, bytesRead: 6_100_000, elapsedMs: 300 }),
    );
    expect(text().split("\r\x1b[2K").at(-1)).toMatch(/^\r\S+ hashing src: reading 1,488 of 50,001 files \(6\.1 MB of 214\.7 MB\) \(and 1 more\)$/);
    display.onProgress(event({ path: "/work/repo/lib", phase: "done", entries: 10, elapsedMs: 250 }));
    expect(text().split("\r\x1b[2K").at(-1)).toMatch(/^\r\S+ hashing src: reading 1,488 of 50,001 files \(6\.1 MB of 214\.7 MB\)$/);
    display.onProgress(event({ phase: "done", entries: 51_389, filesToRead: 50_001, filesRead: 50_001, bytesRead: 214_700_000, elapsedMs: 2_000 }));
    expect(text().endsWith("\r\x1b[2Khashed src: 51,389 entries, 50,001 files read (214.7 MB) in 2.0s\n")).toBe(true);
    const before = text();
    display.stop();
    expect(text()).toBe(before);
  });

  it("on a terminal: stopping clears a line still shown, and nothing is drawn after", () => {
    const { out, text } = capture({ tty: true });
    const display = new HashingDisplay(out, "/work/repo");
    display.onProgress(event({ entries: 100, elapsedMs: 200 }));
    display.stop();
    expect(text().endsWith("\r\x1b[2K")).toBe(true);
  });
});

describe("imagespec tag --debug", () => {
  const project = createProject({
    files: {
      "images.ts": `import { Image } from "@imagespec/core";\nexport const app = Image.fromBase("python:3.12-slim", { name: "app" }).withSourceFolder("src", "/app");\n`,
      "src/main.py": "print('hello')\n",
      "src/lib/util.py": "X = 1\n",
    },
  });
  afterAll(() => project.remove());

  it("prints what the hashing of each folder read, and that an unchanged folder came from the digest cache", async () => {
    // Changed (ctime) longer ago than the racy window, so the second run may take the digests from the cache.
    for (const file of ["src/main.py", "src/lib/util.py"]) utimesSync(path.join(project.dir, file), new Date(2020, 0, 1), new Date(2020, 0, 1));
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const first = await project.run(["tag", "images.ts", "--debug"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^hashed src: 3 entries, 2 files read \(21 B\) in \d+\.\ds$/m);
    const second = await project.run(["tag", "images.ts", "--debug"]);
    expect(second.stderr).toMatch(/^hashed src: 3 entries, every digest from the cache in \d+\.\ds$/m);
    expect(second.stdout).toBe(first.stdout);
    const plain = await project.run(["tag", "images.ts"]);
    expect(plain.stderr).not.toMatch(/hashed/);
  });
});
