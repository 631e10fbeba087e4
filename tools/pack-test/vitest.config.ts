import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real Docker engine and registries (a build in the pack-and-install test).
    globalSetup: ["../../tools/test-env/global-setup.ts"],
    runner: "../../tools/test-env/runner.ts",
    // Installs and the release rehearsal each keep two cores busy; one file at a time.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
