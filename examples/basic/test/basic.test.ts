import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const run = () => execa("bash", [path.join(here, "..", "run.sh")], { reject: false, all: false, env: { CI: "true" } });

describe("examples/basic", () => {
  it("builds the image for real, runs it, and skips the build the second time", async () => {
    const first = await run();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain("Hello from imagespec, installed with pip!");
    expect(first.stdout).toMatch(/_{2,}/); // figlet's art came from the apt package

    const second = await run();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/skipped/);
    expect(second.stdout).toContain("Hello from imagespec, installed with pip!");
  });
});
