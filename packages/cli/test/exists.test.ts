/** `imagespec exists` against the real test registries: present 0, absent 1, unknown 3 with the reason. */

import { docker, testEnv } from "@imagespec/test-env";
import { afterAll, describe, expect, it } from "vitest";
import { createProject } from "./support/project.js";

const IMAGES = `
import { Image } from "@imagespec/core";
export const app = Image.fromBase("python:3.12-slim", { name: "app" }).withEnvVars({ RUN: "${Date.now()}" });
`;

interface ExistsJson {
  name: string;
  uri: string;
  status: string;
  digest: string | null;
  platforms: { platform: string; digest: string }[] | null;
  reason: string | null;
}

const project = createProject({ files: { "images.ts": IMAGES } });
afterAll(() => project.remove());

describe("exists", () => {
  it("exits 1 when the tag is absent and 0 once it is in the registry", async () => {
    const env = { IMAGESPEC_REGISTRY: `${testEnv().registry}/cli-exists` };
    const absent = await project.json<ExistsJson>(["exists", "images.ts", "app"], { env });
    expect(absent.result.code, absent.result.stderr).toBe(1);
    expect(absent.value).toEqual({
      name: "app",
      file: "images.ts",
      uri: expect.stringMatching(/^127\.0\.0\.1:5000\/cli-exists\/app:[a-z2-7]{26}$/),
      status: "absent",
      digest: null,
      platforms: null,
      reason: null,
    });

    // Put something under exactly that tag, with the real Docker client.
    const uri = absent.value.uri;
    await docker(["tag", testEnv().baseImage, uri]);
    await docker(["push", "--quiet", uri]);
    await docker(["rmi", uri]);

    const present = await project.run(["exists", "images.ts", "app"], { env });
    expect(present.code, present.stderr).toBe(0);
    expect(present.stdout).toMatch(new RegExp(`^present ${uri.replace(/[.]/g, "\\.")} sha256:[0-9a-f]{64}\\n$`));
  });

  it("exits 3 with the reason when the registry cannot be reached", async () => {
    const { result, value } = await project.json<ExistsJson>(["exists", "images.ts"], { env: { IMAGESPEC_REGISTRY: "127.0.0.1:1" } });
    expect(result.code).toBe(3);
    expect(value.status).toBe("unknown");
    expect(value.reason).toMatch(/127\.0\.0\.1:1/);
    const text = await project.run(["exists", "images.ts"], { env: { IMAGESPEC_REGISTRY: "127.0.0.1:1" } });
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^unknown 127\.0\.0\.1:1\/app:[a-z2-7]{26}: .+/);
  });

  it("exits 3 when the registry refuses without credentials", async () => {
    const { result, value } = await project.json<ExistsJson>(["exists", "images.ts"], {
      env: { IMAGESPEC_REGISTRY: testEnv().authRegistry, DOCKER_CONFIG: "/nonexistent-docker-config" },
    });
    expect(result.code, result.stderr).toBe(3);
    expect(value.status).toBe("unknown");
    expect(value.reason).toBeTruthy();
  });
});
