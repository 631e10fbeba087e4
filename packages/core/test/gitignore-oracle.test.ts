/**
 * .gitignore against git itself: repositories with .gitignore files at several depths (and a repository inside a
 * repository), listed by imagespec and by `git ls-files --cached --others --exclude-standard`, the list git gives of
 * the files it would take: both must name the same files. Folders are listed from the root and from inside.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FileHasher } from "../src/index.js";

interface GitCase {
  readonly name: string;
  /** path → content; `.gitignore` files are ordinary entries. */
  readonly files: Readonly<Record<string, string>>;
  /** Files committed with `git add -f` (tracked although ignored). */
  readonly tracked?: readonly string[];
  /** Files committed with `git add -f` in the repository `inner/` (cases with a repository inside the repository). */
  readonly innerTracked?: readonly string[];
  /** Folders (relative to the repository) to list, besides the root. */
  readonly folders?: readonly string[];
}

const CASES: readonly GitCase[] = [
  {
    name: "nested negation re-includes what a higher .gitignore ignores",
    files: { ".gitignore": "*.log\n", "app/.gitignore": "!keep.log\n", "app/keep.log": "", "app/drop.log": "", "top.log": "", "app/main.py": "" },
    folders: ["app"],
  },
  {
    name: "tracked files stay although ignored",
    files: { ".gitignore": "*.log\nbuild/\n", "tracked.log": "", "untracked.log": "", "build/out.js": "", "build/keep.js": "", "src/a.py": "" },
    // Not listed from inside build/: a folder named explicitly is copied whole although git ignores it (hashing.md).
    tracked: ["tracked.log", "build/keep.js"],
  },
  {
    name: "case-sensitive",
    files: { ".gitignore": "*.TXT\nSecret.md\n", "a.txt": "", "B.TXT": "", "secret.md": "", "Secret.md": "" },
  },
  {
    name: "no re-include below an ignored folder",
    files: { ".gitignore": "out/\n!out/keep.txt\n", "out/keep.txt": "", "out/x.txt": "", "out/.gitignore": "!x.txt\n", "in.txt": "" },
  },
  {
    name: "anchored, folder-only and double-star patterns",
    files: {
      ".gitignore": "/root-only\nlogs/\n**/tmp\na/**/b\ndoc/*.txt\n",
      "root-only": "",
      "sub/root-only": "",
      logs: "",
      "sub/logs/x": "",
      "tmp/x": "",
      "deep/tmp/y": "",
      "a/b": "",
      "a/x/y/b": "",
      "a/c": "",
      "doc/a.txt": "",
      "doc/sub/b.txt": "",
    },
    folders: ["sub", "doc"],
  },
  {
    name: "escapes, trailing spaces and classes",
    files: {
      ".gitignore": "\\#hash\n\\!bang\ntrail   \nspace\\ \nf[[:digit:]]\nq?\n[!a]z\n",
      "#hash": "",
      "!bang": "",
      trail: "",
      "space ": "",
      f1: "",
      fx: "",
      qé: "",
      qa: "",
      bz: "",
      az: "",
    },
  },
  {
    name: "a deeper .gitignore overrides, the last line of a file wins",
    files: {
      ".gitignore": "*.tmp\n!important.tmp\n",
      "x/.gitignore": "important.tmp\n",
      "important.tmp": "",
      "x/important.tmp": "",
      "x/y/important.tmp": "",
      "a.tmp": "",
    },
    folders: ["x", "x/y"],
  },
  {
    name: "ignore everything but",
    files: { ".gitignore": "*\n!*/\n!*.py\n", "a.py": "", "a.txt": "", "pkg/b.py": "", "pkg/b.txt": "", "pkg/.gitignore": "" },
    folders: ["pkg"],
  },
  {
    name: "a repository inside the repository",
    files: { ".gitignore": "*.log\n", "inner/.gitignore": "*.tmp\n", "inner/a.log": "", "inner/b.tmp": "", "inner/c.py": "", "outer.log": "", "outer.py": "" },
    folders: ["inner"],
  },
  {
    name: "tracked although ignored: names that look like patterns, and files deep in an ignored folder",
    files: {
      ".gitignore": "*.log\nbuild/\n",
      "a*b.log": "",
      "aXb.log": "",
      "q?.log": "",
      "[x].log": "",
      "sp ace.log": "",
      "é.log": "",
      "build/a/b/keep.js": "",
      "build/a/c.js": "",
      "build/other/d.js": "",
      "src/e.py": "",
    },
    tracked: ["a*b.log", "q?.log", "[x].log", "sp ace.log", "é.log", "build/a/b/keep.js"],
  },
  {
    name: "tracked although ignored, in a repository inside the repository",
    files: {
      ".gitignore": "*.log\n",
      "inner/.gitignore": "*.tmp\n",
      "inner/kept.tmp": "",
      "inner/dropped.tmp": "",
      "inner/c.py": "",
      "kept.log": "",
      "x.log": "",
    },
    tracked: ["kept.log"],
    innerTracked: ["kept.tmp"],
    folders: ["inner"],
  },
];

const gitEnv = (home: string) => ({
  ...process.env,
  HOME: home,
  XDG_CONFIG_HOME: home,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
});

function git(cwd: string, home: string, args: string[]): string {
  return execFileSync("git", args, { cwd, env: gitEnv(home), encoding: "latin1" });
}

function repository(c: GitCase): { root: string; home: string } {
  const home = mkdtempSync(path.join(tmpdir(), "imagespec-git-home-"));
  const root = mkdtempSync(path.join(tmpdir(), "imagespec-git-"));
  for (const [rel, content] of Object.entries(c.files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  git(root, home, ["init", "-q"]);
  if (c.name.includes("inside the repository")) git(path.join(root, "inner"), home, ["init", "-q"]);
  for (const file of c.tracked ?? []) git(root, home, ["add", "-f", file]);
  for (const file of c.innerTracked ?? []) git(path.join(root, "inner"), home, ["add", "-f", file]);
  return { root, home };
}

/** What git takes in `folder`: tracked files plus untracked ones no ignore rule leaves out, relative to the folder. */
function gitFiles(folder: string, home: string): string[] {
  const out = git(folder, home, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  return out
    .split("\0")
    .filter(Boolean)
    .map((p) => Buffer.from(p, "latin1").toString("utf8"))
    .sort();
}

async function imagespecFiles(folder: string): Promise<string[]> {
  const entries = await new FileHasher({ cacheFile: false }).listFolder(folder);
  return entries
    .filter((e) => e.type !== "dir")
    .map((e) => e.path)
    .sort();
}

describe(".gitignore, compared with git ls-files --cached --others --exclude-standard", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { root, home } = repository(c);
      for (const folder of ["", ...(c.folders ?? [])]) {
        const abs = path.join(root, folder);
        let expected = gitFiles(abs, home);
        // git names an untracked repository inside the repository by its folder, and takes nothing in it.
        if (c.name.includes("inside the repository") && folder === "") {
          expect(expected).toContain("inner/");
          expected = [...expected.filter((p) => p !== "inner/"), ...gitFiles(path.join(root, "inner"), home).map((p) => `inner/${p}`)].sort();
        }
        expect(await imagespecFiles(abs), `listing ${folder || "the repository root"}`).toEqual(expected);
      }
    });
  }

  it("asks git only when a rule ignores something, and says clearly when git is missing", async () => {
    const { root } = repository({ name: "no git", files: { ".gitignore": "*.log\n", "a.log": "", "src/b.py": "" } });
    const savedPath = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      expect(await imagespecFiles(path.join(root, "src"))).toEqual(["b.py"]);
      await expect(imagespecFiles(root)).rejects.toMatchObject({ code: "ENVIRONMENT", message: expect.stringContaining("git") });
      await expect(new FileHasher({ cacheFile: false }).listFolder(root, { select: "tracked" })).rejects.toMatchObject({ code: "ENVIRONMENT" });
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it("keeps symlinks as git lists them", async () => {
    const { root, home } = repository({ name: "links", files: { ".gitignore": "*.tmp\n", "real.txt": "" } });
    symlinkSync("real.txt", path.join(root, "link.txt"));
    symlinkSync("real.txt", path.join(root, "link.tmp"));
    expect(await imagespecFiles(root)).toEqual(gitFiles(root, home));
  });
});
