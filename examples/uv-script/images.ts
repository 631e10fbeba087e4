import { fileURLToPath } from "node:url";
import { fromUvScript } from "@imagespec/python";

/**
 * report.py's `# /// script` block says which Python it needs and what it imports; fromUvScript reads it, installs the
 * dependencies and copies the script, which becomes the entrypoint. `installer: "pip"`: uv (the default installer)
 * comes from ghcr.io, which these machines cannot reach.
 */
export const report = fromUvScript("report.py", {
  root: fileURLToPath(new URL(".", import.meta.url)),
  name: "imagespec-example/uv-script",
  pythonVersion: "3.11",
  installer: "pip",
  entrypoint: true,
});
