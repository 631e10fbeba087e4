/** Reading a project (pyproject.toml + its lock) and checking it before anything is built. */

import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ImageSpecError, relativePathHint } from "@imagespec/core/authoring";
import { parseSpecifierSet, poetryConstraint, pythonFits, pythonFitsPoetry } from "./pep440.js";
import { parsePoetryLock, type PoetryLock, poetryLockStaleness, poetryPythonConstraint } from "./poetry-lock.js";
import { parseToml, table, type TomlTable } from "./toml.js";
import { exportRequirements, type ExportedRequirements, parseUvLock, rootPackage, type UvLock, uvLockStaleness } from "./uv-lock.js";

export interface ProjectFiles {
  readonly root: string;
  readonly pyproject: string;
  readonly lock: string;
}

function missing(kind: string, field: string, rel: string, abs: string, error: unknown, hint: string): ImageSpecError {
  const code = (error as NodeJS.ErrnoException).code;
  return new ImageSpecError(
    "FILE_NOT_FOUND",
    `Cannot use the ${kind} ${field} = ${JSON.stringify(rel)}: ${code === "EISDIR" ? `${abs} is a folder, not a file` : `${abs} does not exist`}`,
    {
      field,
      value: rel,
      hint,
      cause: error,
    },
  );
}

/** Where a project file is, and the error when it cannot be read: the hint says how to make a missing lock. */
function projectFile(files: ProjectFiles, which: "pyproject" | "lock", kind: string, lockHint: string) {
  const rel = files[which];
  const abs = path.resolve(files.root, rel);
  const fail = (error: unknown) => missing(kind, which, rel, abs, error, which === "lock" ? lockHint : relativePathHint(files.root));
  return { abs, fail };
}

function readBothSync(files: ProjectFiles, kind: string, lockHint: string): { pyproject: string; lock: string } {
  const read = (which: "pyproject" | "lock") => {
    const file = projectFile(files, which, kind, lockHint);
    try {
      return readFileSync(file.abs, "utf8");
    } catch (error) {
      throw file.fail(error);
    }
  };
  return { pyproject: read("pyproject"), lock: read("lock") };
}

async function readBoth(files: ProjectFiles, kind: string, lockHint: string): Promise<{ pyproject: string; lock: string }> {
  const read = async (which: "pyproject" | "lock") => {
    const file = projectFile(files, which, kind, lockHint);
    try {
      return await readFile(file.abs, "utf8");
    } catch (error) {
      throw file.fail(error);
    }
  };
  return { pyproject: await read("pyproject"), lock: await read("lock") };
}

function stale(kind: string, files: ProjectFiles, problems: readonly string[], hint: string): ImageSpecError {
  const list = problems.length === 1 ? problems[0] : `\n  - ${problems.join("\n  - ")}`;
  return new ImageSpecError("INVALID_SPEC", `Cannot use the ${kind} lock ${files.lock}: it is stale against ${files.pyproject}: ${list}`, {
    field: "lock",
    value: files.lock,
    hint,
  });
}

// ------------------------------------------------------------------------------------------------------ uv

export interface UvProject {
  readonly pyproject: TomlTable;
  readonly lock: UvLock;
  readonly name: string;
  /** Set for `installer: "pip"`. */
  readonly exported: ExportedRequirements | undefined;
}

const UV_LOCK_HINT = "Run `uv lock` in the project and commit uv.lock.";

function checkUv(
  files: ProjectFiles,
  text: { pyproject: string; lock: string },
  options: { pythonVersion: string | undefined; installer: "uv" | "pip" },
): UvProject {
  const pyproject = parseToml(text.pyproject, `pyproject = ${JSON.stringify(files.pyproject)}`, { field: "pyproject" });
  const project = table(pyproject.project);
  if (!project || typeof project.name !== "string") {
    throw new ImageSpecError("INVALID_SPEC", `Cannot use the uv project ${files.pyproject}: it has no [project] table with a name`, {
      field: "pyproject",
      value: files.pyproject,
      hint: "A uv project declares [project] name = ... in pyproject.toml (a virtual workspace root is not supported).",
    });
  }
  const lock = parseUvLock(text.lock, files.lock);
  if (lock.members.length > 1) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot use the uv lock ${files.lock}: it locks a workspace of ${lock.members.length} members (${lock.members.join(", ")}), and workspaces are not supported`,
      {
        field: "lock",
        value: files.lock,
        hint: "Use one project per lock, or install the workspace with withCommands.",
      },
    );
  }
  const problems = uvLockStaleness(pyproject, lock);
  if (problems.length > 0) throw stale("uv", files, problems, `${UV_LOCK_HINT} \`uv sync --locked\` refuses a stale lock; this check runs before any build.`);
  checkRequiresPython("uv project", files.pyproject, project["requires-python"], "project.requires-python", options.pythonVersion);
  const exported = options.installer === "pip" ? exportRequirements(lock, rootPackage(lock, project.name)!, files.lock) : undefined;
  return { pyproject, lock, name: project.name, exported };
}

function checkRequiresPython(kind: string, file: string, requires: unknown, field: string, pythonVersion: string | undefined): void {
  if (typeof requires !== "string") return;
  const specifiers = parseSpecifierSet(requires);
  if (typeof specifiers === "string") {
    throw new ImageSpecError("INVALID_SPEC", `Cannot use the ${kind} ${file}: ${field} = ${JSON.stringify(requires)}: ${specifiers}`, {
      field,
      value: requires,
    });
  }
  if (pythonVersion !== undefined && !pythonFits(pythonVersion, specifiers)) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot install the ${kind} ${file} into Python ${pythonVersion}: its ${field} is ${JSON.stringify(requires)}`, {
      field: "pythonVersion",
      value: pythonVersion,
      hint: "Give the image a Python version the project supports (pythonVersion), or widen requires-python.",
    });
  }
}

export function loadUvProjectSync(files: ProjectFiles, options: { pythonVersion: string | undefined; installer: "uv" | "pip" }): UvProject {
  return checkUv(files, readBothSync(files, "uv project", UV_LOCK_HINT), options);
}

export async function loadUvProject(files: ProjectFiles, options: { pythonVersion: string | undefined; installer: "uv" | "pip" }): Promise<UvProject> {
  return checkUv(files, await readBoth(files, "uv project", UV_LOCK_HINT), options);
}

// ------------------------------------------------------------------------------------------------------ poetry

export interface PoetryProject {
  readonly pyproject: TomlTable;
  readonly lock: PoetryLock;
}

const POETRY_LOCK_HINT = "Run `poetry lock --no-update` (poetry 2: `poetry lock`) in the project and commit poetry.lock.";

function checkPoetry(files: ProjectFiles, text: { pyproject: string; lock: string }, pythonVersion: string | undefined): PoetryProject {
  const pyproject = parseToml(text.pyproject, `pyproject = ${JSON.stringify(files.pyproject)}`, { field: "pyproject" });
  if (!table(table(pyproject.tool)?.poetry) && !table(pyproject.project)) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot use the poetry project ${files.pyproject}: it has neither [tool.poetry] nor [project]`, {
      field: "pyproject",
      value: files.pyproject,
      hint: "Point pyproject at the poetry project's pyproject.toml.",
    });
  }
  const lock = parsePoetryLock(text.lock, files.lock);
  const problems = poetryLockStaleness(pyproject, lock);
  if (problems.length > 0)
    throw stale("poetry", files, problems, `${POETRY_LOCK_HINT} Poetry would install from a lock that no longer matches; this check runs before any build.`);
  const constraint = poetryPythonConstraint(pyproject);
  if (constraint && pythonVersion !== undefined) {
    const alternatives = poetryConstraint(constraint.value);
    if (typeof alternatives === "string") {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot use the poetry project ${files.pyproject}: ${constraint.field} = ${JSON.stringify(constraint.value)}: ${alternatives}`,
        {
          field: constraint.field,
          value: constraint.value,
        },
      );
    }
    if (!pythonFitsPoetry(pythonVersion, alternatives)) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot install the poetry project ${files.pyproject} into Python ${pythonVersion}: its ${constraint.field} is ${JSON.stringify(constraint.value)}`,
        {
          field: "pythonVersion",
          value: pythonVersion,
          hint: "Give the image a Python version the project supports (pythonVersion), or widen the project's Python constraint.",
        },
      );
    }
  }
  return { pyproject, lock };
}

export function loadPoetryProjectSync(files: ProjectFiles, pythonVersion: string | undefined): PoetryProject {
  return checkPoetry(files, readBothSync(files, "poetry project", POETRY_LOCK_HINT), pythonVersion);
}

export async function loadPoetryProject(files: ProjectFiles, pythonVersion: string | undefined): Promise<PoetryProject> {
  return checkPoetry(files, await readBoth(files, "poetry project", POETRY_LOCK_HINT), pythonVersion);
}
