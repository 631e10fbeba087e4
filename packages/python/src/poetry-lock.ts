/**
 * poetry.lock: parsing, and the freshness check poetry itself makes (`poetry.lock is not consistent with
 * pyproject.toml`): the lock's `content-hash` against the sha256 of the relevant part of pyproject.toml, serialized
 * the way Python's `json.dumps(..., sort_keys=True)` does. Poetry 1.x hashes `[tool.poetry]`'s dependency keys;
 * poetry 2 adds `[project]`'s and, from 2.2, `[dependency-groups]`. A lock that matches any of them is fresh.
 */

import { createHash } from "node:crypto";
import { ImageSpecError } from "@imagespec/core/authoring";
import { normalizeName } from "./names.js";
import { isTable, parseToml, stringList, table, type TomlTable } from "./toml.js";

export interface PoetryLockFile {
  readonly file: string;
  readonly hash: string | undefined;
}

export interface PoetryLockPackage {
  readonly name: string;
  readonly version: string;
  /** `main`, `dev`, ... (lock 1.x `category`; lock 2.x `groups`). */
  readonly groups: readonly string[];
  readonly optional: boolean;
  readonly files: readonly PoetryLockFile[];
  /** `[package.source]`: type (`legacy`, `git`, `directory`, `file`, `url`) and url. */
  readonly source: TomlTable | undefined;
}

export interface PoetryLock {
  readonly lockVersion: string;
  readonly contentHash: string;
  readonly pythonVersions: string | undefined;
  readonly packages: readonly PoetryLockPackage[];
}

export function parsePoetryLock(text: string, file: string): PoetryLock {
  const data = parseToml(text, `the poetry lock ${file}`, { field: "lock" });
  const bad = (why: string) =>
    new ImageSpecError("INVALID_SPEC", `Cannot read the poetry lock ${file}: ${why}`, {
      field: "lock",
      value: file,
      hint: "Regenerate it with `poetry lock --no-update`.",
    });
  const metadata = table(data.metadata);
  if (!metadata) throw bad("it has no [metadata] table; is it a poetry.lock?");
  const lockVersion = typeof metadata["lock-version"] === "string" ? metadata["lock-version"] : "1.0";
  const major = Number.parseInt(lockVersion, 10);
  if (!(major >= 1 && major <= 2)) throw bad(`it is lock-version ${lockVersion}; this package reads lock-version 1.x and 2.x`);
  const contentHash = metadata["content-hash"];
  if (typeof contentHash !== "string" || !/^[0-9a-f]{64}$/.test(contentHash)) throw bad("its [metadata] has no sha256 content-hash");
  // Lock 1.x keeps file hashes in [metadata.files], by package name; 2.x in each package's `files`.
  const legacyFiles = table(metadata.files) ?? {};
  const packages = data.package ?? [];
  if (!Array.isArray(packages)) throw bad("`package` is not an array of tables");
  return {
    lockVersion,
    contentHash,
    pythonVersions: typeof metadata["python-versions"] === "string" ? metadata["python-versions"] : undefined,
    packages: packages.map((p, i) => {
      if (!isTable(p) || typeof p.name !== "string" || typeof p.version !== "string") throw bad(`package[${i}] has no name or version`);
      const files = Array.isArray(p.files) ? p.files : Array.isArray(legacyFiles[p.name]) ? (legacyFiles[p.name] as unknown[]) : [];
      return {
        name: normalizeName(p.name),
        version: p.version,
        groups: stringList(p.groups) ?? (typeof p.category === "string" ? [p.category] : ["main"]),
        optional: p.optional === true,
        files: files.filter(isTable).map((f) => ({ file: String(f.file), hash: typeof f.hash === "string" ? f.hash : undefined })),
        source: table(p.source),
      };
    }),
  };
}

// ----------------------------------------------------------------------------------------------------- content hash

const LEGACY_KEYS = ["dependencies", "source", "extras", "dev-dependencies"];
const RELEVANT_KEYS = [...LEGACY_KEYS, "group"];
const PROJECT_KEYS = ["requires-python", "dependencies", "optional-dependencies"];

/** The content hashes the poetry versions in use would compute for this pyproject.toml (1.x, 2.0/2.1, 2.2+). */
export function poetryContentHashes(pyproject: TomlTable): string[] {
  const poetry = table(table(pyproject.tool)?.poetry) ?? {};
  const project = table(pyproject.project) ?? {};
  const groups = table(pyproject["dependency-groups"]);

  const legacy: Record<string, unknown> = {};
  for (const key of RELEVANT_KEYS) {
    const data = poetry[key];
    if (data === undefined && !LEGACY_KEYS.includes(key)) continue;
    legacy[key] = data ?? null;
  }
  const hashes = [legacy];

  const projectContent: Record<string, unknown> = {};
  for (const key of PROJECT_KEYS) if (project[key] !== undefined) projectContent[key] = project[key];
  if (Object.keys(projectContent).length > 0) {
    const poetryContent: Record<string, unknown> = {};
    for (const key of RELEVANT_KEYS) if (poetry[key] !== undefined) poetryContent[key] = poetry[key];
    const v2 = { project: projectContent, tool: { poetry: poetryContent } };
    hashes.push(v2);
    if (groups) hashes.push({ ...v2, "dependency-groups": groups });
  } else if (groups) {
    hashes.push({ ...legacy, "dependency-groups": groups });
  }
  return hashes.map((content) => createHash("sha256").update(pythonJson(content), "utf8").digest("hex"));
}

/** `json.dumps(value, sort_keys=True)` as CPython writes it (separators `, ` and `: `, ASCII only). */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return pythonFloat(value);
  if (typeof value === "string") return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (value instanceof Date) return pythonJson(String(value));
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys.map((k) => `${pythonJson(k)}: ${pythonJson((value as Record<string, unknown>)[k])}`).join(", ")}}`;
}

/** Python's float repr: shortest round-trip digits, scientific below 1e-4 and from 1e16 (`1e-05`, `1e+16`), else `1.0`, `0.5`. */
function pythonFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
  const [mantissa, exponentText] = n.toExponential().split("e") as [string, string];
  const exponent = Number(exponentText);
  if (n !== 0 && (exponent < -4 || exponent >= 16)) return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  const fixed = String(n);
  return /[.e]/.test(fixed) ? fixed : `${fixed}.0`;
}

// ----------------------------------------------------------------------------------------------------- freshness

/** Why the lock is stale (empty: fresh). */
export function poetryLockStaleness(pyproject: TomlTable, lock: PoetryLock): string[] {
  const expected = poetryContentHashes(pyproject);
  if (expected.includes(lock.contentHash)) return [];
  return [
    `its content-hash ${lock.contentHash.slice(0, 12)}… does not match pyproject.toml's dependency sections (expected ${expected.map((h) => `${h.slice(0, 12)}…`).join(" or ")}): pyproject.toml changed after the lock was made`,
  ];
}

/** The project's Python constraint: `[tool.poetry.dependencies] python`, else `[project] requires-python`. */
export function poetryPythonConstraint(pyproject: TomlTable): { value: string; field: string } | undefined {
  const python = table(table(table(pyproject.tool)?.poetry)?.dependencies)?.python;
  if (typeof python === "string") return { value: python, field: "tool.poetry.dependencies.python" };
  const requires = table(pyproject.project)?.["requires-python"];
  if (typeof requires === "string") return { value: requires, field: "project.requires-python" };
  return undefined;
}

/** Whether the project declares a `dev` group (so `--without dev` is accepted by every poetry version). */
export function hasPoetryDevGroup(pyproject: TomlTable): boolean {
  const poetry = table(table(pyproject.tool)?.poetry);
  return table(poetry?.group)?.dev !== undefined || poetry?.["dev-dependencies"] !== undefined;
}
