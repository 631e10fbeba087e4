import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", authoring: "src/authoring.ts", files: "src/files-entry.ts" },
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
