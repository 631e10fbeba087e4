import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./global-setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
