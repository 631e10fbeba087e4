/**
 * `pnpm test:unit`: this package's tests that need no engine, registry or network, so no test environment is
 * started. Every other test runs with the full suite (`pnpm test`, vitest.config.ts). A file that starts to need
 * the test environment fails here, for want of it, and leaves this list.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/config.test.ts",
      "test/discovery.test.ts",
      "test/files.test.ts",
      "test/flyte.test.ts",
      "test/gitignore-oracle.test.ts",
      "test/grammar.test.ts",
      "test/hostile/values.test.ts",
      "test/identity.test.ts",
      "test/platform.test.ts",
      "test/plugin.test.ts",
      "test/project.test.ts",
      "test/registry-client.test.ts",
      "test/registry-credentials.test.ts",
      "test/settings.test.ts",
      "test/spec.test.ts",
    ],
    testTimeout: 120_000,
  },
});
