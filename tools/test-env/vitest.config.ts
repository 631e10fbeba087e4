import { defineConfig } from "vitest/config";
import { retryWhenEngineLost } from "./src/retry.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./global-setup.ts"],
    retry: retryWhenEngineLost,
    runner: "./runner.ts",
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
