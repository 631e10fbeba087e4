/**
 * One more run for a test that a crashed Docker engine failed. Debian's dockerd 20.10 can crash under concurrent
 * BuildKit builds (moby/buildkit#2303); tools/test-env/supervise starts it again within seconds, and the tests
 * that were building at that moment deserve one more run. Any other failure is never retried. Used by
 * tools/test-env/runner.ts, the vitest runner of every package whose tests use Docker.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

/** Messages that say an engine went away: refused connections on its socket, a reset in the middle of a build. */
const ENGINE_LOST_MESSAGE =
  /no Docker engine answers|Cannot connect to the Docker daemon|docker\.sock|went away while|ECONNRESET|socket hang up|connection reset by peer/;

/** Restarting an engine takes a few seconds; a test that started in that gap failed because of the same crash. */
const RESTART_GAP_MS = 20_000;

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

/**
 * The retry of a test that starts at `startedAt`: once, 10 s later (the engine is back within seconds), when its
 * failure says an engine went away, or when an engine crashed since shortly before it started.
 */
export function retryWhenEngineLost(startedAt: number, crashTimes: () => number[] = engineCrashTimes) {
  return {
    count: 1,
    delay: 10_000,
    condition: (error: { message?: string }) =>
      ENGINE_LOST_MESSAGE.test(error.message ?? "") || crashTimes().some((time) => time >= startedAt - RESTART_GAP_MS),
  };
}
