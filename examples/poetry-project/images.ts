import { Image } from "@imagespec/core";
import { withPoetryProject } from "@imagespec/python";

/**
 * The poetry project in this folder: its locked dependencies, then the project itself. pyproject.toml and
 * poetry.lock enter the tag by content, and a lock that no longer matches pyproject.toml is an error before
 * anything builds.
 */
export const app = withPoetryProject(Image.fromDebianBase({ pythonVersion: "3.11", name: "imagespec-example/poetry-project" }), {
  installMode: "project",
}).withEntrypoint(["python", "-m", "poetry_demo"]);
