/**
 * Regenerates docs/reference.md and @imagespec/core's image-spec.schema.json:  pnpm --filter @imagespec/docs gen
 * With --check, writes nothing and exits 1 when a committed file is stale.
 */

import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateSpecJsonSchema, SCHEMA_FILE } from "./json-schema.js";
import { generateReference, REFERENCE_FILE, REPO_ROOT } from "./reference.js";

const outputs: [string, string][] = [
  [REFERENCE_FILE, await generateReference()],
  [SCHEMA_FILE, generateSpecJsonSchema()],
];
let stale = false;
for (const [file, text] of outputs) {
  const shown = path.relative(REPO_ROOT, file);
  if (process.argv.includes("--check")) {
    const committed = await readFile(file, "utf8").catch(() => "");
    if (committed !== text) {
      console.error(`${shown} is stale: run \`pnpm --filter @imagespec/docs gen\` and commit it.`);
      stale = true;
    } else {
      console.error(`${shown} is up to date.`);
    }
  } else {
    await writeFile(file, text);
    console.error(`wrote ${shown}`);
  }
}
if (stale) process.exit(1);
