/**
 * Multi-platform images in the real registry of the test environment: an OCI index assembled and pushed by the
 * client, read back by Debian's skopeo (a client this project did not write), and existence that counts an index
 * only when it holds every platform asked for, and every manifest it lists is still there.
 */
import { randomBytes } from "node:crypto";
import { skopeo } from "@imagespec/test-env";
import { beforeAll, describe, expect, it } from "vitest";
import { OCI_INDEX_MEDIA_TYPE, RegistryClient } from "../src/registry/index.js";
import { pushTinyImage, requireEnv, tinyImage } from "./support/tiny-image.js";

const REGISTRY = requireEnv("IMAGESPEC_TEST_REGISTRY");
const SEED = requireEnv("IMAGESPEC_TEST_BASE_IMAGE");
const RUN_ID = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
const REPOSITORY = `i13-test/index-${RUN_ID}`;
const REF = `${REGISTRY}/${REPOSITORY}:v1`;

const client = new RegistryClient();
const amd64 = tinyImage(`${RUN_ID}-amd64`, { architecture: "amd64" });
const arm64 = tinyImage(`${RUN_ID}-arm64`, { architecture: "arm64" });
let indexDigest: string;

beforeAll(async () => {
  expect(await pushTinyImage(client, REGISTRY, REPOSITORY, "v1-linux-amd64", amd64)).toBe(amd64.digest);
  expect(await pushTinyImage(client, REGISTRY, REPOSITORY, "v1-linux-arm64", arm64)).toBe(arm64.digest);
  indexDigest = await client.pushImageIndex(REF, [
    { platform: "linux/amd64", digest: amd64.digest },
    { platform: "linux/arm64", digest: arm64.digest },
  ]);
});

describe("an image index pushed by the registry client", () => {
  it("is an OCI index under the tag, with the digest the registry reports", async () => {
    const head = await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/v1`, { method: "HEAD", headers: { accept: OCI_INDEX_MEDIA_TYPE } });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe(OCI_INDEX_MEDIA_TYPE);
    expect(head.headers.get("docker-content-digest")).toBe(indexDigest);
  });

  it("is read by skopeo with both platforms, each pointing at its manifest", async () => {
    const raw = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${REF}`])) as {
      mediaType: string;
      manifests: { digest: string; mediaType: string; size: number; platform: { os: string; architecture: string } }[];
    };
    expect(raw.mediaType).toBe(OCI_INDEX_MEDIA_TYPE);
    expect(raw.manifests.map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest, m.mediaType, m.size])).toEqual([
      ["linux/amd64", amd64.digest, "application/vnd.oci.image.manifest.v1+json", amd64.manifest.length],
      ["linux/arm64", arm64.digest, "application/vnd.oci.image.manifest.v1+json", arm64.manifest.length],
    ]);
    // skopeo resolves the index per platform, as docker pull does.
    const inspected = JSON.parse(await skopeo(["inspect", "--override-arch", "arm64", "--override-os", "linux", "--tls-verify=false", `docker://${REF}`])) as {
      Architecture: string;
      Digest: string;
      Env: string[];
    };
    expect(inspected.Architecture).toBe("arm64");
    // skopeo names the digest of what the tag holds: the index.
    expect(inspected.Digest).toBe(indexDigest);
    expect(inspected.Env).toContain(`IMAGESPEC_TEST_RUN=${RUN_ID}-arm64`);
  });

  it("refuses a manifest that is not in the repository, naming the platform", async () => {
    const error = await client
      .pushImageIndex(`${REGISTRY}/${REPOSITORY}:v2`, [{ platform: "linux/arm64", digest: `sha256:${"0".repeat(64)}` }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "REGISTRY_ERROR" });
    expect((error as Error).message).toMatch(/^Cannot push an image index to .*:v2: the linux\/arm64 manifest sha256:0{64} is not in /);
  });
});

describe("existence of an image of several platforms", () => {
  it("counts an index that holds every requested platform, and lists each platform's digest", async () => {
    expect(await client.manifestExists(REF, { platforms: ["linux/amd64", "linux/arm64"] })).toEqual({
      status: "present",
      digest: indexDigest,
      platforms: [
        { platform: "linux/amd64", digest: amd64.digest },
        { platform: "linux/arm64", digest: arm64.digest },
      ],
    });
    // arm64/v8 is arm64.
    expect(await client.manifestExists(REF, { platforms: ["linux/arm64/v8"] })).toMatchObject({
      status: "present",
      platforms: [{ platform: "linux/arm64/v8", digest: arm64.digest }],
    });
  });

  it("does not count an index that lacks a platform, and says which", async () => {
    expect(await client.manifestExists(REF, { platforms: ["linux/amd64", "linux/s390x"] })).toEqual({
      status: "absent",
      reason: `the index at ${REF} holds linux/amd64, linux/arm64 but not linux/s390x`,
    });
  });

  it("does not count one platform's manifest for several platforms", async () => {
    const single = `${REGISTRY}/${REPOSITORY}:v1-linux-amd64`;
    expect(await client.manifestExists(single, { platforms: ["linux/amd64"] })).toEqual({ status: "present", digest: amd64.digest });
    expect(await client.manifestExists(single, { platforms: ["linux/amd64", "linux/arm64"] })).toEqual({
      status: "absent",
      reason: `${single} holds a single-platform manifest, not an index of linux/amd64, linux/arm64`,
    });
  });

  it("reads a Docker manifest list: the test environment's seed is one, for linux/amd64 and linux/arm64", async () => {
    const existence = await client.manifestExists(SEED, { platforms: ["linux/amd64", "linux/arm64"] });
    expect(existence.status).toBe("present");
    expect(existence.status === "present" && existence.platforms?.map((p) => p.platform)).toEqual(["linux/amd64", "linux/arm64"]);
    const raw = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${SEED}`])) as { mediaType: string };
    expect(raw.mediaType).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
  });

  it("does not count an index whose platform manifest was deleted from the registry", async () => {
    const repository = `${REPOSITORY}-deleted`;
    const ref = `${REGISTRY}/${repository}:v1`;
    expect(await pushTinyImage(client, REGISTRY, repository, "v1-linux-amd64", amd64)).toBe(amd64.digest);
    expect(await pushTinyImage(client, REGISTRY, repository, "v1-linux-arm64", arm64)).toBe(arm64.digest);
    await client.pushImageIndex(ref, [
      { platform: "linux/amd64", digest: amd64.digest },
      { platform: "linux/arm64", digest: arm64.digest },
    ]);
    expect((await client.manifestExists(ref, { platforms: ["linux/amd64", "linux/arm64"] })).status).toBe("present");
    const deleted = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${arm64.digest}`, { method: "DELETE" });
    expect(deleted.status).toBe(202);
    expect(await client.manifestExists(ref, { platforms: ["linux/amd64", "linux/arm64"] })).toEqual({
      status: "absent",
      reason: `the index at ${ref} lists linux/arm64 (${arm64.digest}), but the registry no longer has that manifest`,
    });
    // The platform that is still there still counts on its own.
    expect((await client.manifestExists(ref, { platforms: ["linux/amd64"] })).status).toBe("present");
  });
});
