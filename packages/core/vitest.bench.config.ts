import { defineConfig } from "vitest/config";

// Benchmarks need no Docker: no globalSetup here.
export default defineConfig({
  test: {
    benchmark: { include: ["bench/**/*.bench.ts"] },
  },
});
