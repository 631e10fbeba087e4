import { defineConfig } from "@imagespec/core";

// Nothing to register here: discovery finds imagespec-builder-export because package.json depends on it.
export default defineConfig({
  builders: { export: { outDir: "exported" } },
});
