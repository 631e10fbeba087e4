import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The suite runs inside the builder author's vitest; never bundle a second copy of it.
  external: ["vitest", "@imagespec/core"],
});
