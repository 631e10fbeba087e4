/**
 * One more run for a test that a crashed Docker engine failed. Debian's dockerd 20.10 can crash under concurrent
 * BuildKit builds (moby/buildkit#2303); tools/test-env/supervise starts it again within seconds, and the tests
 * that were building at that moment deserve one more run. Any other failure is never retried.
 *
 *   // vitest.config.ts of a package whose tests use Docker
 *   import { retryWhenEngineLost } from "../../tools/test-env/src/retry.js";
 *   test: { retry: retryWhenEngineLost, runner: "../../tools/test-env/runner.ts" }
 *
 * The config's condition can only read the failure's message; the runner gives each test a condition that
 * also asks the engines' logs whether one crashed while the test ran (an assertion like "expected 'ENVIRONMENT'
 * to be 'BUILD_FAILED'" does not say why).
 */
import { readFileSync } from "node:fs";
import path from "node:path";

/** Messages that say an engine went away: refused connections on its socket, a reset in the middle of a build. */
const ENGINE_LOST_MESSAGE =
  /no Docker engine answers|Cannot connect to the Docker daemon|docker\.sock|went away while|ECONNRESET|socket hang up|connection reset by peer/;

/** Restarting an engine takes a few seconds; a test that started in that gap failed because of the same crash. */
const RESTART_GAP_MS = 20_000;

export const retryWhenEngineLost = { count: 1, delay: 10_000, condition: ENGINE_LOST_MESSAGE };

/** When (ms since the epoch) tools/test-env/supervise found an engine of the test environment dead. */
export function engineCrashTimes(stateDir = process.env.IMAGESPEC_TEST_ENV_DIR ?? "/tmp/imagespec-test-env"): number[] {
  const times: number[] = [];
  for (const log of [path.join(stateDir, "dockerd.log"), path.join(stateDir, "remote-engine", "dockerd.log")]) {
    let text: string;
    try {
      text = readFileSync(log, "utf8");
    } catch {
      continue;
    }
    for (const match of text.matchAll(/^supervise: .* exited with code \d+ at (\S+); restarting it$/gm)) {
      const time = Date.parse(match[1] ?? "");
      if (!Number.isNaN(time)) times.push(time);
    }
  }
  return times;
}

/** The retry condition of a test that started at `startedAt`: its failure says an engine went away, or one crashed since. */
export function engineLostSince(startedAt: number, crashTimes: () => number[] = engineCrashTimes): (error: { message?: string }) => boolean {
  return (error) => ENGINE_LOST_MESSAGE.test(error.message ?? "") || crashTimes().some((time) => time >= startedAt - RESTART_GAP_MS);
}
