/**
 * yarn.lock of yarn 1 ("yarn lockfile v1"): entries keyed by the `name@range` patterns they satisfy. Workspace
 * packages are not in it: yarn links a dependency to the workspace package of that name. Yarn 2+ locks (with
 * `__metadata`) are refused with a clear error.
 */

import { ImageSpecError } from "@imagespec/core/authoring";
import type { LockReader, WorkspaceLink } from "./lock.js";
import { DEPENDENCY_FIELDS, type Workspace, type WorkspacePackage } from "./workspace.js";

interface YarnEntry {
  /** The patterns as written (quoted or not), in order. */
  readonly keys: readonly string[];
  /** The patterns unquoted: `ms@^2.1.3`. */
  readonly patterns: readonly string[];
  /** The entry's body lines, as written. */
  readonly body: readonly string[];
  readonly dependencies: readonly (readonly [string, string])[];
}

const INSTALLED_FIELDS = ["dependencies", "devDependencies", "optionalDependencies"] as const;

function unquote(text: string): string {
  return text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1).replace(/\\(.)/g, "$1") : text;
}

/** `"a@1", b@2` → ['"a@1"', "b@2"]: commas inside quotes do not split. */
function splitKeys(line: string): string[] {
  const keys: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "\\" && quoted) {
      current += c + (line[++i] ?? "");
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      keys.push(current.trim());
      current = "";
      continue;
    }
    current += c;
  }
  if (current.trim() !== "") keys.push(current.trim());
  return keys;
}

function parse(workspace: Workspace): { header: string[]; entries: YarnEntry[] } {
  const text = workspace.lockText;
  if (/^__metadata:/m.test(text)) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot read the yarn lock ${workspace.lockfile}: it was written by yarn 2 or later (it has __metadata), and imagespec reads yarn 1 locks`,
      {
        field: "lockfile",
        value: workspace.lockfile,
        hint: "Use yarn 1 (classic), pnpm or npm for this project, or build it from a Dockerfile (Image.fromDockerfile).",
      },
    );
  }
  const lines = text.split(/\r?\n/);
  const header: string[] = [];
  const entries: YarnEntry[] = [];
  let i = 0;
  while (i < lines.length && (lines[i]!.startsWith("#") || lines[i]!.trim() === "")) {
    if (lines[i]!.startsWith("#")) header.push(lines[i]!);
    i++;
  }
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "" || line.startsWith("#")) {
      i++;
      continue;
    }
    if (line.startsWith(" ") || !line.endsWith(":")) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot read the yarn lock ${workspace.lockfile}: line ${i + 1} (${JSON.stringify(line)}) is not an entry`, {
        field: "lockfile",
        value: workspace.lockfile,
      });
    }
    const keys = splitKeys(line.slice(0, -1));
    const body: string[] = [];
    const dependencies: [string, string][] = [];
    let section: string | undefined;
    for (i++; i < lines.length && lines[i]!.startsWith(" "); i++) {
      const bodyLine = lines[i]!;
      body.push(bodyLine);
      if (/^ {2}\S/.test(bodyLine)) {
        section = bodyLine.trim().endsWith(":") ? bodyLine.trim().slice(0, -1) : undefined;
      } else if (section === "dependencies" || section === "optionalDependencies") {
        const match = /^ {4}("(?:[^"\\]|\\.)*"|\S+) ("(?:[^"\\]|\\.)*"|\S+)$/.exec(bodyLine);
        if (match) dependencies.push([unquote(match[1]!), unquote(match[2]!)]);
      }
    }
    entries.push({ keys, patterns: keys.map(unquote), body, dependencies });
  }
  return { header, entries };
}

export function openYarnLock(workspace: Workspace): LockReader {
  const { header, entries } = parse(workspace);
  const byPattern = new Map<string, YarnEntry>();
  for (const entry of entries) for (const pattern of entry.patterns) byPattern.set(pattern, entry);
  const workspaceDirs = new Map(workspace.packages.filter((p) => p.name !== undefined).map((p) => [p.name!, p.dir]));

  /** Registry patterns a workspace package asks for (its workspace dependencies are links, not lock entries). */
  const patternsOf = (pkg: WorkspacePackage, fields: readonly (typeof DEPENDENCY_FIELDS)[number][]) => {
    const out: [field: string, pattern: string][] = [];
    for (const field of fields) {
      for (const [name, range] of Object.entries(pkg.manifest[field] ?? {})) if (!workspaceDirs.has(name)) out.push([field, `${name}@${range}`]);
    }
    return out;
  };

  return {
    staleness(packages) {
      const problems: string[] = [];
      for (const pkg of packages) {
        const who = `${pkg.dir}/package.json${pkg.name === undefined ? "" : ` (${pkg.name})`}`.replace(/^\.\//, "");
        for (const [field, pattern] of patternsOf(pkg, INSTALLED_FIELDS)) {
          if (!byPattern.has(pattern)) problems.push(`${who}: ${field} asks for ${pattern}, which is not in the lock`);
        }
      }
      return problems;
    },

    links(pkg) {
      const out: WorkspaceLink[] = [];
      for (const field of DEPENDENCY_FIELDS) {
        for (const name of Object.keys(pkg.manifest[field] ?? {})) {
          const dir = workspaceDirs.get(name);
          if (dir !== undefined && dir !== pkg.dir) out.push({ dir, field });
        }
      }
      return out;
    },

    prune(dirs) {
      const keep = new Set([".", ...dirs]);
      const reached = new Set<string>();
      const queue: string[] = [];
      const reach = (pattern: string) => {
        if (!reached.has(pattern)) {
          reached.add(pattern);
          queue.push(pattern);
        }
      };
      for (const pkg of workspace.packages) if (keep.has(pkg.dir)) for (const [, pattern] of patternsOf(pkg, INSTALLED_FIELDS)) reach(pattern);
      while (queue.length > 0) {
        const entry = byPattern.get(queue.pop()!);
        for (const [name, range] of entry?.dependencies ?? []) reach(`${name}@${range}`);
      }
      const out = [...header, "", ""];
      for (const entry of entries) {
        const keys = entry.keys.filter((_, k) => reached.has(entry.patterns[k]!));
        if (keys.length === 0) continue;
        out.push(`${keys.join(", ")}:`, ...entry.body, "");
      }
      return `${out.join("\n").replace(/\n+$/, "")}\n`;
    },
  };
}
