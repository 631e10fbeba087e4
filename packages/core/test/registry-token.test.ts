/**
 * The registry client's Bearer token flow against a real registry with distribution's token auth and a real token
 * server (scripts/test-env: the token registry and tools/test-env/token-server.mjs, which signs ES256 JWTs the
 * registry verifies against its rootcertbundle). Images are uploaded through the distribution API, no Docker.
 * A recording fetch shows which tokens the client asks for and which requests carried one.
 */
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { isImageSpecError } from "../src/errors.js";
import { MANIFEST_ACCEPT } from "../src/registry/client.js";
import { type CredentialResolver, RegistryClient } from "../src/registry/index.js";
import { jwtClaims, recordingFetch } from "./support/recording-fetch.js";
import { pushTinyImage, requireEnv, tinyImage } from "./support/tiny-image.js";
import { registryRequest } from "../src/registry/client.js";

const REGISTRY = requireEnv("IMAGESPEC_TEST_TOKEN_REGISTRY");
const REALM = requireEnv("IMAGESPEC_TEST_TOKEN_REALM");
const USER = requireEnv("IMAGESPEC_TEST_TOKEN_USER");
const READER = requireEnv("IMAGESPEC_TEST_TOKEN_READER");
const PASSWORD = requireEnv("IMAGESPEC_TEST_TOKEN_PASSWORD");
const TOKEN_HOST = new URL(REALM).host;

/** Fresh repositories per run, so earlier runs cannot make a check pass. */
const RUN_ID = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
const REPO_A = `imagespec-test/token-a-${RUN_ID}`;
const REPO_B = `imagespec-test/token-b-${RUN_ID}`;
const TAG = "v1";
const imageA = tinyImage(`${RUN_ID}-a`);
const imageB = tinyImage(`${RUN_ID}-b`);

const credentials =
  (username: string, password: string): CredentialResolver =>
  async () => ({ username, password });
const scopeOf = (url: URL) => url.searchParams.get("scope");

describe("a registry with token auth", () => {
  const pushes = recordingFetch(REALM);
  const pusher = new RegistryClient({ credentials: credentials(USER, PASSWORD), fetch: pushes.fetch });

  beforeAll(async () => {
    expect(await pushTinyImage(pusher, REGISTRY, REPO_A, TAG, imageA)).toBe(imageA.digest);
    expect(await pushTinyImage(pusher, REGISTRY, REPO_B, TAG, imageB)).toBe(imageB.digest);
  });

  it("pushes with one pull,push token per repository, asked for with the credentials", () => {
    const tokens = pushes.tokenRequests();
    expect(tokens.map((t) => [scopeOf(t.url), t.auth, t.status])).toEqual([
      [`repository:${REPO_A}:pull,push`, "basic", 200],
      [`repository:${REPO_B}:pull,push`, "basic", 200],
    ]);
    expect(tokens[0]?.url.searchParams.get("service")).toBeTruthy();
    expect(jwtClaims(tokens[0]?.token ?? "").access).toEqual([{ type: "repository", name: REPO_A, actions: ["pull", "push"] }]);
    // Only the very first request went without a token; every upload and manifest PUT carried one.
    const registryRequests = pushes.exchanges.filter((e) => e.url.host === REGISTRY);
    expect(registryRequests.filter((e) => e.status === 401)).toHaveLength(1);
    expect(registryRequests[0]).toMatchObject({ method: "POST", auth: undefined, status: 401 });
    expect(registryRequests.slice(1).every((e) => e.auth === "bearer")).toBe(true);
    // Per image: two blob uploads (POST 202, PUT 201) and the manifest (PUT 201).
    const perImage = [202, 201, 202, 201, 201];
    expect(registryRequests.slice(1).map((e) => e.status)).toEqual([...perImage, ...perImage]);
  });

  it("finds the pushed tag with its digest, by tag and by digest, and says absent for a tag never pushed", async () => {
    const client = new RegistryClient({ credentials: credentials(USER, PASSWORD) });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_A}:${TAG}`)).toEqual({ status: "present", digest: imageA.digest });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_A}@${imageA.digest}`)).toEqual({ status: "present", digest: imageA.digest });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_A}:never-pushed`)).toEqual({ status: "absent" });
  });

  it("asks the token server once and reuses the token for several checks of one repository", async () => {
    const recorder = recordingFetch(REALM);
    const client = new RegistryClient({ credentials: credentials(USER, PASSWORD), fetch: recorder.fetch });
    for (const reference of [`${REPO_A}:${TAG}`, `${REPO_A}@${imageA.digest}`, `${REPO_A}:never-pushed`, `${REPO_A}:${TAG}`]) {
      expect((await client.manifestExists(`${REGISTRY}/${reference}`)).status).not.toBe("unknown");
    }
    expect(recorder.tokenRequests().map((t) => [scopeOf(t.url), t.auth, t.status])).toEqual([[`repository:${REPO_A}:pull`, "basic", 200]]);
    const checks = recorder.exchanges.filter((e) => e.url.host === REGISTRY);
    // One 401 to learn the challenge, then four checks that each sent the same token up front.
    expect(checks.map((e) => [e.auth, e.status])).toEqual([
      [undefined, 401],
      ["bearer", 200],
      ["bearer", 200],
      ["bearer", 404],
      ["bearer", 200],
    ]);
  });

  it("asks for a new token for another repository: A's token does not open B", async () => {
    const recorder = recordingFetch(REALM);
    const client = new RegistryClient({ credentials: credentials(USER, PASSWORD), fetch: recorder.fetch });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_A}:${TAG}`)).toEqual({ status: "present", digest: imageA.digest });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_B}:${TAG}`)).toEqual({ status: "present", digest: imageB.digest });
    const tokens = recorder.tokenRequests();
    expect(tokens.map((t) => scopeOf(t.url))).toEqual([`repository:${REPO_A}:pull`, `repository:${REPO_B}:pull`]);

    // The registry itself holds A's token to A: shown to B, it asks for B's scope.
    const tokenA = tokens[0]?.token ?? "";
    expect(jwtClaims(tokenA).access).toEqual([{ type: "repository", name: REPO_A, actions: ["pull"] }]);
    const asB = await fetch(`http://${REGISTRY}/v2/${REPO_B}/manifests/${TAG}`, {
      method: "HEAD",
      headers: { Accept: MANIFEST_ACCEPT, Authorization: `Bearer ${tokenA}` },
    });
    expect(asB.status).toBe(401);
    expect(asB.headers.get("www-authenticate")).toContain(`scope="repository:${REPO_B}:pull",error="insufficient_scope"`);
    const asA = await fetch(`http://${REGISTRY}/v2/${REPO_A}/manifests/${TAG}`, {
      method: "HEAD",
      headers: { Accept: MANIFEST_ACCEPT, Authorization: `Bearer ${tokenA}` },
    });
    expect(asA.status).toBe(200);
  });

  it("is unknown without credentials, and says credentials are needed", async () => {
    const recorder = recordingFetch(REALM);
    const client = new RegistryClient({ fetch: recorder.fetch });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_A}:${TAG}`)).toEqual({
      status: "unknown",
      reason:
        `${REGISTRY} requires credentials and none were found for it (run \`docker login ${REGISTRY}\` or set registryConfig); ` +
        `it refused anonymous access to ${REPO_A} (401), or the repository does not exist`,
    });
    // The token server hands anonymous callers a token; it is the registry that refuses it (it grants nothing).
    const tokens = recorder.tokenRequests();
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((t) => t.auth === undefined && t.status === 200)).toBe(true);
    expect(jwtClaims(tokens[0]?.token ?? "").access).toEqual([]);
  });

  it("is unknown with wrong credentials, and says the token server refused them", async () => {
    const client = new RegistryClient({ credentials: credentials(USER, `${PASSWORD}-wrong`) });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_A}:${TAG}`)).toEqual({
      status: "unknown",
      reason: `credentials for ${REGISTRY} were refused by its token service ${TOKEN_HOST} (401)`,
    });
  });

  it("lets read-only credentials check, and says they do not allow a push after asking for one push token", async () => {
    const recorded = recordingFetch(REALM);
    const client = new RegistryClient({ credentials: credentials(READER, PASSWORD), fetch: recorded.fetch });
    expect(await client.manifestExists(`${REGISTRY}/${REPO_A}:${TAG}`)).toEqual({ status: "present", digest: imageA.digest });
    const upload = registryRequest(client, { domain: REGISTRY, path: REPO_A }, `/v2/${REPO_A}/blobs/uploads/`, {
      method: "POST",
      actions: ["pull", "push"],
    });
    const error = await upload.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isImageSpecError(error) && error.code).toBe("AUTH_ERROR");
    expect((error as Error).message).toBe(
      `Cannot send POST /v2/${REPO_A}/blobs/uploads/ to ${REGISTRY}: credentials for ${REGISTRY} do not allow repository:${REPO_A}:pull,push (401 insufficient_scope)`,
    );
    // The token was valid and only lacked push: a second one from the same credentials would lack it too.
    const pushTokens = recorded.tokenRequests().filter((t) => scopeOf(t.url) === `repository:${REPO_A}:pull,push`);
    expect(pushTokens.map((t) => [t.auth, t.status])).toEqual([["basic", 200]]);
  });
});
