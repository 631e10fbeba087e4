/**
 * A read-only view of a git revision for `explain --against`: `git worktree add --detach` into a temporary folder
 * (so smudge filters such as LFS apply, and the user's checkout and index are untouched), with the current
 * checkout's node_modules folders linked in so the old module resolves its imports. Removed afterwards.
 */

import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ImageSpecError } from "@imagespec/core";

const run = promisify(execFile);

async function git(cwd: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run("git", [...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

export interface Checkout {
  /** The revision's commit. */
  readonly commit: string;
  /** Maps a path in the current checkout to the same path in the revision's tree (paths outside the repository stay). */
  map(file: string): string;
  remove(): void;
}

export async function checkoutRevision(ref: string, fileInRepo: string, linkFrom: readonly string[]): Promise<Checkout> {
  const dir = path.dirname(fileInRepo);
  let top: string;
  try {
    top = await git(dir, ["rev-parse", "--show-toplevel"]);
  } catch (error) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot compare against ${JSON.stringify(ref)}: it is not a file, and ${fileInRepo} is not in a git repository`, {
      field: "against",
      value: ref,
      hint: "Give a git revision (a branch, tag or commit) of the repository your module is in, or a second module or spec file.",
      cause: error,
    });
  }
  let commit: string;
  try {
    commit = await git(top, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
  } catch (error) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot compare against ${JSON.stringify(ref)}: it is neither a file nor a revision of the git repository at ${top}`,
      {
        field: "against",
        value: ref,
        hint: "Give a branch, tag or commit (e.g. HEAD~1, main), or the path of a second module or spec file.",
        cause: error,
      },
    );
  }

  const temp = mkdtempSync(path.join(os.tmpdir(), "imagespec-against-"));
  const tree = path.join(temp, "tree");
  const links: string[] = [];
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    // Unlink our node_modules links first, so nothing below can ever reach the real folders.
    for (const link of links) rmSync(link, { force: true });
    try {
      execFileSync("git", ["worktree", "remove", "--force", tree], { cwd: top, stdio: "ignore" });
    } catch {
      // Removing the folder below is enough; `git worktree prune` forgets it.
      try {
        execFileSync("git", ["worktree", "prune"], { cwd: top, stdio: "ignore" });
      } catch {}
    }
    rmSync(temp, { recursive: true, force: true });
  };
  const onSignal = () => {
    remove();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  try {
    await git(top, ["worktree", "add", "--detach", "--quiet", tree, commit]);
  } catch (error) {
    process.off("SIGINT", onSignal);
    remove();
    throw new ImageSpecError(
      "ENVIRONMENT",
      `Cannot check out ${ref} (${commit.slice(0, 12)}) to compare against it: ${(error as Error).message.split("\n")[0]}`,
      { cause: error },
    );
  }

  const map = (file: string) => {
    const rel = path.relative(top, file);
    return rel.startsWith("..") || path.isAbsolute(rel) ? file : path.join(tree, rel);
  };
  // node_modules is not in git: link the current ones in at the same places, so imports resolve the same way.
  for (const start of linkFrom) {
    for (let d = start; ; d = path.dirname(d)) {
      const rel = path.relative(top, d);
      if (rel.startsWith("..") || path.isAbsolute(rel)) break;
      const modules = path.join(d, "node_modules");
      const target = path.join(tree, rel, "node_modules");
      if (existsSync(modules) && !existsSync(target)) {
        mkdirSync(path.dirname(target), { recursive: true });
        symlinkSync(modules, target, "dir");
        links.push(target);
      }
      if (d === top) break;
    }
  }
  return {
    commit,
    map,
    remove() {
      process.off("SIGINT", onSignal);
      remove();
    },
  };
}
