import { fileURLToPath } from "node:url";
import { Image } from "@imagespec/core";

// Paths are relative to this file's folder, wherever the command runs.
const root = fileURLToPath(new URL(".", import.meta.url));

// Both installed builders can take this one (a base, no layers): the export builder is chosen by priority
// (10, against noop's 0). Pin `priorities: { noop: 20 }` in imagespec.config.ts and noop takes it instead.
export const base = Image.fromBase("python:3.12-slim-bookworm", { root, name: "consumer-base", pythonVersion: "3.12" });

// Only the export builder can take this one: noop refuses images with layers.
export const app = Image.fromBase(base, { root, name: "consumer-app" })
  .withEnvVars({ GREETING: "hello from a third-party builder" })
  .withWorkdir("/app")
  .withEntrypoint(["python3", "-c", "import os; print(os.environ['GREETING'])"]);
