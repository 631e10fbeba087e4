/**
 * The one module every value goes through on its way into a Dockerfile, a shell command or a build.envd file.
 * Each function either returns text that, parsed by its reader, gives back exactly the input, or throws: nothing
 * a user writes can add an instruction, a shell command or a Starlark statement that was not asked for. Where no
 * text reads back exactly (a line break in a Dockerfile word, non-ASCII in a `--mount` flag, half of a UTF-16
 * surrogate pair anywhere), the value is refused. The property tests in packages/core/test/hostile hold each function against
 * its real reader: sh, JSON, the Docker engine's Dockerfile parser, Python's parser for Starlark literals.
 */

import { ImageSpecError, showValue } from "./errors.js";
import { parseImageReference } from "./reference.js";

/**
 * BuildKit's Dockerfile parser refuses a line longer than this many bytes ("dockerfile line greater than max allowed
 * size"); every instruction imagespec writes is one line.
 */
export const DOCKERFILE_LINE_LIMIT = 65_535;

/** Half of a UTF-16 surrogate pair: it has no UTF-8 form, so every reader would see U+FFFD instead. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Why a string cannot be written as UTF-8 text at all, or undefined. */
export function textProblem(value: string): string | undefined {
  if (LONE_SURROGATE.test(value)) return "it contains half of a UTF-16 surrogate pair (not a character; it would arrive as U+FFFD)";
  return undefined;
}

/** POSIX shell single quoting: `it's` becomes `'it'"'"'s'`. Safe for every byte except NUL. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw unquotable(value, "a shell argument", "it contains NUL");
  check(value, "a shell argument");
  // Plain words stay plain, except one that would read as an assignment (`A=`) where a command is expected.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** A shell command line from arguments, each quoted. */
export function shellJoin(args: readonly string[]): string {
  return args.map(shellQuote).join(" ");
}

/**
 * Dockerfile exec form (`["a", "b"]`): a JSON array on one line. Docker parses it as JSON, so JSON escapes
 * (including `\n`) give back the exact strings, and it can never span lines.
 */
export function dockerfileJsonArray(args: readonly string[]): string {
  for (const arg of args) {
    if (arg.includes("\0")) throw unquotable(arg, "a Dockerfile exec-form argument", "it contains NUL");
    check(arg, "a Dockerfile exec-form argument");
  }
  return JSON.stringify(args);
}

/**
 * A double-quoted Dockerfile word, for ENV, LABEL, WORKDIR, COPY destinations: `\`, `"` and `$` are escaped so no
 * variable is expanded. Dockerfile syntax has no way to write a newline inside a word, so a value with one is refused
 * here; builders pass such values another way (a build argument).
 */
export function dockerfileWord(value: string): string {
  if (/[\r\n\0]/.test(value)) throw unquotable(value, "a Dockerfile word", "it contains a newline or NUL");
  check(value, "a Dockerfile word");
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

/** True when `dockerfileWord` can write the value. */
export function fitsDockerfileWord(value: string): boolean {
  return !/[\r\n\0]/.test(value) && textProblem(value) === undefined;
}

/**
 * Why `value` cannot be one option value of `RUN --mount=...`, or undefined when it can. Two readers meet there, and
 * only what both read back exactly is accepted:
 * - BuildKit's Dockerfile parser reads instruction flags byte by byte: a byte of a multi-byte UTF-8 character that
 *   Go calls a space (0x85, 0xA0: in à, Å, ą, †, NBSP, NEL) ends the flag, and the rest of the line runs as the
 *   command; every other non-ASCII byte is read as a Latin-1 character and written back double-encoded. So only
 *   printable ASCII.
 * - Newer BuildKit (Dockerfile 1.4+) then expands each option value as a shell word (`$VAR`, quotes, backslashes);
 *   the engines of Docker 20.10 do not. So no `$`, quote or backslash, which the two would read differently.
 */
export function mountValueProblem(value: string): string | undefined {
  if (value === "") return "it is empty";
  const text = textProblem(value);
  if (text !== undefined) return text;
  const outside = /[^\x20-\x7e]/u.exec(value);
  if (outside) {
    return `it contains ${describeCharacter(outside[0])}; BuildKit reads --mount flags byte by byte, so only printable ASCII arrives as written (a non-ASCII character can end the flag and run the rest as a command)`;
  }
  const special = /[$\\'"]/.exec(value);
  if (special)
    return `it contains ${JSON.stringify(special[0])}, which newer BuildKit versions expand or unquote in --mount options and older ones keep as written`;
  return undefined;
}

/**
 * One `key=value` option of `RUN --mount=...` (see `mountValueProblem` for what is refused): BuildKit splits mount
 * options as CSV, so a value with a comma is written as a CSV-quoted field.
 */
export function mountOption(key: string, value: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(key)) throw unquotable(key, "a mount option name", "it is not lowercase letters, digits and '-'");
  const problem = mountValueProblem(value);
  if (problem !== undefined) throw unquotable(value, `the mount option ${key}`, problem);
  const field = `${key}=${value}`;
  return field.includes(",") ? `"${field}"` : field;
}

/** True when `mountOption` can write the value. */
export function fitsMountOption(value: string): boolean {
  return mountValueProblem(value) === undefined;
}

/**
 * One `--name=value` flag of a Dockerfile instruction, e.g. `RUN --mount=...` with a value joined from `mountOption`
 * fields. The Dockerfile parser ends a flag at whitespace and removes quotes and backslashes before BuildKit reads
 * the value, so each of those is escaped with a backslash; it reads bytes, so only printable ASCII is accepted.
 */
export function dockerfileFlag(name: string, value: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw unquotable(name, "a Dockerfile flag name", "it is not lowercase letters, digits and '-'");
  const outside = /[^\x20-\x7e]/u.exec(value);
  if (outside)
    throw unquotable(
      value,
      `the Dockerfile flag --${name}`,
      `it contains ${describeCharacter(outside[0])}; BuildKit reads instruction flags byte by byte, so only printable ASCII arrives as written`,
    );
  return `--${name}=${value.replace(/[ "'\\]/g, (c) => `\\${c}`)}`;
}

/**
 * An image reference on a `FROM` line: only text that parses as a reference (`[registry/]name[:tag][@digest]`, the
 * distribution grammar) is written, so nothing after it can add a flag, a stage name or an instruction.
 */
export function dockerfileImageReference(value: string): string {
  if (parseImageReference(value) === undefined) {
    throw unquotable(value, "an image reference on a FROM line", "it is not an image reference ([registry/]name[:tag][@digest], lowercase name)");
  }
  return value;
}

/** A Starlark (build.envd) string literal. Escapes make newlines, quotes and backslashes literal. */
export function starlarkString(value: string): string {
  if (value.includes("\0")) throw unquotable(value, "a Starlark string", "it contains NUL");
  check(value, "a Starlark string");
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === "\\") out += "\\\\";
    else if (char === '"') out += '\\"';
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return `${out}"`;
}

/** A Starlark list of string literals. */
export function starlarkList(values: readonly string[]): string {
  return `[${values.map(starlarkString).join(", ")}]`;
}

/** A character for a message: its code point, and the character itself when it is printable. */
export function describeCharacter(char: string): string {
  const code = char.codePointAt(0)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || /[\p{Cf}\p{Zl}\p{Zp}\p{Zs}\p{Cs}]/u.test(char) ? hex : `${JSON.stringify(char)} (${hex})`;
}

function check(value: string, what: string): void {
  const problem = textProblem(value);
  if (problem !== undefined) throw unquotable(value, what, problem);
}

function unquotable(value: string, what: string, why: string): ImageSpecError {
  return new ImageSpecError("INVALID_SPEC", `Cannot write ${showValue(value)} as ${what}: ${why}`, { value });
}
