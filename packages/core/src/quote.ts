/**
 * The one module every value goes through on its way into a Dockerfile, a shell command or a build.envd file.
 * Each function either returns text that, parsed by its reader, gives back exactly the input, or throws: nothing
 * a user writes can add an instruction, a shell command or a Starlark statement that was not asked for.
 */

import { ImageSpecError, showValue } from "./errors.js";

/** POSIX shell single quoting: `it's` becomes `'it'"'"'s'`. Safe for every byte except NUL. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw unquotable(value, "a shell argument", "it contains NUL");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
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
  for (const arg of args) if (arg.includes("\0")) throw unquotable(arg, "a Dockerfile exec-form argument", "it contains NUL");
  return JSON.stringify(args);
}

/**
 * A double-quoted Dockerfile word, for ENV, LABEL, WORKDIR, COPY destinations and `--mount` values: `\`, `"` and
 * `$` are escaped so no variable is expanded. Dockerfile syntax has no way to write a newline inside a word, so a
 * value with one is refused here; builders pass such values another way (a build argument).
 */
export function dockerfileWord(value: string): string {
  if (/[\r\n\0]/.test(value)) throw unquotable(value, "a Dockerfile word", "it contains a newline or NUL");
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

/** True when `dockerfileWord` can write the value. */
export function fitsDockerfileWord(value: string): boolean {
  return !/[\r\n\0]/.test(value);
}

/**
 * One `key=value` option of `RUN --mount=...`: BuildKit splits mount options on commas (CSV), so a value with a
 * comma, quote or space is written as a CSV-quoted field.
 */
export function mountOption(key: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw unquotable(value, `the mount option ${key}`, "it contains a newline or NUL");
  const field = `${key}=${value}`;
  return /[",\s]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/**
 * One `--name=value` flag of a Dockerfile instruction, e.g. `RUN --mount=...` with a value joined from `mountOption`
 * fields. The Dockerfile parser ends a flag at whitespace and removes quotes and backslashes before BuildKit reads
 * the value, so each of those is escaped with a backslash; a flag cannot span lines.
 */
export function dockerfileFlag(name: string, value: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw unquotable(name, "a Dockerfile flag name", "it is not lowercase letters, digits and '-'");
  if (/[\r\n\0]/.test(value)) throw unquotable(value, `the Dockerfile flag --${name}`, "it contains a newline or NUL");
  return `--${name}=${value.replace(/[\s"'\\]/g, (c) => `\\${c}`)}`;
}

/** A Starlark (build.envd) string literal. Escapes make newlines, quotes and backslashes literal. */
export function starlarkString(value: string): string {
  if (value.includes("\0")) throw unquotable(value, "a Starlark string", "it contains NUL");
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

function unquotable(value: string, what: string, why: string): ImageSpecError {
  return new ImageSpecError("INVALID_SPEC", `Cannot write ${showValue(value)} as ${what}: ${why}`, { value });
}
