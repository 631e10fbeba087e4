import { describe, expect, it } from "vitest";
import { docker, runImage, TEST_ENV_VARIABLES, testEnv } from "../src/index.js";

describe("seeded base image", () => {
  it("runs python3 3.11 by default", async () => {
    const { baseImage } = testEnv();
    expect(await runImage(baseImage, ["python3", "--version"])).toMatch(/^Python 3\.11\.\d+$/);
    expect(await runImage(baseImage, [])).toBe(""); // CMD ["python3"] with no stdin exits cleanly
  });

  it("has pip, venv, poetry, PATH and LANG like a python slim image", async () => {
    const { baseImage } = testEnv();
    const out = await runImage(
      baseImage,
      ["sh", "-c", 'python -m pip --version && python3 -m venv /tmp/v && poetry --version && echo "$PATH|$LANG|$GREETING"'],
      {
        env: { GREETING: "hi" },
      },
    );
    expect(out).toMatch(/^pip \d+/m);
    expect(out).toMatch(/Poetry \(version \d+/);
    expect(out).toContain("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|C.UTF-8|hi");
  });

  it("keeps apt pointed at deb.debian.org with no lists baked in", async () => {
    const { baseImage } = testEnv();
    const out = await runImage(
      baseImage,
      ["-c", "import os; print(open('/etc/apt/sources.list').read().strip()); print(sorted(os.listdir('/var/lib/apt/lists')))"],
      {
        entrypoint: "python3",
      },
    );
    expect(out).toBe("deb http://deb.debian.org/debian bookworm main\n['partial']");
  });

  it("is a BuildKit base where apt-get install works", async () => {
    const { baseImage } = testEnv();
    const tag = `imagespec-test-env-probe:${process.pid}`;
    const dockerfile = [
      `FROM ${baseImage}`,
      "RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*",
      "RUN jq --version > /jq-version",
    ].join("\n");
    try {
      await docker(["build", "--no-cache", "--progress", "plain", "-t", tag, "-"], { input: dockerfile });
      expect(await runImage(tag, ["cat", "/jq-version"])).toMatch(/^jq-1\./);
    } finally {
      await docker(["rmi", "-f", tag]).catch(() => undefined);
    }
  });

  it("is labelled with its seed hash", async () => {
    const labels = JSON.parse(await docker(["image", "inspect", "--format", "{{json .Config.Labels}}", testEnv().baseImage]));
    expect(labels["org.imagespec.test-env.seed-hash"]).toMatch(/^[0-9a-f]{12}$/);
  });

  it("surfaces a failing container's stderr", async () => {
    await expect(runImage(testEnv().baseImage, ["sh", "-c", "echo boom >&2; exit 3"])).rejects.toThrow(/exit code 3[\s\S]*boom/);
  });
});

describe("testEnv()", () => {
  it("names the missing variable", () => {
    const name = TEST_ENV_VARIABLES.registry;
    const saved = process.env[name];
    delete process.env[name];
    try {
      expect(() => testEnv()).toThrow(new RegExp(`Cannot read the test environment: ${name} is not set`));
    } finally {
      process.env[name] = saved;
    }
  });
});
