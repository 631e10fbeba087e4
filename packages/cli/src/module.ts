/**
 * A user's module as images: imported through core's importModule (TypeScript without a build step), each export
 * classified, Promises awaited, and every error that comes out of it pointed at `file:line:column` and the export,
 * with the line it is about, as compilers and bundlers show them.
 *
 * Which exports are images: every Image or ImageSpec, and every Promise that resolves to one (async definitions
 * such as `loadImageSpecFile(...)` are natural). Exports that look like definitions but are not — a Promise that
 * resolves to something else or rejects, a plain object of ImageSpec fields that was never wrapped in
 * `new ImageSpec` — are errors naming the export, never silently skipped. Anything else (functions, constants,
 * option objects) is the module's business and is left alone, unless a command names it.
 */

import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Image, ImageSpecError, importModule, isImage, isImageSpec, isImageSpecError, SPEC_FIELDS } from "@imagespec/core";

/** A module's images by export name, what else it exports (for messages), and exports that are broken definitions. */
export interface ModuleImages {
  readonly images: Map<string, Image>;
  /** Exports that are not images, described: `a function`, `an object`, ... */
  readonly others: Map<string, string>;
  /** Exports that look like definitions but are not usable, each with the error that says why. */
  readonly problems: Map<string, ImageSpecError>;
  /** What exported ImageSpecs changed or ignored on the way (`spec.warnings`), by export name. */
  readonly warnings: Map<string, readonly string[]>;
}

interface Location {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const toSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const SPEC_KEYS = new Set(SPEC_FIELDS.flatMap((f) => [f, toSnake(f)]));
/** Fields that put something into the image: an object with one of them is a spec, not a set of shared options. */
const CONTENT_FIELDS = new Set(
  [
    "packages",
    "requirements",
    "condaPackages",
    "aptPackages",
    "baseImage",
    "sourceRoot",
    "copy",
    "env",
    "commands",
    "entrypoint",
    "cuda",
    "runtimePackages",
  ].flatMap((f) => [f, toSnake(f)]),
);

export async function importImages(absolute: string, shown: string): Promise<ModuleImages> {
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot load ${JSON.stringify(shown)}: no such file`, {
      value: shown,
      hint: "Give the module that exports your images, e.g. imagespec build images.ts (relative to the current folder).",
    });
  }
  let module: Record<string, unknown>;
  try {
    module = await importModule(absolute);
  } catch (error) {
    throw loadError(error, shown, undefined);
  }

  const images = new Map<string, Image>();
  const others = new Map<string, string>();
  const problems = new Map<string, ImageSpecError>();
  const warnings = new Map<string, readonly string[]>();
  const noteWarnings = (name: string, value: unknown) => {
    if (isImageSpec(value) && (value.warnings ?? []).length > 0) warnings.set(name, value.warnings);
  };
  const pending: Promise<void>[] = [];
  const seen = new Set<unknown>();
  // Named exports first, so an image that is also the default export is reported under its name.
  const entries = Object.entries(module).sort(([a], [b]) => Number(a === "default") - Number(b === "default"));
  for (const [name, value] of entries) {
    if (name === "__esModule") continue;
    if (name === "default" && seen.has(value)) continue;
    seen.add(value);
    if (isImage(value) || isImageSpec(value)) {
      images.set(name, toImage(value, shown, name));
      noteWarnings(name, value);
    } else if (isThenable(value)) {
      // Handled at once, so a rejection is never "unhandled" while other exports are looked at.
      images.set(name, undefined as unknown as Image); // keeps the export order
      pending.push(
        Promise.resolve(value).then(
          (resolved) => {
            if (isImage(resolved) || isImageSpec(resolved)) {
              images.set(name, toImage(resolved, shown, name));
              noteWarnings(name, resolved);
              return;
            }
            images.delete(name);
            problems.set(
              name,
              new ImageSpecError(
                "INVALID_SPEC",
                `Cannot use export ${JSON.stringify(name)} of ${shown}: it is a Promise that resolved to ${describe(resolved)}, not an Image or ImageSpec`,
                {
                  field: name,
                  value: name,
                  hint: 'Export an Image or ImageSpec, or a Promise of one (e.g. export const batch = loadImageSpecFile("batch.yaml")).',
                },
              ),
            );
          },
          (error: unknown) => {
            images.delete(name);
            problems.set(name, loadError(error, shown, name));
          },
        ),
      );
    } else if (looksLikeSpecFields(value)) {
      const keys = Object.keys(value as object);
      problems.set(
        name,
        new ImageSpecError(
          "INVALID_SPEC",
          `Cannot use export ${JSON.stringify(name)} of ${shown}: it is a plain object of ImageSpec fields (${keys.join(", ")}), not an ImageSpec`,
          {
            field: name,
            value: name,
            hint: `Wrap it: export const ${name === "default" ? "spec" : name} = new ImageSpec({ ... }). If it is not meant to be an image, do not export it from the module you build.`,
          },
        ),
      );
    } else {
      others.set(name, describe(value));
    }
  }
  await Promise.all(pending);
  return { images, others, problems, warnings };
}

function toImage(value: Image | import("@imagespec/core").ImageSpec, shown: string, name: string): Image {
  if (isImage(value)) return value;
  try {
    return value.toImage();
  } catch (error) {
    throw loadError(error, shown, name);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** A plain object whose keys are all ImageSpec fields and one of them puts something into the image. */
function looksLikeSpecFields(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => SPEC_KEYS.has(k)) && keys.some((k) => CONTENT_FIELDS.has(k));
}

/** `a function`, `an object`, `an array`, `undefined`, `the string "x"`: for "it is ..." messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === "object") return "an object";
  return `${/^[aeiou]/.test(typeof value) ? "an" : "a"} ${typeof value}`;
}

/**
 * An error from importing a module, or from an export, as an ImageSpecError that says where: the module's syntax
 * error at its file:line:column, or the user's line the error was thrown from (the first stack frame outside
 * imagespec and node_modules) and the export it belongs to, followed by that line with a caret under the column.
 */
export function loadError(error: unknown, shown: string, exportName: string | undefined): ImageSpecError {
  const message = error instanceof Error ? error.message : String(error);
  // jiti (babel) reports a syntax error as "ParseError: <what>" followed by " <file>:<line>:<column>".
  const parse = /^(?:ParseError|SyntaxError): ([^\n]*?)\s*\n\s*(\S+?):(\d+):(\d+)\s*$/.exec(message.trim());
  if (parse) {
    // babel counts columns from 0; editors and compilers from 1.
    const where: Location = { file: parse[2]!, line: Number(parse[3]), column: Number(parse[4]) + 1 };
    return new ImageSpecError("INVALID_SPEC", `Cannot load ${formatLocation(where)}: syntax error: ${parse[1]}${codeFrame(where)}`, {
      value: shown,
      hint: "Fix the syntax at that line (node or tsx would show the same error).",
      cause: error,
    });
  }
  const frame = userFrame(error);
  const exported = exportName ?? (frame ? exportAt(frame) : undefined);
  let where = frame;
  // A definition error names a field; point at the line that writes it when it is near.
  const field = isImageSpecError(error) ? error.field?.match(/^[A-Za-z_$][\w$]*/)?.[0] : undefined;
  if (frame && field) where = fieldLine(frame, field) ?? frame;
  const place = where ? formatLocation(where) : shown;
  const label = `${place}${exported !== undefined ? ` (export ${exported})` : ""}`;
  if (isImageSpecError(error)) {
    // The error already says what and why ("Cannot create ImageSpec: ..."): lead it with where.
    if (error.code === "FILE_NOT_FOUND" && exportName === undefined && frame === undefined) return error;
    return new ImageSpecError(error.code, `${label}: ${error.message}${where ? codeFrame(where) : ""}`, {
      ...(error.field !== undefined && { field: error.field }),
      ...(error.value !== undefined && { value: error.value }),
      ...(error.hint !== undefined && { hint: error.hint }),
      issues: error.issues,
      cause: error,
    });
  }
  const text = error instanceof Error && error.name && error.name !== "Error" && !message.startsWith(error.name) ? `${error.name}: ${message}` : message;
  return new ImageSpecError("INVALID_SPEC", `Cannot load ${label}: ${text.split("\n")[0]}${where ? codeFrame(where) : ""}`, {
    value: shown,
    hint: "Fix the module so that it runs (node or tsx would show the same error); --debug prints the stack.",
    cause: error,
  });
}

function formatLocation(where: Location): string {
  const rel = path.relative(process.cwd(), where.file);
  return `${rel && !rel.startsWith("..") ? rel : where.file}:${where.line}:${where.column}`;
}

/** Folders whose frames are imagespec's own, not the user's: the CLI's and core's installed packages. */
const OWN_DIRS = (() => {
  const dirs: string[] = [];
  const add = (file: string) => {
    try {
      dirs.push(realpathSync(path.dirname(path.dirname(file))));
    } catch {}
  };
  add(fileURLToPath(import.meta.url));
  try {
    add(fileURLToPath(import.meta.resolve("@imagespec/core")));
  } catch {}
  return dirs;
})();

/** The first stack frame in the user's code: not node's, not node_modules, not imagespec's own packages. */
function userFrame(error: unknown): Location | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  if (!stack) return undefined;
  for (const line of stack.split("\n").slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match) continue;
    const file = match[1]!.startsWith("file://") ? fileURLToPath(match[1]!) : match[1]!;
    if (file.split(path.sep).includes("node_modules")) continue;
    let real = file;
    try {
      real = realpathSync(file);
    } catch {
      continue;
    }
    if (OWN_DIRS.some((dir) => real.startsWith(`${dir}${path.sep}`))) continue;
    return { file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

function sourceLines(file: string): string[] | undefined {
  try {
    return readFileSync(file, "utf8").split(/\r?\n/);
  } catch {
    return undefined;
  }
}

/** The export whose top-level statement holds `where`'s line: `export const NAME =`, `export default`, or a `const` exported by name. */
function exportAt(where: Location): string | undefined {
  const lines = sourceLines(where.file);
  if (!lines) return undefined;
  for (let i = Math.min(where.line, lines.length) - 1; i >= 0; i--) {
    const line = lines[i]!;
    // A statement starts at column 0; closing brackets and comments there do not start one.
    if (!/^[A-Za-z@]/.test(line)) continue;
    const exported = /^export\s+(?:declare\s+)?(?:const|let|var|async\s+function\*?|function\*?|class)\s+([A-Za-z_$][\w$]*)/.exec(line);
    if (exported) return exported[1];
    if (/^export\s+default\b/.test(line)) return "default";
    const local = /^(?:const|let|var)\s+([A-Za-z_$][\w$]*)/.exec(line)?.[1];
    if (local && lines.some((l) => new RegExp(`^export\\s*\\{[^}]*\\b${local.replace(/\$/g, "\\$")}\\b`).test(l))) return local;
    return undefined;
  }
  return undefined;
}

/** The line, at or after `from` and within its statement, that writes `field` as a key. */
function fieldLine(from: Location, field: string): Location | undefined {
  const lines = sourceLines(from.file);
  if (!lines) return undefined;
  const key = new RegExp(`(^|[\\s{,])["']?(${field.replace(/\$/g, "\\$")})["']?\\s*:`);
  for (let i = from.line - 1; i < lines.length; i++) {
    if (i > from.line - 1 && /^[A-Za-z@]/.test(lines[i]!)) break; // the next statement
    const match = key.exec(lines[i]!);
    if (match) return { file: from.file, line: i + 1, column: match.index + match[1]!.length + 1 };
  }
  return undefined;
}

/** The line at `where` with a caret under its column, as compilers show it. */
function codeFrame(where: Location): string {
  const text = sourceLines(where.file)?.[where.line - 1];
  if (text === undefined) return "";
  const gutter = String(where.line);
  const caret = `${" ".repeat(gutter.length)} | ${text.slice(0, Math.max(0, where.column - 1)).replace(/[^\t]/g, " ")}^`;
  return `\n\n${gutter} | ${text}\n${caret}`;
}
