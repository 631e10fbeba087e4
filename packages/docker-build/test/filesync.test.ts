/**
 * The pure parts of the file sync: fsutil's walk order, its include and follow-path filters, Go's file modes. The
 * whole transfer is exercised against the real BuildKit in session.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { ContextEntry } from "../src/context-entries.js";
import { encodeStatPacket, filterIncludes, followPathTargets, goFileMode, offeredTime, walkOrder } from "../src/session/filesync.js";
import { messageCodec } from "../src/session/proto.js";

const mtime = new Date(1_700_000_000_500);
const entry = (name: string, type: ContextEntry["type"] = "file", target = ""): ContextEntry =>
  type === "dir"
    ? { type, name, mode: 0o755, mtime }
    : type === "symlink"
      ? { type, name, target, mtime }
      : { type, name, mode: 0o644, size: 1, mtime, source: { path: `/x/${name}`, digest: "ab".repeat(32), follow: false } };

describe("walkOrder", () => {
  it("puts a folder's entries right after it, names byte-wise (as fsutil's validator demands)", () => {
    const entries = ["a-b", "a/x", "a", "B", "a.txt", "é", "a/x/y", "z"].map((p) => entry(p, p === "a" || p === "a/x" ? "dir" : "file"));
    expect(walkOrder(entries).map((e) => e.name)).toEqual(["B", "a", "a/x", "a/x/y", "a-b", "a.txt", "z", "é"]);
  });
});

describe("filterIncludes (fsutil's include patterns)", () => {
  const tree = walkOrder([
    entry("Dockerfile"),
    entry(".dockerignore"),
    entry("src", "dir"),
    entry("src/a.py"),
    entry("src/lib", "dir"),
    entry("src/lib/b.py"),
    entry("docs", "dir"),
    entry("docs/x.md"),
  ]);
  const paths = (patterns: string[] | undefined) => filterIncludes(tree, patterns).map((e) => e.name);

  it("without patterns, everything", () => {
    expect(paths(undefined)).toEqual(tree.map((e) => e.name));
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
    const entries = [
      entry("Dockerfile", "symlink", "build/Dockerfile.real"),
      entry("build", "dir"),
      entry("build/Dockerfile.real"),
      entry("link", "symlink", "/build"),
    ];
    expect(followPathTargets(["Dockerfile", "Dockerfile.dockerignore"], entries)).toEqual(["Dockerfile", "Dockerfile.dockerignore", "build/Dockerfile.real"]);
    expect(followPathTargets(["link/Dockerfile.real"], entries)).toEqual(["build/Dockerfile.real", "link"]);
    expect(followPathTargets(["../outside"], entries)).toEqual([]);
  });
});

describe("walkOrder, twice the same name", () => {
  it("lists a name once: a folder as first listed, a file as last", () => {
    const first = entry("a.txt");
    const last = { ...entry("a.txt"), size: 2 } as ContextEntry;
    expect(walkOrder([entry("d", "dir"), first, entry("d", "dir"), last])).toEqual([last, entry("d", "dir")]);
  });
});

describe("offeredTime", () => {
  it("keeps the entry's whole seconds and takes the nanoseconds below them from the file's digest", () => {
    const a = entry("a.txt");
    const b = { ...a, source: { path: "/x/a.txt", digest: "cd".repeat(32), follow: false } } as ContextEntry;
    expect(offeredTime(a) / 1_000_000_000n).toBe(1_700_000_000n);
    expect(offeredTime(a)).toBe(offeredTime({ ...a } as ContextEntry));
    expect(offeredTime(b)).not.toBe(offeredTime(a));
    expect(offeredTime(b) / 1_000_000_000n).toBe(1_700_000_000n);
    expect(offeredTime(entry("d", "dir"))).toBe(1_700_000_000_000_000_000n);
    const generated: ContextEntry = { type: "file", name: "Dockerfile", mode: 0o644, size: 4, mtime: new Date(0), content: Buffer.from("FROM") };
    expect(offeredTime(generated)).not.toBe(offeredTime({ ...generated, content: Buffer.from("FROX") }));
  });
});

describe("goFileMode", () => {
  it("is Go's os.FileMode: permission bits, setuid/setgid/sticky and the type bits", () => {
    expect(goFileMode({ type: "file", mode: 0o644 })).toBe(0o644);
    expect(goFileMode({ type: "dir", mode: 0o755 })).toBe(0x80000000 + 0o755);
    expect(goFileMode({ type: "symlink" })).toBe(2 ** 27 + 0o777);
    expect(goFileMode({ type: "file", mode: 0o4755 })).toBe(2 ** 23 + 0o755);
    expect(goFileMode({ type: "dir", mode: 0o1777 })).toBe(0x80000000 + 2 ** 20 + 0o777);
  });
});

describe("encodeStatPacket", () => {
  const packet = messageCodec("fsutil.types.Packet");
  const cases: ContextEntry[] = [
    entry("a.txt"),
    entry("d", "dir"),
    { type: "dir", name: "sticky", mode: 0o1777, mtime },
    entry("link", "symlink", "../somewhere/else"),
    entry("é/ünïcode name with spaces.py"),
    {
      type: "file",
      name: "big",
      mode: 0o4755,
      size: 5 * 2 ** 32 + 7,
      mtime: new Date(4_102_444_800_000),
      source: { path: "/x/big", digest: "ff".repeat(32), follow: true },
    },
    { type: "file", name: "empty", mode: 0o600, size: 0, mtime: new Date(0), content: new Uint8Array() },
    { type: "file", name: `${"deep/".repeat(40)}long-name`, mode: 0o644, size: 200, mtime, content: Buffer.alloc(200) },
  ];
  it("writes the bytes protobufjs writes for the same STAT packet", () => {
    for (const e of cases) {
      const expected = packet.encode({
        type: 0,
        stat: {
          path: e.name,
          mode: goFileMode(e),
          uid: 0,
          gid: 0,
          size: String(e.type === "file" ? e.size : e.type === "symlink" ? Buffer.byteLength(e.target) : 0),
          modTime: String(offeredTime(e)),
          ...(e.type === "symlink" && { linkname: e.target }),
        },
      });
      expect(encodeStatPacket(e).toString("hex"), e.name).toBe(expected.toString("hex"));
    }
  });
  it("decodes to the entry's name, mode, size, time and link target", () => {
    const decoded = packet.decode(encodeStatPacket(cases[5]!));
    expect(decoded.stat).toMatchObject({ path: "big", mode: 2 ** 23 + 0o755, size: String(5 * 2 ** 32 + 7) });
    expect(BigInt((decoded.stat as { modTime: string }).modTime) / 1_000_000_000n).toBe(4_102_444_800n);
    expect(packet.decode(encodeStatPacket(cases[3]!)).stat).toMatchObject({ linkname: "../somewhere/else", mode: 2 ** 27 + 0o777 });
  });
});
