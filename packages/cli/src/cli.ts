#!/usr/bin/env node
/** The `imagespec` binary. */

import { main } from "./main.js";
import { drain } from "./output.js";

// `imagespec tag images.ts | head -1`: a closed pipe is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const code = await main(process.argv.slice(2));
await Promise.all([drain(process.stdout), drain(process.stderr)]);
// Exit now rather than wait for idle keep-alive sockets (registry, Docker engine) to time out.
process.exit(code);
