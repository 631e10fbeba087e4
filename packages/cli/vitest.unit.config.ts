/**
 * `pnpm test:unit`: this package's tests that need no engine, registry or network, so no test environment is
 * started. Every other test runs with the full suite (`pnpm test`, vitest.config.ts). A file that starts to need
 * the test environment fails here, for want of it, and leaves this list.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/cli.test.ts",
      "test/tag.test.ts",
      "test/explain.test.ts",
      "test/settings.test.ts",
      "test/build.test.ts",
    ],
    setupFiles: ["test/support/setup.ts"],
    testTimeout: 120_000,
  },
});
