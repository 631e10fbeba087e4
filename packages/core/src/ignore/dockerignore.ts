/**
 * .dockerignore, exactly as Docker reads and applies it: moby/patternmatcher's `ignorefile.ReadAll` for the file
 * (a UTF-8 BOM dropped, `#` comments only at the very start of a line, Go's TrimSpace, `filepath.Clean`, a leading `/`
 * dropped) and its `PatternMatcher` for matching (case-sensitive; Go's filepath.Match syntax check; the pattern turned
 * into a Go regular expression, with Go's meaning; `MatchesUsingParentResults`, so a path inherits what its folder
 * matched). Excluded folders are re-entered only when an exception starts with the folder's path, as Docker's context
 * walk does. Invalid patterns are refused, naming the file and the line, where Docker refuses them.
 */

import { ImageSpecError } from "../errors.js";
import { GoRegexpError, goRegExp } from "./go-regexp.js";

/** Where a pattern comes from, for messages: the ignore file (as the user would name it) and the 1-based line. */
export interface PatternOrigin {
  readonly file: string;
  readonly line: number;
}

interface Pattern {
  readonly cleaned: string;
  readonly exclusion: boolean;
  readonly origin: PatternOrigin;
  readonly match: (path: string) => boolean;
}

/** Per pattern, whether it matched the folder (or a folder above it): patternmatcher's MatchInfo. */
export type DockerMatchInfo = readonly boolean[];

const BOM = "\uFEFF";

/** Go's unicode.IsSpace, which strings.TrimSpace trims (JavaScript's trim() differs: it trims U+FEFF, keeps U+0085). */
const GO_SPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, "gu");
export const goTrimSpace = (s: string) => s.replace(TRIM, "");

/** Go's path.Clean (filepath.Clean on Linux). */
export function goCleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  return rooted ? `/${joined}` : joined || ".";
}

/** The lines of an ignore file as Go's bufio.ScanLines splits them (`\n`, one trailing `\r` dropped). */
function scanLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}

/** One rule of an ignore file as ReadAll normalises it, with its origin. */
export interface DockerignoreLine {
  readonly pattern: string;
  readonly origin: PatternOrigin;
}

/** ignorefile.ReadAll: the normalised patterns of a .dockerignore, each with its line. */
export function readDockerignore(text: string, file: string): DockerignoreLine[] {
  const out: DockerignoreLine[] = [];
  scanLines(text).forEach((raw, index) => {
    const line = index === 0 && raw.startsWith(BOM) ? raw.slice(1) : raw;
    if (line.startsWith("#")) return;
    let pattern = goTrimSpace(line);
    if (pattern === "") return;
    const invert = pattern.startsWith("!");
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goCleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    out.push({ pattern: invert ? `!${pattern}` : pattern, origin: { file, line: index + 1 } });
  });
  return out;
}

/** The syntax check patternmatcher runs through Go's filepath.Match: `[` classes closed and well formed, no trailing `\`. */
function filepathMatchSyntaxError(pattern: string): string | undefined {
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "\\") {
      if (i + 1 >= chars.length) return "a trailing '\\' escapes nothing";
      i++;
    } else if (c === "[") {
      i++;
      if (chars[i] === "^") i++;
      let ranges = 0;
      for (;;) {
        if (i >= chars.length) return "a '[' is never closed";
        if (chars[i] === "]" && ranges > 0) break;
        const lo = escapedChar(chars, i);
        if (lo.error) return lo.error;
        i = lo.next;
        if (chars[i] === "-") {
          const hi = escapedChar(chars, i + 1);
          if (hi.error) return hi.error;
          i = hi.next;
        }
        ranges++;
      }
    }
  }
  return undefined;
}

function escapedChar(chars: readonly string[], i: number): { next: number; error?: string } {
  const c = chars[i];
  if (c === undefined) return { next: i, error: "a '[' is never closed" };
  if (c === "-" || c === "]") return { next: i, error: `'${c}' cannot start a range in '[...]'` };
  if (c === "\\") {
    if (i + 1 >= chars.length) return { next: i, error: "a '[' is never closed" };
    return { next: i + 2 };
  }
  return { next: i + 1 };
}

const ESCAPED = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

/** patternmatcher's compile: exact, prefix and suffix patterns are compared as strings, the rest as a Go regexp. */
function compile(cleaned: string): (path: string) => boolean {
  const chars = Array.from(cleaned);
  let re = "^";
  let type: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  let token = 0;
  for (let i = 0; i < chars.length; i++, token++) {
    const c = chars[i]!;
    if (c === "*") {
      if (chars[i + 1] === "*") {
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          if (type === "exact") type = "prefix";
          else {
            re += ".*";
            type = "regexp";
          }
        } else {
          re += "(.*/)?";
          type = "regexp";
        }
        if (token === 0) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (c === "?") {
      re += "[^/]";
      type = "regexp";
    } else if (ESCAPED.has(c)) {
      re += `\\${c}`;
    } else if (c === "\\") {
      if (i + 1 < chars.length) {
        re += `\\${chars[++i]}`;
        type = "regexp";
      } else {
        re += "\\";
      }
    } else if (c === "[" || c === "]") {
      re += c;
      type = "regexp";
    } else {
      re += c;
    }
  }
  switch (type) {
    case "exact":
      return (path) => path === cleaned;
    case "prefix": {
      const prefix = cleaned.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case "suffix": {
      const suffix = cleaned.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
    }
    default: {
      const regexp = goRegExp(`${re}$`);
      return (path) => regexp.test(path);
    }
  }
}

function invalid(origin: PatternOrigin, pattern: string, why: string): ImageSpecError {
  return new ImageSpecError(
    "INVALID_SPEC",
    `Cannot read ${origin.file} line ${origin.line}: ${JSON.stringify(pattern)} is not a valid pattern (${why}); Docker refuses it too`,
    {
      field: origin.file,
      value: pattern,
      hint: "Fix or remove that line. Patterns are Go filepath.Match globs: escape a literal '[', '*', '?' or '\\' with '\\'.",
    },
  );
}

/** A .dockerignore's patterns, ready to match paths relative to the context (slash-separated). */
export class DockerIgnore {
  readonly #patterns: Pattern[];
  /** Whether any pattern is an exception (`!`). */
  readonly exclusions: boolean;

  constructor(lines: readonly DockerignoreLine[]) {
    const patterns: Pattern[] = [];
    for (const { pattern: raw, origin } of lines) {
      // patternmatcher.New: TrimSpace, Clean, then the exclusion mark.
      let p = goTrimSpace(raw);
      if (p === "") continue;
      p = goCleanPath(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw invalid(origin, raw, 'a lone "!" excludes nothing: an exception needs a pattern');
        exclusion = true;
        p = p.slice(1);
      }
      const syntax = filepathMatchSyntaxError(p);
      if (syntax) throw invalid(origin, raw, syntax);
      let match: (path: string) => boolean;
      try {
        match = compile(p);
      } catch (error) {
        if (error instanceof GoRegexpError) throw invalid(origin, raw, `as a Go regular expression: ${error.message}`);
        throw error;
      }
      patterns.push({ cleaned: p, exclusion, origin, match });
    }
    this.#patterns = patterns;
    this.exclusions = patterns.some((p) => p.exclusion);
  }

  static parse(text: string, file: string): DockerIgnore {
    return new DockerIgnore(readDockerignore(text, file));
  }

  get size(): number {
    return this.#patterns.length;
  }

  /**
   * patternmatcher's MatchesUsingParentResults: whether `path` is excluded, given what its folder's patterns matched
   * (undefined for an entry at the top). Patterns are read in order; an inclusion is only tried while the path is not
   * excluded, an exception only while it is.
   */
  match(path: string, parent: DockerMatchInfo | undefined): { excluded: boolean; info: DockerMatchInfo } {
    let matched = false;
    const info: boolean[] = new Array(this.#patterns.length).fill(false);
    this.#patterns.forEach((pattern, i) => {
      let match = parent?.[i] ?? false;
      if (!match) {
        if (pattern.exclusion !== matched) return;
        match = pattern.match(path);
      }
      info[i] = match;
      if (match) matched = !pattern.exclusion;
    });
    return { excluded: matched, info };
  }

  /** Whether Docker walks into an excluded folder: only when an exception starts with the folder's path. */
  mayReinclude(dir: string): boolean {
    const prefix = `${dir}/`;
    return this.#patterns.some((p) => p.exclusion && `${p.cleaned}/`.startsWith(prefix));
  }
}
