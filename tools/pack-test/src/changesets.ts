import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export type Bump = "major" | "minor" | "patch";

export interface PendingChangeset {
  id: string;
  releases: Record<string, Bump>;
  summary: string;
}

/** The pending changesets in `dir/.changeset` (front matter of `"package": bump` lines, then the summary). */
export function pendingChangesets(dir: string): PendingChangeset[] {
  const folder = path.join(dir, ".changeset");
  return readdirSync(folder)
    .filter((file) => file.endsWith(".md") && file !== "README.md")
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(folder, file), "utf8");
      const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
      if (!match) throw new Error(`.changeset/${file} has no front matter`);
      const releases: Record<string, Bump> = {};
      for (const line of match[1]!.split("\n").filter((l) => l.trim())) {
        const release = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch)\s*$/.exec(line);
        if (!release) throw new Error(`.changeset/${file}: cannot read "${line}"`);
        releases[release[1]!] = release[2] as Bump;
      }
      return { id: file.slice(0, -3), releases, summary: match[2]!.trim() };
    });
}

const ORDER: Bump[] = ["patch", "minor", "major"];

/** The largest bump the changesets ask for each package. */
export function requestedBumps(changesets: readonly PendingChangeset[]): Map<string, Bump> {
  const bumps = new Map<string, Bump>();
  for (const changeset of changesets) {
    for (const [name, bump] of Object.entries(changeset.releases)) {
      const current = bumps.get(name);
      if (current === undefined || ORDER.indexOf(bump) > ORDER.indexOf(current)) bumps.set(name, bump);
    }
  }
  return bumps;
}
