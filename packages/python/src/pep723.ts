/**
 * PEP 723 inline script metadata. The block is found with the PEP's reference regex,
 *
 *   (?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$
 *
 * written for JavaScript with Python's semantics (`^`/`$` at line breaks only, `.` anything but `\n`), on the text as
 * Python reads it (universal newlines: `\r\n` and `\r` become `\n`). Blocks of other types are ignored; a second
 * `script` block, or a `# /// script` line that no `# ///` closes, is an error naming the line.
 */

import { ImageSpecError, grammar } from "@imagespec/core/authoring";
import { parseSpecifierSet, type Specifier } from "./pep440.js";
import { isTable, parseToml, type TomlTable } from "./toml.js";

const BOL = "(?<=^|\\n)";
const EOL = "(?=\\n|$)";
/** The PEP's regex, Python semantics spelled out (no `m` flag: `^`/`$` here are the ends of the text). */
export const PEP723_REGEX = new RegExp(`${BOL}# /// (?<type>[a-zA-Z0-9-]+)${EOL}\\s(?<content>(?:${BOL}#(?:| [^\\n]*)${EOL}\\s)+)${BOL}# ///${EOL}`, "g");

export interface ScriptBlock {
  readonly type: string;
  /** 1-based line of the `# /// <type>` line. */
  readonly startLine: number;
  /** 1-based line of the closing `# ///`. */
  readonly endLine: number;
  /** The TOML inside, comment markers removed. */
  readonly content: string;
}

export interface ScriptMetadata {
  readonly dependencies: readonly string[];
  readonly requiresPython: string | undefined;
  readonly requiresPythonSpecifiers: readonly Specifier[];
  /** `[tool.uv]`, when present. */
  readonly uv: TomlTable | undefined;
  /** 1-based line of the block, for messages. */
  readonly line: number;
}

/** Python's universal newlines. */
export function universalNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

const lineAt = (text: string, index: number) => text.slice(0, index).split("\n").length;

/** Every metadata block of the text, of any type, in order. */
export function findBlocks(source: string): ScriptBlock[] {
  const text = universalNewlines(source);
  const blocks: ScriptBlock[] = [];
  for (const m of text.matchAll(PEP723_REGEX)) {
    const content = m
      .groups!.content!.split(/(?<=\n)/)
      .map((line) => (line.startsWith("# ") ? line.slice(2) : line.slice(1)))
      .join("");
    const startLine = lineAt(text, m.index);
    blocks.push({ type: m.groups!.type!, startLine, endLine: lineAt(text, m.index + m[0].length), content });
  }
  return blocks;
}

/**
 * The `script` block of a PEP 723 script, parsed and checked, or undefined when it has none. `file` names the
 * script in errors.
 */
export function readScriptMetadata(source: string, file: string): ScriptMetadata | undefined {
  const text = universalNewlines(source);
  const blocks = findBlocks(text);
  const scripts = blocks.filter((b) => b.type === "script");
  const fail = (why: string, line: number, hint: string) =>
    new ImageSpecError("INVALID_SPEC", `Cannot read the inline script metadata of ${file}: ${why}`, { field: "script", value: `${file}:${line}`, hint });

  if (scripts.length > 1) {
    throw fail(
      `it has ${scripts.length} \`# /// script\` blocks (lines ${scripts.map((b) => b.startLine).join(" and ")}); PEP 723 allows one`,
      scripts[1]!.startLine,
      "Merge them into one block.",
    );
  }
  // A `# /// script` line that is neither the start of a block nor inside one was never closed.
  text.split("\n").forEach((line, i) => {
    const n = i + 1;
    if (line !== "# /// script") return;
    if (blocks.some((b) => n >= b.startLine && n <= b.endLine)) return;
    throw fail(
      `the \`# /// script\` block opened on line ${n} is not closed`,
      n,
      "End the block with a line that is exactly `# ///`; every line in between is `#` alone or starts with `# `.",
    );
  });
  const block = scripts[0];
  if (!block) return undefined;

  const data = parseToml(block.content, `the inline script metadata of ${file}`, { field: "script", lineOffset: block.startLine });
  const problems: string[] = [];
  const dependencies = data.dependencies ?? [];
  if (!Array.isArray(dependencies) || !dependencies.every((d) => typeof d === "string")) {
    problems.push(`dependencies = ${JSON.stringify(dependencies, replacer)}: expected a list of PEP 508 requirements`);
  } else {
    dependencies.forEach((d, i) => {
      const why = grammar.checkPep508(d);
      if (why) problems.push(`dependencies[${i}] = ${JSON.stringify(d)}: ${why}`);
    });
  }
  const requiresPython = data["requires-python"];
  let specifiers: Specifier[] = [];
  if (requiresPython !== undefined) {
    if (typeof requiresPython !== "string")
      problems.push(`requires-python = ${JSON.stringify(requiresPython, replacer)}: expected a version specifier string such as ">=3.11"`);
    else {
      const parsed = parseSpecifierSet(requiresPython);
      if (typeof parsed === "string") problems.push(`requires-python = ${JSON.stringify(requiresPython)}: ${parsed}`);
      else specifiers = parsed;
    }
  }
  const tool = data.tool;
  if (tool !== undefined && !isTable(tool)) problems.push("tool: expected a table");
  const uv = isTable(tool) ? tool.uv : undefined;
  if (uv !== undefined && !isTable(uv)) problems.push("tool.uv: expected a table");
  if (problems.length > 0) {
    throw fail(
      problems.length === 1 ? problems[0]! : `\n  - ${problems.join("\n  - ")}`,
      block.startLine,
      `Fix the \`# /// script\` block that starts on line ${block.startLine}.`,
    );
  }
  return {
    dependencies: dependencies as string[],
    requiresPython: requiresPython as string | undefined,
    requiresPythonSpecifiers: specifiers,
    uv: uv as TomlTable | undefined,
    line: block.startLine,
  };
}

export const replacer = (_key: string, value: unknown) => (typeof value === "bigint" ? Number(value) : value);
