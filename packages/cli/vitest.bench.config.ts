import { defineConfig } from "vitest/config";

// Benchmarks measure the CLI alone: no Docker test environment.
export default defineConfig({
  test: {
    benchmark: { include: ["bench/**/*.bench.ts"] },
  },
});
