import { copyFile, lstat, mkdir, readlink, symlink } from "node:fs/promises";
import path from "node:path";
import { run } from "./run.js";

/**
 * Copies the repository's working tree — the files git tracks plus the untracked ones it does not ignore, as they
 * are on disk (so pending changesets and uncommitted edits come along; node_modules, dist and .git do not) — into
 * `into`, and makes it a git repository of its own with one commit: `changeset publish` tags releases, and those
 * tags must land there, never in the real repository.
 */
export async function copyWorkingTree(repo: string, into: string): Promise<void> {
  const listed = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repo });
  const files = [...new Set(listed.split("\0").filter(Boolean))];
  for (const file of files) {
    const from = path.join(repo, file);
    const stat = await lstat(from).catch(() => undefined);
    if (stat === undefined) continue; // deleted in the working tree, not yet in the index
    const to = path.join(into, file);
    await mkdir(path.dirname(to), { recursive: true });
    if (stat.isSymbolicLink()) await symlink(await readlink(from), to);
    else if (stat.isFile()) await copyFile(from, to); // keeps the mode (the executable bit of scripts)
  }
  const git = (args: string[]) =>
    run("git", ["-c", "user.name=imagespec release rehearsal", "-c", "user.email=release@127.0.0.1", "-c", "commit.gpgsign=false", ...args], { cwd: into });
  await git(["init", "--quiet", "--initial-branch=main"]);
  await git(["add", "--all"]);
  await git(["commit", "--quiet", "--message", "working tree of the repository under test"]);
}

/** Commits everything in a copy made by copyWorkingTree (changesets reads the commit of each changeset). */
export async function commitAll(dir: string, message: string): Promise<void> {
  const git = (args: string[]) =>
    run("git", ["-c", "user.name=imagespec release rehearsal", "-c", "user.email=release@127.0.0.1", "-c", "commit.gpgsign=false", ...args], { cwd: dir });
  await git(["add", "--all"]);
  await git(["commit", "--quiet", "--allow-empty", "--message", message]);
}
