import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real test environment: Docker engine, local registries, seeded offline Python base image.
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    runner: "../../tools/test-env/runner.ts",
    testTimeout: 600_000,
    hookTimeout: 900_000,
  },
});
