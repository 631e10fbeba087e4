import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

describe("examples/poetry-project", () => {
  it("builds the poetry project for real and runs it", async () => {
    const result = await execa("bash", [path.join(here, "run.sh")], { reject: false, env: { CI: "true" } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("Hello from a poetry project, installed with pip!");
  });

  it("refuses a lock that no longer matches pyproject.toml, before building", async () => {
    // A copy beside the original, so node_modules and the repo's scripts resolve the same way.
    const copy = mkdtempSync(path.join(here, "..", ".poetry-project-stale-"));
    try {
      cpSync(here, copy, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
      cpSync(path.join(here, "node_modules"), path.join(copy, "node_modules"), { recursive: true, verbatimSymlinks: true });
      const pyproject = path.join(copy, "pyproject.toml");
      writeFileSync(pyproject, readFileSync(pyproject, "utf8").replace('imagespec-greeting = "1.0.0"', 'imagespec-greeting = "1.0.0"\nrequests = "*"'));
      const result = await execa("pnpm", ["exec", "imagespec", "tag", "images.ts"], { cwd: copy, reject: false });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/poetry\.lock/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
