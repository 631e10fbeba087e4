import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/authoring.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // zod is bundled and tree-shaken (see src/zod.ts): its full entry loads ~95 modules, every locale among them.
  noExternal: ["zod"],
});
