import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const example = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const imagespec = path.join(example, "node_modules", ".bin", "imagespec");

function exampleEnv(): Record<string, string> {
  const registry = process.env.IMAGESPEC_TEST_REGISTRY;
  if (!registry) throw new Error("IMAGESPEC_TEST_REGISTRY is not set: the test environment (tools/test-env) did not start");
  return { CI: "true", IMAGESPEC_REGISTRY: registry, IMAGESPEC_DEBIAN_BASE_IMAGE: `${registry}/imagespec/python:{python_version}-slim-bookworm` };
}

const script = path.join(example, "report.py");
let original: string | undefined;
afterAll(async () => {
  if (original !== undefined) await writeFile(script, original);
});

describe("examples/uv-script", () => {
  it("builds report.py with the Python and the packages its block asks for, and runs it", async () => {
    const result = await execa("bash", [path.join(example, "run.sh")], { reject: false, env: { CI: "true" } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^report: Python 3\.11, requests \d+\.\d+/m);
  });

  it("lists the script among the tag's inputs, and refuses a Python version the block excludes", async () => {
    const explain = await execa(imagespec, ["explain", "images.ts", "report"], { cwd: example, env: exampleEnv(), reject: false });
    expect(explain.exitCode, explain.stderr).toBe(0);
    expect(explain.stdout).toContain("layers[0].uvScript.script");
    original = await readFile(script, "utf8");
    await writeFile(script, original.replace('requires-python = ">=3.11"', 'requires-python = ">=3.12"'));
    const refused = await execa(imagespec, ["tag", "images.ts", "report"], { cwd: example, env: exampleEnv(), reject: false });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('Cannot build report.py with Python 3.11: the script\'s requires-python is ">=3.12"');
  });
});
