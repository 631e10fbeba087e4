/**
 * One hashing run in a process of its own, as `imagespec build` pays for it: `node dist/hash-child.js <folder>
 * <cache dir or "none">`. Prints one JSON line: the digest, the files, the wall time and the peak RSS.
 */

import { FileHasher } from "@imagespec/core";

const [folder, cache] = process.argv.slice(2);
if (!folder || !cache) {
  console.error("usage: hash-child <folder> <cache dir | none>");
  process.exit(2);
}
const started = performance.now();
const hasher = new FileHasher({ cacheDir: cache === "none" ? false : cache });
const digest = await hasher.hashFolder(folder);
const ms = performance.now() - started;
console.log(JSON.stringify({ digest: digest.digest, files: digest.entries.length, ms, maxRssKiB: process.resourceUsage().maxRSS }));
