import { defineConfig } from "vitest/config";

// The incremental-context bench builds on the real engine: the test environment comes up first.
export default defineConfig({
  test: {
    benchmark: { include: ["bench/**/*.bench.ts"] },
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
  },
});
