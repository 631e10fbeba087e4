import { definePlugin } from "@imagespec/core/authoring";
import { createExportBuilder } from "./index.js";
// The entry package.json names: discovery imports it when a project depends on this package. Priority 10: above noop (0), below envd (50) and docker (100).
export default definePlugin({
  specificationVersion: "v1",
  name: "imagespec-builder-export",
  builders: [{ type: "export", priority: 10, description: "writes the Dockerfile to a folder, for another system to build", create: createExportBuilder }],
});
