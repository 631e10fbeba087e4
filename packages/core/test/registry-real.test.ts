/**
 * The registry client against the real registries of the test environment (tools/test-env/global-setup.ts):
 * an open one and one behind htpasswd basic auth. The test image is uploaded through the distribution API
 * itself (monolithic blob uploads and a manifest PUT), so no Docker engine is involved.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerConfigResolver, type CredentialResolver, RegistryClient } from "../src/registry/index.js";
import { pushTinyImage, requireEnv, type TinyImage, tinyImage } from "./support/tiny-image.js";

const OPEN_REGISTRY = requireEnv("IMAGESPEC_TEST_REGISTRY");
const AUTH_REGISTRY = requireEnv("IMAGESPEC_TEST_AUTH_REGISTRY");
const AUTH_USER = requireEnv("IMAGESPEC_TEST_AUTH_USER");
const AUTH_PASSWORD = requireEnv("IMAGESPEC_TEST_AUTH_PASSWORD");

/** A fresh repository per run, so earlier runs cannot make a check pass. */
const RUN_ID = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
const REPOSITORY = `imagespec-test/registry-client-${RUN_ID}`;
const TAG = "v1";

const credentials =
  (username: string, password: string): CredentialResolver =>
  async () => ({ username, password });
const pushImage = (client: RegistryClient, domain: string, image: TinyImage) => pushTinyImage(client, domain, REPOSITORY, TAG, image);

const image = tinyImage(RUN_ID);

describe("the open registry", () => {
  const client = new RegistryClient();

  beforeAll(async () => {
    expect(await pushImage(client, OPEN_REGISTRY, image)).toBe(image.digest);
  });

  it("finds the pushed tag, with its digest", async () => {
    expect(await client.manifestExists(`${OPEN_REGISTRY}/${REPOSITORY}:${TAG}`)).toEqual({ status: "present", digest: image.digest });
  });

  it("finds the image by digest", async () => {
    expect(await client.manifestExists(`${OPEN_REGISTRY}/${REPOSITORY}@${image.digest}`)).toEqual({
      status: "present",
      digest: image.digest,
    });
  });

  it("says absent for a tag that was never pushed", async () => {
    expect(await client.manifestExists(`${OPEN_REGISTRY}/${REPOSITORY}:never-pushed`)).toEqual({ status: "absent" });
  });

  it("says absent for a repository that does not exist", async () => {
    expect(await client.manifestExists(`${OPEN_REGISTRY}/imagespec-test/no-such-repository-${RUN_ID}:${TAG}`)).toEqual({
      status: "absent",
    });
  });
});

describe("the basic-auth registry", () => {
  const reference = `${AUTH_REGISTRY}/${REPOSITORY}:${TAG}`;
  let configDir: string;

  beforeAll(async () => {
    const pusher = new RegistryClient({ credentials: credentials(AUTH_USER, AUTH_PASSWORD) });
    expect(await pushImage(pusher, AUTH_REGISTRY, image)).toBe(image.digest);
    configDir = await mkdtemp(join(tmpdir(), "imagespec-registry-real-"));
  });

  afterAll(async () => {
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it("finds the image with the right credentials", async () => {
    const client = new RegistryClient({ credentials: credentials(AUTH_USER, AUTH_PASSWORD) });
    expect(await client.manifestExists(reference)).toEqual({ status: "present", digest: image.digest });
    expect(await client.manifestExists(`${AUTH_REGISTRY}/${REPOSITORY}:never-pushed`)).toEqual({ status: "absent" });
  });

  it("finds the image with credentials read from a Docker config file", async () => {
    const configPath = join(configDir, "config.json");
    const auth = Buffer.from(`${AUTH_USER}:${AUTH_PASSWORD}`).toString("base64");
    await writeFile(configPath, JSON.stringify({ auths: { [`http://${AUTH_REGISTRY}/`]: { auth } } }));
    const client = new RegistryClient({ credentials: createDockerConfigResolver({ configPath, env: {} }) });
    expect(await client.manifestExists(reference)).toEqual({ status: "present", digest: image.digest });
  });

  it("is unknown without credentials, and says they are needed", async () => {
    expect(await new RegistryClient().manifestExists(reference)).toEqual({
      status: "unknown",
      reason: `${AUTH_REGISTRY} requires credentials and none were found for it (run \`docker login ${AUTH_REGISTRY}\` or set registryConfig)`,
    });
  });

  it("is unknown with wrong credentials, and says they were refused", async () => {
    const client = new RegistryClient({ credentials: credentials(AUTH_USER, `${AUTH_PASSWORD}-wrong`) });
    expect(await client.manifestExists(reference)).toEqual({
      status: "unknown",
      reason: `credentials for ${AUTH_REGISTRY} were refused (401)`,
    });
  });
});

describe("a stopped registry", () => {
  it("is unknown, and says the connection was refused", async () => {
    // A port that was just free: bind it, then let it go, so nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const started = Date.now();
    expect(await new RegistryClient().manifestExists(`127.0.0.1:${port}/${REPOSITORY}:${TAG}`)).toEqual({
      status: "unknown",
      reason: `cannot connect to 127.0.0.1:${port}: connection refused`,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
