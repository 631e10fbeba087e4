/**
 * vitest `runner` for packages whose tests use Docker: vitest's own runner, except that a test with no retry of its
 * own gets one, on the terms of src/retry.ts: once, 10 s later, when its failure says an engine went away or an
 * engine of the test environment crashed while it ran. A config's retry condition can only be a RegExp on the
 * failure's message, and an assertion such as "expected 'ENVIRONMENT' to be 'BUILD_FAILED'" does not say why.
 *
 *   // vitest.config.ts
 *   test: { runner: "../../tools/test-env/runner.ts" }
 */
import type { RunnerTask } from "vitest";
import { VitestTestRunner } from "vitest/runners";
import { retryWhenEngineLost } from "./src/retry.js";

export default class EngineLostRetryRunner extends VitestTestRunner {
  // Before the test's first try: vitest reads the retry count once, before it starts trying.
  override async onBeforeRunTask(test: RunnerTask): Promise<void> {
    if (!test.retry) test.retry = retryWhenEngineLost(Date.now());
    await super.onBeforeRunTask(test);
  }
}
