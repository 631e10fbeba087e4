import { fromNodeBase, withNodeProject } from "@imagespec/node";

/**
 * The two services of the pnpm workspace in ./workspace. Each image takes its own service and the workspace packages
 * it depends on (here the shared library) — their sources, their manifests, their entries of pnpm-lock.yaml — and
 * nothing else of the workspace, so an edit to one service changes neither the other's tag nor its image. Each is
 * built in a stage with dev dependencies (tsc), and runs with production dependencies only, as the user `node`.
 * The registry token in workspace/.npmrc is mounted as a secret for the installs, never stored.
 */
const base = fromNodeBase({ nodeVersion: "18", name: "imagespec-example/node-base" });

export const api = withNodeProject(base.clone({ name: "imagespec-example/node-api" }), {
  package: "workspace/apps/api",
  workspaceFiles: ["tsconfig.base.json"],
});

export const web = withNodeProject(base.clone({ name: "imagespec-example/node-web" }), {
  package: "workspace/apps/web",
  workspaceFiles: ["tsconfig.base.json"],
});
