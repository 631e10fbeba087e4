/**
 * The pure parts of the file sync: fsutil's walk order, its include and follow-path filters, Go's file modes. The
 * whole transfer is exercised against the real BuildKit in session.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { ContextEntry } from "../src/context-files.js";
import { filterIncludes, followPathTargets, goFileMode, walkOrder } from "../src/session/filesync.js";

const entry = (p: string, type: ContextEntry["type"] = "file", linkTarget?: string): ContextEntry => ({
  path: p,
  type,
  mode: type === "dir" ? 0o755 : 0o644,
  mtimeNs: 0n,
  size: 0,
  timeTracksContent: true,
  ...(linkTarget !== undefined && { linkTarget }),
});

describe("walkOrder", () => {
  it("puts a folder's entries right after it, names byte-wise (as fsutil's validator demands)", () => {
    const entries = ["a-b", "a/x", "a", "B", "a.txt", "é", "a/x/y", "z"].map((p) => entry(p, p === "a" || p === "a/x" ? "dir" : "file"));
    expect(walkOrder(entries).map((e) => e.path)).toEqual(["B", "a", "a/x", "a/x/y", "a-b", "a.txt", "z", "é"]);
  });
});

describe("filterIncludes (fsutil's include patterns)", () => {
  const tree = walkOrder([entry("Dockerfile"), entry(".dockerignore"), entry("src", "dir"), entry("src/a.py"), entry("src/lib", "dir"), entry("src/lib/b.py"), entry("docs", "dir"), entry("docs/x.md")]);
  const paths = (patterns: string[] | undefined) => filterIncludes(tree, patterns).map((e) => e.path);

  it("without patterns, everything", () => {
    expect(paths(undefined)).toEqual(tree.map((e) => e.path));
  });
  it("one file, nothing else", () => {
    expect(paths([".dockerignore"])).toEqual([".dockerignore"]);
    expect(paths(["missing"])).toEqual([]);
  });
  it("the folders on the way to a pattern, and everything below a folder a pattern names", () => {
    expect(paths(["src/lib/b.py"])).toEqual(["src", "src/lib", "src/lib/b.py"]);
    expect(paths(["src"])).toEqual(["src", "src/a.py", "src/lib", "src/lib/b.py"]);
  });
  it("wildcards stop at '/'", () => {
    expect(paths(["*.py"])).toEqual([]);
    expect(paths(["src/*.py"])).toEqual(["src", "src/a.py"]);
    expect(paths(["[D]ocker?ile"])).toEqual(["Dockerfile"]);
  });
});

describe("followPathTargets (fsutil's follow paths)", () => {
  it("includes each path, and the target of a symlink on its way", () => {
    const entries = [entry("Dockerfile", "symlink", "build/Dockerfile.real"), entry("build", "dir"), entry("build/Dockerfile.real"), entry("link", "symlink", "/build")];
    expect(followPathTargets(["Dockerfile", "Dockerfile.dockerignore"], entries)).toEqual(["Dockerfile", "Dockerfile.dockerignore", "build/Dockerfile.real"]);
    expect(followPathTargets(["link/Dockerfile.real"], entries)).toEqual(["build/Dockerfile.real", "link"]);
    expect(followPathTargets(["../outside"], entries)).toEqual([]);
  });
});

describe("goFileMode", () => {
  it("is Go's os.FileMode: permission bits, setuid/setgid/sticky and the type bits", () => {
    expect(goFileMode({ type: "file", mode: 0o644 })).toBe(0o644);
    expect(goFileMode({ type: "dir", mode: 0o755 })).toBe(0x80000000 + 0o755);
    expect(goFileMode({ type: "symlink", mode: 0o777 })).toBe(2 ** 27 + 0o777);
    expect(goFileMode({ type: "file", mode: 0o4755 })).toBe(2 ** 23 + 0o755);
    expect(goFileMode({ type: "dir", mode: 0o1777 })).toBe(0x80000000 + 2 ** 20 + 0o777);
  });
});
