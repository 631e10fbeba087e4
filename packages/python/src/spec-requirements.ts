/**
 * `requirements: uv.lock` and `requirements: poetry.lock` in an ImageSpec, as flytekit reads them: the locked
 * dependencies of the project whose `pyproject.toml` sits next to the lock, without the project itself (flytekit
 * runs `uv sync --locked --no-dev --no-install-project` and `poetry install --no-root`). They become the same
 * `uvProject` / `poetryProject` layers `withUvProject` / `withPoetryProject` add, so a spec and the fluent API give
 * the same image and tag. Core finds these handlers through this package's plugin.
 */

import path from "node:path";
import type { Image } from "@imagespec/core";
import { ImageSpecError, type PipOptions, type RequirementsFileHandler } from "@imagespec/core/authoring";
import { withPoetryProject } from "./poetry-project.js";
import { withUvProject } from "./uv-project.js";

/** The pip options a lock install cannot honour, as the spec names them. */
function refuse(what: string, fields: readonly string[], why: string): never {
  throw new ImageSpecError(
    "INVALID_SPEC",
    `Cannot install requirements from ${what}: ${fields.join(" and ")} ${fields.length > 1 ? "have" : "has"} no effect there: ${why}`,
    {
      field: fields[0],
      hint: "Leave them out, or name the indexes in pyproject.toml (uv: [[tool.uv.index]], poetry: [[tool.poetry.source]]) and lock again.",
    },
  );
}

export const uvLockRequirements: RequirementsFileHandler = {
  fileName: "uv.lock",
  description: "the locked dependencies of the uv project beside it, installed with uv sync --locked (not the project itself)",
  apply(image: Image, { file, pip, builderConfig }): Image {
    const given = [pip.indexUrl !== undefined && "pipIndex", (pip.extraIndexUrls?.length ?? 0) > 0 && "pipExtraIndexUrl", pip.pre && "pre"].filter(
      Boolean,
    ) as string[];
    if (given.length > 0) refuse(file, given, "uv installs what uv.lock records, from the indexes it records them from");
    const uvImage = builderConfig.uvImage;
    if (uvImage !== undefined && typeof uvImage !== "string") {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot install requirements from ${file}: builderConfig.uvImage = ${JSON.stringify(uvImage)}: expected an image reference`,
        { field: "builderConfig.uvImage", value: uvImage },
      );
    }
    return withUvProject(image, {
      pyproject: path.posix.join(path.posix.dirname(file), "pyproject.toml"),
      lock: file,
      installMode: "dependencies",
      ...(pip.extraArgs?.length && { extraArgs: pip.extraArgs }),
      ...(pip.secretMounts?.length && { secretMounts: pip.secretMounts }),
      ...(uvImage !== undefined && { uvImage }),
    });
  },
};

export const poetryLockRequirements: RequirementsFileHandler = {
  fileName: "poetry.lock",
  description: "the locked dependencies of the poetry project beside it, installed with poetry install (not the project itself)",
  // builderConfig.uvImage does not reach here: the spec warns that it has no effect on a poetry.lock.
  apply(image: Image, { file, pip }: { file: string; pip: PipOptions }): Image {
    const given = [pip.indexUrl !== undefined && "pipIndex", (pip.extraIndexUrls?.length ?? 0) > 0 && "pipExtraIndexUrl", pip.pre && "pre"].filter(
      Boolean,
    ) as string[];
    if (given.length > 0) refuse(file, given, "poetry installs from the sources pyproject.toml names");
    return withPoetryProject(image, {
      pyproject: path.posix.join(path.posix.dirname(file), "pyproject.toml"),
      lock: file,
      installMode: "dependencies",
      ...(pip.extraArgs?.length && { extraArgs: pip.extraArgs }),
      ...(pip.secretMounts?.length && { secretMounts: pip.secretMounts }),
    });
  },
};
