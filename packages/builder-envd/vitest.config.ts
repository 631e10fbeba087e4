import { defineConfig } from "vitest/config";

// envd cannot be installed on the test machines, and nothing here needs Docker: the envd binary is faked
// (test/fake-envd.ts) and rendered files are checked with Python's parser.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
