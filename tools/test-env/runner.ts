/**
 * vitest `runner` for packages whose tests use Docker: vitest's own runner, except that before each try a test gets
 * the retry of src/retry.ts with a condition that also asks the engines' logs whether one crashed while it ran.
 * A config's condition can only be a RegExp on the failure's message, and an assertion such as
 * "expected 'ENVIRONMENT' to be 'BUILD_FAILED'" does not say that the engine went away.
 */
import type { RunnerTask } from "vitest";
import { VitestTestRunner } from "vitest/runners";
import { engineLostSince, retryWhenEngineLost } from "./src/retry.js";

export default class EngineLostRetryRunner extends VitestTestRunner {
  override onBeforeTryTask(test: RunnerTask): void {
    test.retry = { ...retryWhenEngineLost, condition: engineLostSince(Date.now()) };
    super.onBeforeTryTask(test);
  }
}
