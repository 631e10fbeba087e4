// Loaded with `node --import` (after trace-imports.mjs): gives Node 20's `module` an `enableCompileCache` like Node
// 22's that writes its call into $TRACE_IMPORTS_FILE, in order with the modules resolved, so a test on Node 20 sees
// whether the binary asks for the cache before it loads the CLI.
import { appendFileSync } from "node:fs";
import module from "node:module";

module.enableCompileCache ??= () => {
  appendFileSync(process.env.TRACE_IMPORTS_FILE, "enableCompileCache()\n");
  return { status: 1 };
};
