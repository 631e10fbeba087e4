/**
 * readImageRunConfig against the test environment's registries: an image's ENTRYPOINT and CMD from its config blob,
 * the platform's entry of an index, the seeded Debian base (whose CMD is python3), and errors that name the image.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RegistryClient } from "../src/index.js";
import { readImageRunConfig } from "../src/authoring.js";
import { pushTinyImage, requireEnv, sha256, tinyImage } from "./support/tiny-image.js";
import { registryRequest } from "../src/registry/client.js";

const REGISTRY = requireEnv("IMAGESPEC_TEST_REGISTRY");
const AUTH_REGISTRY = requireEnv("IMAGESPEC_TEST_AUTH_REGISTRY");
const SEED = requireEnv("IMAGESPEC_TEST_BASE_IMAGE");
const REPOSITORY = `i15-run-config/${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

describe("readImageRunConfig", () => {
  it("reads ENTRYPOINT and CMD from the config blob of a pushed image", async () => {
    const client = new RegistryClient();
    await pushTinyImage(client, REGISTRY, REPOSITORY, "tini", tinyImage("tini", { Entrypoint: ["/tini", "--"], Cmd: ["python3", "-m", "app"] }));
    await pushTinyImage(client, REGISTRY, REPOSITORY, "bare", tinyImage("bare"));
    expect(await readImageRunConfig(`${REGISTRY}/${REPOSITORY}:tini`, { client })).toEqual({ entrypoint: ["/tini", "--"], cmd: ["python3", "-m", "app"] });
    expect(await readImageRunConfig(`${REGISTRY}/${REPOSITORY}:bare`)).toEqual({ entrypoint: undefined, cmd: undefined });
  });

  it("picks the platform's image from an index", async () => {
    const client = new RegistryClient();
    const amd = tinyImage("amd", { Cmd: ["echo", "amd64"] });
    const arm = tinyImage("arm", { Cmd: ["echo", "arm64"], architecture: "arm64" });
    await pushTinyImage(client, REGISTRY, REPOSITORY, "amd", amd);
    await pushTinyImage(client, REGISTRY, REPOSITORY, "arm", arm);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: amd.digest,
            size: amd.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: arm.digest,
            size: arm.manifest.length,
            platform: { os: "linux", architecture: "arm64", variant: "v8" },
          },
        ],
      }),
    );
    const put = await registryRequest(client, { domain: REGISTRY, path: REPOSITORY }, `/v2/${REPOSITORY}/manifests/multi`, {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" },
      body: index,
      actions: ["pull", "push"],
    });
    expect(put.status).toBe(201);
    expect(put.headers.get("docker-content-digest")).toBe(sha256(index));
    const ref = `${REGISTRY}/${REPOSITORY}:multi`;
    expect((await readImageRunConfig(ref, { platform: "linux/amd64" })).cmd).toEqual(["echo", "amd64"]);
    expect((await readImageRunConfig(ref, { platform: "linux/arm64" })).cmd).toEqual(["echo", "arm64"]);
    expect((await readImageRunConfig(ref, { platform: "linux/arm64/v8" })).cmd).toEqual(["echo", "arm64"]);
    await expect(readImageRunConfig(ref, { platform: "linux/s390x" })).rejects.toMatchObject({
      code: "REGISTRY_ERROR",
      message: `Cannot read the configuration of ${ref} from ${REGISTRY}: it has no image for linux/s390x (it has linux/amd64, linux/arm64/v8)`,
    });
  });

  it("reads the seeded Debian base, whose command is python3", async () => {
    expect(await readImageRunConfig(SEED)).toEqual({ entrypoint: undefined, cmd: ["python3"] });
  });

  it("names the image when it is not there, and the registry when it wants credentials", async () => {
    await expect(readImageRunConfig(`${REGISTRY}/${REPOSITORY}:never`)).rejects.toMatchObject({
      code: "REGISTRY_ERROR",
      value: `${REGISTRY}/${REPOSITORY}:never`,
    });
    await expect(readImageRunConfig(`${AUTH_REGISTRY}/${REPOSITORY}:x`)).rejects.toMatchObject({ code: "AUTH_ERROR" });
  });
});
