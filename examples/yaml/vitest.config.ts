import { defineConfig } from "vitest/config";
import { retryWhenEngineLost } from "../../tools/test-env/src/retry.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    retry: retryWhenEngineLost,
    runner: "../../tools/test-env/runner.ts",
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
