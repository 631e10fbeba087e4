/**
 * TOML reading for pyproject.toml, uv.lock, poetry.lock and PEP 723 blocks (smol-toml, TOML 1.0). Integers are read
 * as bigint so that poetry's content hash can tell `1` from `1.0`, as Python's json.dumps does.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ImageSpecError } from "@imagespec/core/authoring";

let smolToml: typeof import("smol-toml") | undefined;
/** smol-toml, required on first use: plugin discovery imports this package on every command, and most never read TOML. */
const toml = () => (smolToml ??= createRequire(import.meta.url)("smol-toml") as typeof import("smol-toml"));

export type TomlTable = Record<string, unknown>;

/** Parses TOML text; `what` names it in errors ("pyproject.toml", "the script block of app.py"), `lineOffset` shifts line numbers. */
export function parseToml(text: string, what: string, options: { field?: string; lineOffset?: number; hint?: string } = {}): TomlTable {
  const { parse, TomlError } = toml();
  try {
    return parse(text, { integersAsBigInt: true }) as TomlTable;
  } catch (error) {
    if (error instanceof TomlError) {
      const line = (error.line ?? 0) + (options.lineOffset ?? 0);
      const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new ImageSpecError("INVALID_SPEC", `Cannot read ${what}: invalid TOML on line ${line}: ${reason}`, {
        field: options.field,
        value: line,
        hint: options.hint ?? "Fix the TOML syntax at that line.",
        cause: error,
      });
    }
    throw error;
  }
}

/** Reads and parses a TOML file of the image; a missing file is FILE_NOT_FOUND naming the field. */
export function readTomlFile(root: string, rel: string, field: string, hint: string): { text: string; data: TomlTable } {
  const abs = path.resolve(root, rel);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageSpecError(
      "FILE_NOT_FOUND",
      `Cannot read ${field} = ${JSON.stringify(rel)}: ${code === "EISDIR" ? `${abs} is a folder, not a file` : `${abs} does not exist`}`,
      {
        field,
        value: rel,
        hint,
        cause: error,
      },
    );
  }
  return { text, data: parseToml(text, `${field} = ${JSON.stringify(rel)}`, { field }) };
}

export function isTable(value: unknown): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function table(value: unknown): TomlTable | undefined {
  return isTable(value) ? value : undefined;
}

export function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? (value as string[]) : undefined;
}
