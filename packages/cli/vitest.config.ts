import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    runner: "../../tools/test-env/runner.ts",
    setupFiles: ["test/support/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
