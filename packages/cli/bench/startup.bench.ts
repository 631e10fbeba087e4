/**
 * How long the CLI takes to start, measured as a user pays for it: a new process each time.
 * `--help` must stay close to bare `node`; `tag` adds core, the TypeScript loader and hashing.
 *
 *   pnpm --filter imagespec bench
 */

import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, bench, describe } from "vitest";
import { createProject } from "../test/support/project.js";

const bin = path.resolve(import.meta.dirname, "../dist/cli.js");
const project = createProject({
  files: {
    "images.ts": `import { Image } from "@imagespec/core";\nexport const app = Image.fromBase("python:3.12-slim", { name: "app" }).withPipPackages("requests");\n`,
  },
});
afterAll(() => project.remove());

const node = (args: string[]): void => {
  execFileSync(process.execPath, args, { cwd: project.dir, stdio: "ignore" });
};

describe("startup", () => {
  bench("node -e 0 (baseline)", () => node(["-e", "0"]), { iterations: 20 });
  bench("imagespec --help", () => node([bin, "--help"]), { iterations: 20 });
  bench("imagespec build --help", () => node([bin, "build", "--help"]), { iterations: 20 });
  bench("imagespec tag images.ts (loads core and a TypeScript module)", () => node([bin, "tag", "images.ts"]), { iterations: 10 });
});
