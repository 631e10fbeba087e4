import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const example = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const imagespec = path.join(example, "node_modules", ".bin", "imagespec");
const run = () => execa("bash", [path.join(example, "run.sh")], { reject: false, env: { CI: "true" } });

/** The environment run.sh sets up: the test registry, and the offline seed image as the Debian base. */
function exampleEnv(): Record<string, string> {
  const registry = process.env.IMAGESPEC_TEST_REGISTRY;
  if (!registry) throw new Error("IMAGESPEC_TEST_REGISTRY is not set: the test environment (tools/test-env) did not start");
  return { CI: "true", IMAGESPEC_REGISTRY: registry, IMAGESPEC_DEBIAN_BASE_IMAGE: `${registry}/imagespec/python:{python_version}-slim-bookworm` };
}

const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

describe("examples/yaml", () => {
  it("builds spec.yaml with `imagespec build --image`, runs it, and skips the build the second time", async () => {
    const first = await run();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain("Hello from a YAML spec (Python 3.11)");
    expect(first.stdout).toMatch(/_{2,}/); // figlet's art came from apt_packages

    const second = await run();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/skipped/);
    expect(second.stdout).toContain("Hello from a YAML spec (Python 3.11)");
  });

  it("is the same image as the ImageSpec in images.ts: the same URI", async () => {
    const fromYaml = await execa(imagespec, ["tag", "--image", "spec.yaml"], { cwd: example, env: exampleEnv() });
    const fromTs = await execa(imagespec, ["tag", "images.ts", "spec"], { cwd: example, env: exampleEnv() });
    expect(fromYaml.stdout).toMatch(/^127\.0\.0\.1:\d+\/imagespec-example\/yaml:[a-z2-7]{26}$/);
    expect(fromTs.stdout).toBe(fromYaml.stdout);
  });

  it("names a misspelled field, its value and the right spelling, and exits 2", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "imagespec-yaml-"));
    temps.push(dir);
    await writeFile(path.join(dir, "spec.yaml"), 'name: broken\npython_versoin: "3.11"\napt_packages: [Figlet]\n');
    const result = await execa(imagespec, ["build", "--image", "spec.yaml"], { cwd: dir, reject: false, env: exampleEnv() });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("python_versoin");
    expect(result.stderr).toContain("did you mean python_version?");
    expect(result.stdout).toBe("");
  });
});
