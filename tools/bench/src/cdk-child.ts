/**
 * AWS CDK's asset fingerprint of a folder in a process of its own, as `cdk synth` pays for it:
 * `node dist/cdk-child.js <folder>`. CDK keeps its per-file digests in `$HOME/.cdk/cache/fingerprints` (one file per
 * folder); the bench points HOME at a folder of its own and empties it for a cold run. Leaves out what imagespec's
 * walk leaves out of the bench trees (`.git`, and the two files the tree's `.gitignore` names), so both hash the same
 * files. Prints one JSON line: the fingerprint, the time to load CDK and to fingerprint, the peak RSS.
 */

import { createRequire } from "node:module";

const [folder] = process.argv.slice(2);
if (!folder) {
  console.error("usage: cdk-child <folder>");
  process.exit(2);
}
const started = performance.now();
// Through require: aws-cdk-lib is CommonJS, and not bundled into the bench (tsup leaves a created require alone).
const cdkRequire = createRequire(import.meta.url);
const { FileSystem } = cdkRequire("aws-cdk-lib/core") as typeof import("aws-cdk-lib/core");
const loaded = performance.now();
const fingerprint = FileSystem.fingerprint(folder, { exclude: [".git", ".gitignore", ".bench-tree.json"] });
const ms = performance.now() - loaded;
console.log(JSON.stringify({ fingerprint, ms, loadMs: loaded - started, maxRssKiB: process.resourceUsage().maxRSS }));
