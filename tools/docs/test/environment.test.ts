import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readDoc } from "../src/markdown.js";
import { REPO_ROOT } from "../src/reference.js";

/** Every `.ts` file under packages/<pkg>/src. */
function sources(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith(".ts")) files.push(full);
    }
  };
  const packages = path.join(REPO_ROOT, "packages");
  for (const pkg of readdirSync(packages)) {
    const src = path.join(packages, pkg, "src");
    try {
      if (statSync(src).isDirectory()) walk(src);
    } catch {
      // a package without sources
    }
  }
  return files;
}

describe("docs/configuration.md", () => {
  it("lists every IMAGESPEC_* variable the published packages read or set", () => {
    const found = new Map<string, string>();
    for (const file of sources()) {
      // A name ending in "_" is a prefix the code builds names from (internal build arguments), not a variable.
      for (const m of readFileSync(file, "utf8").matchAll(/\bIMAGESPEC_[A-Z0-9_]*[A-Z0-9]\b(?!_)/g)) {
        if (!found.has(m[0])) found.set(m[0], path.relative(REPO_ROOT, file));
      }
    }
    expect(found.size).toBeGreaterThan(5);
    const documented = readDoc("configuration.md");
    const missing = [...found].filter(([name]) => !documented.includes(`\`${name}\``)).map(([name, file]) => `${name} (read in ${file})`);
    expect(missing, "add these to the environment variables table of docs/configuration.md").toEqual([]);
  });
});
