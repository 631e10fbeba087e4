/**
 * Regenerates docs/reference.md:  pnpm --filter @imagespec/docs gen
 * With --check, writes nothing and exits 1 when the committed file is stale.
 */

import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateReference, REFERENCE_FILE, REPO_ROOT } from "./reference.js";

const text = await generateReference();
const shown = path.relative(REPO_ROOT, REFERENCE_FILE);
if (process.argv.includes("--check")) {
  const committed = await readFile(REFERENCE_FILE, "utf8").catch(() => "");
  if (committed !== text) {
    console.error(`${shown} is stale: run \`pnpm --filter @imagespec/docs gen\` and commit it.`);
    process.exit(1);
  }
  console.error(`${shown} is up to date.`);
} else {
  await writeFile(REFERENCE_FILE, text);
  console.error(`wrote ${shown}`);
}
