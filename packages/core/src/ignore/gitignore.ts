/**
 * .gitignore, as git applies it (dir.c and wildmatch.c): patterns and paths are compared byte by byte (so `?` is one
 * byte, as in git, and names are "binary strings": one character per byte), case-sensitively (core.ignorecase is
 * false on Linux). A pattern without a slash matches the basename at any depth; one with a slash is anchored at its
 * .gitignore's folder; a trailing `/` matches folders only; `!` re-includes. Across files, the deepest .gitignore
 * decides first and, inside one file, the last matching line.
 */

const Flag = { Negative: 1, MustBeDir: 2, NoDir: 4, EndsWith: 8 } as const;

interface GitPattern {
  readonly pattern: string;
  readonly flags: number;
  /** Length of the leading part without wildcards. */
  readonly literalLength: number;
}

/** The rules of one .gitignore: `base` is its folder relative to the repository root ("" at the root, else "dir/"). */
export interface GitignoreFile {
  readonly base: string;
  readonly patterns: readonly GitPattern[];
}

const isGlobSpecial = (c: string) => c === "*" || c === "?" || c === "[" || c === "\\";

function simpleLength(p: string): number {
  let i = 0;
  while (i < p.length && !isGlobSpecial(p[i]!)) i++;
  return i;
}

/** Parses a .gitignore given as a binary string (one character per byte). */
export function parseGitignore(bytes: string, base: string): GitignoreFile {
  let text = bytes.startsWith("\xEF\xBB\xBF") ? bytes.slice(3) : bytes;
  if (!text.endsWith("\n")) text += "\n";
  const patterns: GitPattern[] = [];
  for (let line of text.split("\n").slice(0, -1)) {
    if (line === "" || line.startsWith("#")) continue;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    line = trimTrailingSpaces(line);
    let flags = 0;
    let p = line;
    if (p.startsWith("!")) {
      flags |= Flag.Negative;
      p = p.slice(1);
    }
    if (p.endsWith("/")) {
      p = p.slice(0, -1);
      flags |= Flag.MustBeDir;
    }
    if (!p.includes("/")) flags |= Flag.NoDir;
    if (p.startsWith("*") && simpleLength(p.slice(1)) === p.length - 1) flags |= Flag.EndsWith;
    patterns.push({ pattern: p, flags, literalLength: Math.min(simpleLength(p), p.length) });
  }
  return { base, patterns };
}

/** Trailing spaces go, unless escaped with a backslash (dir.c trim_trailing_spaces). */
function trimTrailingSpaces(line: string): string {
  let end = line.length;
  let lastSpace = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === " ") {
      if (lastSpace < 0) lastSpace = i;
    } else {
      lastSpace = -1;
      if (c === "\\" && i + 1 < line.length) i++;
    }
  }
  if (lastSpace >= 0) end = lastSpace;
  return line.slice(0, end);
}

const ABORT_ALL = -1;
const NO_MATCH = 1;
const MATCH = 0;
const ABORT_TO_STARSTAR = -2;

const classTests: Record<string, (c: number) => boolean> = {
  alnum: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  blank: (c) => c === 32 || c === 9,
  cntrl: (c) => c < 32 || c === 127,
  digit: (c) => c >= 48 && c <= 57,
  graph: (c) => c > 32 && c < 127,
  lower: (c) => c >= 97 && c <= 122,
  print: (c) => c >= 32 && c < 127,
  punct: (c) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126),
  space: (c) => c === 32 || c === 9 || c === 10 || c === 13,
  upper: (c) => c >= 65 && c <= 90,
  xdigit: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
};

/** git's wildmatch (dowild) over binary strings; `pathname` is WM_PATHNAME (`*` and `?` never match `/`). */
function dowild(p: string, pi: number, text: string, ti: number, pathname: boolean): number {
  for (; pi < p.length; ti++, pi++) {
    let pc = p[pi]!;
    const tc = text[ti];
    if (tc === undefined && pc !== "*") return ABORT_ALL;
    switch (pc) {
      case "\\":
        pc = p[++pi] ?? "";
        if (tc !== pc) return NO_MATCH;
        continue;
      case "?":
        if (pathname && tc === "/") return NO_MATCH;
        continue;
      case "*": {
        let matchSlash: boolean;
        if (p[++pi] === "*") {
          const prev = pi - 2;
          while (p[++pi] === "*") {}
          if ((prev < 0 || p[prev] === "/") && (pi >= p.length || p[pi] === "/" || (p[pi] === "\\" && p[pi + 1] === "/"))) {
            if (p[pi] === "/" && dowild(p, pi + 1, text, ti, pathname) === MATCH) return MATCH;
            matchSlash = true;
          } else {
            matchSlash = false;
          }
        } else {
          matchSlash = !pathname;
        }
        if (pi >= p.length) {
          if (!matchSlash && text.indexOf("/", ti) >= 0) return NO_MATCH;
          return MATCH;
        }
        if (!matchSlash && p[pi] === "/") {
          const slash = text.indexOf("/", ti);
          if (slash < 0) return NO_MATCH;
          ti = slash;
          break;
        }
        let t = text[ti];
        for (;;) {
          if (t === undefined) break;
          if (!isGlobSpecial(p[pi]!)) {
            const want = p[pi];
            for (t = text[ti]; t !== undefined && (matchSlash || t !== "/"); t = text[ti]) {
              if (t === want) break;
              ti++;
            }
            if (t !== want) return NO_MATCH;
          }
          const matched = dowild(p, pi, text, ti, pathname);
          if (matched !== NO_MATCH) {
            if (!matchSlash || matched !== ABORT_TO_STARSTAR) return matched;
          } else if (!matchSlash && t === "/") {
            return ABORT_TO_STARSTAR;
          }
          t = text[++ti];
        }
        return ABORT_ALL;
      }
      case "[": {
        let c = p[++pi];
        if (c === "^") c = "!";
        const negated = c === "!";
        if (negated) c = p[++pi];
        const t = tc!.charCodeAt(0);
        let prev: string | undefined;
        let matched = false;
        do {
          if (c === undefined) return ABORT_ALL;
          if (c === "\\") {
            c = p[++pi];
            if (c === undefined) return ABORT_ALL;
            if (tc === c) matched = true;
          } else if (c === "-" && prev && p[pi + 1] !== undefined && p[pi + 1] !== "]") {
            c = p[++pi]!;
            if (c === "\\") {
              c = p[++pi];
              if (c === undefined) return ABORT_ALL;
            }
            if (t <= c.charCodeAt(0) && t >= prev.charCodeAt(0)) matched = true;
            c = "";
          } else if (c === "[" && p[pi + 1] === ":") {
            const start = pi + 2;
            let end = start;
            while (end < p.length && p[end] !== "]") end++;
            if (end >= p.length) return ABORT_ALL;
            if (end - start - 1 < 0 || p[end - 1] !== ":") {
              // Not "[:name:]": a plain '['.
              pi = start - 2;
              c = "[";
              if (tc === "[") matched = true;
              prev = c;
              c = p[++pi];
              if (c === "]") break;
              continue;
            }
            const test = classTests[p.slice(start, end - 1)];
            if (!test) return ABORT_ALL;
            if (test(t)) matched = true;
            pi = end;
            c = "";
          } else if (tc === c) {
            matched = true;
          }
          prev = c;
          c = p[++pi];
        } while (c !== "]");
        if (matched === negated || (pathname && tc === "/")) return NO_MATCH;
        continue;
      }
      default:
        if (tc !== pc) return NO_MATCH;
    }
  }
  return ti < text.length ? NO_MATCH : MATCH;
}

const wildmatch = (pattern: string, text: string, pathname: boolean) => dowild(pattern, 0, text, 0, pathname) === MATCH;

function matchesBasename(basename: string, p: GitPattern): boolean {
  if (p.literalLength === p.pattern.length) return p.pattern === basename;
  if (p.flags & Flag.EndsWith) return basename.length >= p.pattern.length - 1 && basename.endsWith(p.pattern.slice(1));
  return wildmatch(p.pattern, basename, false);
}

function matchesPathname(path: string, base: string, p: GitPattern): boolean {
  const pattern = p.pattern.startsWith("/") ? p.pattern.slice(1) : p.pattern;
  if (base && !path.startsWith(base)) return false;
  const name = path.slice(base.length);
  return wildmatch(pattern, name, true);
}

/** The decision of the last matching line of one file: `true` ignored, `false` re-included, undefined no match. */
export function gitignoreDecision(file: GitignoreFile, path: string, isDir: boolean): boolean | undefined {
  const slash = path.lastIndexOf("/");
  const basename = path.slice(slash + 1);
  for (let i = file.patterns.length - 1; i >= 0; i--) {
    const p = file.patterns[i]!;
    if (p.flags & Flag.MustBeDir && !isDir) continue;
    const hit = p.flags & Flag.NoDir ? matchesBasename(basename, p) : matchesPathname(path, file.base, p);
    if (hit) return !(p.flags & Flag.Negative);
  }
  return undefined;
}

/** Whether git ignores `path` (relative to the repository root), given the .gitignore files that apply, outermost first. */
export function isGitIgnored(files: readonly GitignoreFile[], path: string, isDir: boolean): boolean {
  for (let i = files.length - 1; i >= 0; i--) {
    const decision = gitignoreDecision(files[i]!, path, isDir);
    if (decision !== undefined) return decision;
  }
  return false;
}
