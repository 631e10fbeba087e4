import { defineConfig } from "tsup";

export default defineConfig({
  // One entry; every command is a separate chunk loaded on demand, so `--help` loads none of them.
  entry: ["src/cli.ts"],
  format: ["esm"],
  splitting: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
