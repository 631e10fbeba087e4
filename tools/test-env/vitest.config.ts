import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./global-setup.ts"],
    runner: "./runner.ts",
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
