import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    runner: "../../tools/test-env/runner.ts",
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
