import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
