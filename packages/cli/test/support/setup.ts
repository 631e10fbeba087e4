/**
 * A test that fails while a command it started is still running (a timeout, most often) prints that command's
 * output so far: vitest's timeout alone says nothing about where a build was.
 */

import { beforeEach } from "vitest";
import { runningCommands } from "./project.js";

const TAIL_LINES = 60;

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    for (const command of runningCommands()) {
      const seconds = Math.round((Date.now() - command.startedAt) / 1000);
      const tail = (text: string) => text.split("\n").slice(-TAIL_LINES).join("\n");
      console.error(
        `still running after ${seconds} s: ${command.args.join(" ")}\n--- stderr so far (last ${TAIL_LINES} lines) ---\n${tail(command.stderr())}\n--- stdout so far ---\n${tail(command.stdout())}`,
      );
    }
  });
});
