/**
 * `pnpm test:unit`: this package's tests that need no engine, registry or network, so no test environment is
 * started. Every other test runs with the full suite (`pnpm test`, vitest.config.ts). A file that starts to need
 * the test environment fails here, for want of it, and leaves this list.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/context-tar.test.ts",
      "test/filesync.test.ts",
      "test/progress.test.ts",
      "test/render.test.ts",
      "test/cache-settings.test.ts",
    ],
    testTimeout: 120_000,
  },
});
