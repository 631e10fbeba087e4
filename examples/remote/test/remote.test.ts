import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

describe("examples/remote", () => {
  it("builds on the remote pool with no local engine, then runs each image locally", async () => {
    // Forced: on a machine whose registry kept an earlier run's images, a skip would show no builder at all.
    const result = await execa("bash", [path.join(here, "run.sh")], { reject: false, env: { CI: "true", IMAGESPEC_FORCE_PUSH: "true" } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.split("\n")).toEqual(["alpha", "beta", "gamma"]);
    // Built by the remote builder: the local engine was unreachable for imagespec.
    expect(result.stderr).toMatch(/\((remote)\)/);
    expect(result.stderr).not.toMatch(/\(docker\)/);
  });
});
