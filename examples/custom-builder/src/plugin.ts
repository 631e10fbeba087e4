import { definePlugin } from "@imagespec/core/authoring";
import { createExportBuilder, EXPORT_BUILDER_TYPE } from "./index.js";

/**
 * The plugin entry named by `"imagespec": { "plugin": "./dist/plugin.js" }` in package.json. Discovery imports it
 * only because a project lists this package in its dependencies; nothing is registered until then.
 *
 * Priority 10: above noop (0), below envd (50) and docker, so projects that also have those prefer them unless
 * their imagespec.config.ts pins `priorities: { export: 200 }`.
 */
export default definePlugin({
  specificationVersion: "v1",
  name: "imagespec-builder-export",
  builders: [
    {
      type: EXPORT_BUILDER_TYPE,
      priority: 10,
      description: "writes the Dockerfile and build context to a folder, for another system to build",
      create: ({ config }) => createExportBuilder(typeof config.outDir === "string" ? { outDir: config.outDir } : {}),
    },
  ],
});
