import { defineConfig } from "vitest/config";
import { retryWhenEngineLost } from "../../tools/test-env/src/retry.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real test environment: Docker engine, local registries, seeded offline Python base image.
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    retry: retryWhenEngineLost,
    runner: "../../tools/test-env/runner.ts",
    testTimeout: 600_000,
    hookTimeout: 900_000,
  },
});
