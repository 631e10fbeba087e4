/**
 * The registry client against fake registries and token services served by node:http on 127.0.0.1.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isImageSpecError } from "../src/errors.js";
import { pickChallenge } from "../src/registry/client.js";
import { nodeHttpTransport } from "../src/registry/http.js";
import { type CredentialResolver, RegistryClient } from "../src/registry/index.js";
import { registryRequest } from "../src/registry/client.js";

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

interface FakeServer {
  /** `127.0.0.1:<port>` */
  host: string;
  requests: RecordedRequest[];
}

type Handler = (request: RecordedRequest, response: ServerResponse) => void;

const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  vi.useRealTimers();
});

/** An HTTP server on a free loopback port that records every request and answers with `handler`. */
async function startServer(handler: Handler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      const recorded = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A port nothing listens on: bind one, then let it go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const MANIFEST = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [] });
const MANIFEST_DIGEST = `sha256:${createHash("sha256").update(MANIFEST).digest("hex")}`;

/** Serves one manifest at `/v2/team/app/manifests/v1`; everything else is 404. */
function serveManifest(request: RecordedRequest, response: ServerResponse, options: { digestHeader?: boolean } = {}) {
  if (request.url === "/v2/team/app/manifests/v1" || request.url === `/v2/team/app/manifests/${MANIFEST_DIGEST}`) {
    response.writeHead(200, {
      "Content-Type": "application/vnd.oci.image.manifest.v1+json",
      "Content-Length": Buffer.byteLength(MANIFEST),
      ...(options.digestHeader !== false && { "Docker-Content-Digest": MANIFEST_DIGEST }),
    });
    response.end(request.method === "HEAD" ? undefined : MANIFEST);
    return;
  }
  response.writeHead(404, { "Content-Type": "application/json" });
  response.end(request.method === "HEAD" ? undefined : JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN" }] }));
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const staticCredentials =
  (username: string, password: string): CredentialResolver =>
  async () => ({ username, password });

/** A registry that wants `Bearer <token>` from the token service at `tokenHost`. */
async function startBearerRegistry(tokenHost: string, validToken = "good-token"): Promise<FakeServer> {
  return startServer((request, response) => {
    if (request.headers.authorization !== `Bearer ${validToken}`) {
      response.writeHead(401, {
        "WWW-Authenticate": `Bearer realm="http://${tokenHost}/token",service="fake-registry",scope="repository:team/app:pull"`,
      });
      response.end();
      return;
    }
    serveManifest(request, response);
  });
}

/** A token service that hands out `token` to alice:secret (or to anyone when `anonymous`). */
async function startTokenService(options: { token?: string; field?: "token" | "access_token"; anonymous?: boolean; expiresIn?: number } = {}) {
  return startServer((request, response) => {
    const allowed = options.anonymous || request.headers.authorization === basic("alice", "secret");
    if (!allowed) {
      response.writeHead(401);
      response.end();
      return;
    }
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ [options.field ?? "token"]: options.token ?? "good-token", expires_in: options.expiresIn ?? 300 }));
  });
}

const tokenQuery = (request: RecordedRequest) => new URL(request.url, "http://x").searchParams;

describe("Bearer token flow", () => {
  it("fetches a token with the pull scope and basic credentials, once, and reuses it", async () => {
    const tokens = await startTokenService();
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });

    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({ status: "present", digest: MANIFEST_DIGEST });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({ status: "present", digest: MANIFEST_DIGEST });
    expect(await client.manifestExists(`${registry.host}/team/app:v2`)).toEqual({ status: "absent" });

    expect(tokens.requests).toHaveLength(1);
    const [tokenRequest] = tokens.requests;
    expect(tokenRequest?.method).toBe("GET");
    expect(tokenRequest?.headers.authorization).toBe(basic("alice", "secret"));
    expect(tokenQuery(tokenRequest!).get("scope")).toBe("repository:team/app:pull");
    expect(tokenQuery(tokenRequest!).get("service")).toBe("fake-registry");
    // One challenge, then every request carries the token up front.
    expect(registry.requests.map((r) => r.headers.authorization ?? "none")).toEqual(["none", "Bearer good-token", "Bearer good-token", "Bearer good-token"]);
    expect(registry.requests.every((r) => r.method === "HEAD")).toBe(true);
  });

  it("shares one token request between concurrent checks", async () => {
    const tokens = await startTokenService();
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });
    const results = await Promise.all([1, 2, 3].map(() => client.manifestExists(`${registry.host}/team/app:v1`)));
    expect(results.every((r) => r.status === "present")).toBe(true);
    expect(tokens.requests).toHaveLength(1);
  });

  it("fetches a new token for another repository (another scope)", async () => {
    const tokens = await startTokenService();
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });
    await client.manifestExists(`${registry.host}/team/app:v1`);
    await client.manifestExists(`${registry.host}/team/other:v1`);
    expect(tokens.requests.map((r) => tokenQuery(r).get("scope"))).toEqual(["repository:team/app:pull", "repository:team/other:pull"]);
  });

  it("fetches a new token once the old one has expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const tokens = await startTokenService({ expiresIn: 60 });
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });
    await client.manifestExists(`${registry.host}/team/app:v1`);
    vi.setSystemTime(Date.now() + 30_000);
    await client.manifestExists(`${registry.host}/team/app:v1`);
    expect(tokens.requests).toHaveLength(1);
    vi.setSystemTime(Date.now() + 31_000);
    await client.manifestExists(`${registry.host}/team/app:v1`);
    expect(tokens.requests).toHaveLength(2);
  });

  it("accepts `access_token` and works anonymously when the token service allows it", async () => {
    const tokens = await startTokenService({ field: "access_token", anonymous: true });
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient();
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({ status: "present", digest: MANIFEST_DIGEST });
    expect(tokens.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("exchanges an identity token through the OAuth2 refresh_token grant", async () => {
    const tokens = await startServer((request, response) => {
      const form = new URLSearchParams(request.body);
      const ok = request.method === "POST" && form.get("grant_type") === "refresh_token" && form.get("refresh_token") === "refresh-me";
      response.writeHead(ok ? 200 : 401, { "Content-Type": "application/json" });
      response.end(ok ? JSON.stringify({ access_token: "good-token", scope: form.get("scope") }) : undefined);
    });
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient({ credentials: async () => ({ identityToken: "refresh-me" }) });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toMatchObject({ status: "present" });
    const form = new URLSearchParams(tokens.requests[0]?.body);
    expect(form.get("service")).toBe("fake-registry");
    expect(form.get("scope")).toBe("repository:team/app:pull");
  });

  it("says when the token service refuses the credentials", async () => {
    const tokens = await startTokenService();
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient({ credentials: staticCredentials("alice", "wrong") });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `credentials for ${registry.host} were refused by its token service ${tokens.host} (401)`,
    });
  });

  it("says credentials are needed when the token service refuses anonymous access", async () => {
    const tokens = await startTokenService();
    const registry = await startBearerRegistry(tokens.host);
    const result = await new RegistryClient().manifestExists(`${registry.host}/team/app:v1`);
    expect(result).toMatchObject({ status: "unknown" });
    expect(result.status === "unknown" && result.reason).toMatch(new RegExp(`^${registry.host} requires credentials and none were found`));
  });

  it("says when a token does not grant access (registry 401 or 403 after the token)", async () => {
    const tokens = await startTokenService({ token: "weak-token" });
    const registry = await startBearerRegistry(tokens.host);
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `credentials for ${registry.host} were refused (401)`,
    });

    const forbidding = await startServer((request, response) => {
      const authenticated = request.headers.authorization === "Bearer weak-token";
      response.writeHead(authenticated ? 403 : 401, { "WWW-Authenticate": `Bearer realm="http://${tokens.host}/token",service="s"` });
      response.end();
    });
    expect(await client.manifestExists(`${forbidding.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `credentials for ${forbidding.host} do not allow repository:team/app:pull (403)`,
    });
  });

  it("reports a token service that answers without a token", async () => {
    const tokens = await startServer((_request, response) => {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end("{}");
    });
    const registry = await startBearerRegistry(tokens.host);
    expect(await new RegistryClient().manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `the token service ${tokens.host} of ${registry.host} answered without a token`,
    });
  });

  it("does not send credentials over plain HTTP to a token service that is not loopback or insecure", async () => {
    const fetchSpy = vi.fn<typeof fetch>();
    const registry = await startServer((_request, response) => {
      response.writeHead(401, { "WWW-Authenticate": 'Bearer realm="http://auth.example.com/token",service="s"' });
      response.end();
    });
    const client = new RegistryClient({
      credentials: staticCredentials("alice", "secret"),
      fetch: async (input, init) => {
        if (String(input).includes("auth.example.com")) return fetchSpy(input, init);
        return fetch(input, init);
      },
    });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `will not send the credentials for ${registry.host} over plain HTTP to its token service auth.example.com; add auth.example.com to insecureRegistries if that is intended`,
    });
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe("Basic auth", () => {
  async function startBasicRegistry() {
    return startServer((request, response) => {
      if (request.headers.authorization !== basic("alice", "secret")) {
        response.writeHead(401, { "WWW-Authenticate": 'Basic realm="fake"' });
        response.end();
        return;
      }
      serveManifest(request, response);
    });
  }

  it("retries with basic credentials, then sends them up front", async () => {
    const registry = await startBasicRegistry();
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({ status: "present", digest: MANIFEST_DIGEST });
    expect(await client.manifestExists(`${registry.host}/team/app:nope`)).toEqual({ status: "absent" });
    expect(registry.requests.map((r) => r.headers.authorization ?? "none")).toEqual(["none", basic("alice", "secret"), basic("alice", "secret")]);
  });

  it("says credentials are needed when there are none", async () => {
    const registry = await startBasicRegistry();
    for (const client of [new RegistryClient(), new RegistryClient({ credentials: async () => undefined })]) {
      expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
        status: "unknown",
        reason: `${registry.host} requires credentials and none were found for it (run \`docker login ${registry.host}\` or set registryConfig)`,
      });
    }
  });

  it("says the credentials were refused, and does not send refused credentials twice", async () => {
    const registry = await startBasicRegistry();
    const client = new RegistryClient({ credentials: staticCredentials("alice", "wrong") });
    const refused = { status: "unknown", reason: `credentials for ${registry.host} were refused (401)` };
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual(refused);
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual(refused);
    expect(registry.requests).toHaveLength(3);
  });

  it("turns a credential resolver failure into unknown, with its message", async () => {
    const registry = await startBasicRegistry();
    const client = new RegistryClient({
      credentials: async () => {
        throw new Error("Cannot read registry credentials from /x/config.json: it is not valid JSON");
      },
    });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `the credentials for ${registry.host} could not be read: Cannot read registry credentials from /x/config.json: it is not valid JSON`,
    });
  });
});

describe("answers and failures", () => {
  it("sends HEAD with every manifest media type, and 404 means absent", async () => {
    const registry = await startServer((request, response) => serveManifest(request, response));
    const client = new RegistryClient();
    expect(await client.manifestExists(`${registry.host}/team/app:missing`)).toEqual({ status: "absent" });
    expect(await client.manifestExists(`${registry.host}/team/nothing-here`)).toEqual({ status: "absent" });
    const [head] = registry.requests;
    expect(head?.method).toBe("HEAD");
    for (const mediaType of [
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ]) {
      expect(head?.headers.accept).toContain(mediaType);
    }
    // No tag means latest, as with docker.
    expect(registry.requests[1]?.url).toBe("/v2/team/nothing-here/manifests/latest");
  });

  it("checks a digest reference by digest", async () => {
    const registry = await startServer((request, response) => serveManifest(request, response, { digestHeader: false }));
    expect(await new RegistryClient().manifestExists(`${registry.host}/team/app@${MANIFEST_DIGEST}`)).toEqual({
      status: "present",
      digest: MANIFEST_DIGEST,
    });
    expect(registry.requests.map((r) => r.method)).toEqual(["HEAD"]);
  });

  it.each([405, 501])("falls back to GET when HEAD answers %i, and computes the digest from the body", async (status) => {
    const registry = await startServer((request, response) => {
      if (request.method === "HEAD") {
        response.writeHead(status);
        response.end();
        return;
      }
      serveManifest(request, response, { digestHeader: false });
    });
    const client = new RegistryClient();
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({ status: "present", digest: MANIFEST_DIGEST });
    expect(await client.manifestExists(`${registry.host}/team/app:v2`)).toEqual({ status: "absent" });
    expect(registry.requests.map((r) => r.method)).toEqual(["HEAD", "GET", "HEAD", "GET"]);
    expect(registry.requests[1]?.headers.accept).toContain("application/vnd.oci.image.index.v1+json");
  });

  it("falls back to GET when the connection drops on HEAD", async () => {
    const registry = await startServer((request, response) => {
      if (request.method === "HEAD") {
        response.socket?.destroy();
        return;
      }
      serveManifest(request, response);
    });
    expect(await new RegistryClient().manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "present",
      digest: MANIFEST_DIGEST,
    });
  });

  it("asks GET for the digest when HEAD says present without one", async () => {
    const registry = await startServer((request, response) => serveManifest(request, response, { digestHeader: false }));
    expect(await new RegistryClient().manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "present",
      digest: MANIFEST_DIGEST,
    });
    expect(registry.requests.map((r) => r.method)).toEqual(["HEAD", "GET"]);
  });

  it("is unknown on a server error or rate limiting, naming the registry and the status", async () => {
    let status = 500;
    const registry = await startServer((_request, response) => {
      response.writeHead(status);
      response.end();
    });
    const client = new RegistryClient();
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `${registry.host} answered with a server error (500 Internal Server Error)`,
    });
    status = 429;
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `${registry.host} is rate limiting requests (429 Too Many Requests); try again later`,
    });
  });

  it("is unknown, within the bound, when the registry never answers", async () => {
    const registry = await startServer(() => {
      // Never answer.
    });
    const client = new RegistryClient({ timeoutMs: 300 });
    const started = Date.now();
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `${registry.host} did not answer within 0.3 s`,
    });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("bounds a slow credential resolver too", async () => {
    const registry = await startServer((_request, response) => {
      response.writeHead(401, { "WWW-Authenticate": 'Basic realm="fake"' });
      response.end();
    });
    const client = new RegistryClient({ timeoutMs: 300, credentials: () => new Promise(() => {}) });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `the credentials for ${registry.host} were not ready within 0.3 s`,
    });
  });

  it("is unknown when nothing listens on the port", async () => {
    const port = await closedPort();
    expect(await new RegistryClient().manifestExists(`127.0.0.1:${port}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `cannot connect to 127.0.0.1:${port}: connection refused`,
    });
  });

  it("is unknown when TLS fails (HTTPS spoken to a plain HTTP server)", async () => {
    const registry = await startServer((request, response) => serveManifest(request, response));
    const client = new RegistryClient({ fetch: (input, init) => fetch(String(input).replace(/^http:/, "https:"), init) });
    const result = await client.manifestExists(`${registry.host}/team/app:v1`);
    expect(result).toEqual({
      status: "unknown",
      reason: `cannot connect to ${registry.host}: TLS failed (wrong version number); if it serves plain HTTP, add it to insecureRegistries`,
    });
  });

  it("is unknown when TLS fails, through node:https (the default transport) too", async () => {
    const registry = await startServer((request, response) => serveManifest(request, response));
    const https = nodeHttpTransport();
    const client = new RegistryClient({
      fetch: ((input: string, init: RequestInit) => https(String(input).replace(/^http:/, "https:"), init as never)) as unknown as typeof fetch,
    });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({
      status: "unknown",
      reason: `cannot connect to ${registry.host}: TLS failed (wrong version number); if it serves plain HTTP, add it to insecureRegistries`,
    });
  });

  it("follows a redirect of the manifest request, without carrying credentials to another origin", async () => {
    const elsewhere = await startServer((request, response) => serveManifest(request, response));
    const registry = await startServer((request, response) => {
      if (request.headers.authorization === undefined) {
        response.writeHead(401, { "WWW-Authenticate": 'Basic realm="r"' }).end();
        return;
      }
      response.writeHead(307, { Location: `http://${elsewhere.host}${request.url}` }).end();
    });
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });
    expect(await client.manifestExists(`${registry.host}/team/app:v1`)).toEqual({ status: "present", digest: MANIFEST_DIGEST });
    expect(elsewhere.requests.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([["HEAD", "/v2/team/app/manifests/v1", undefined]]);
  });

  it("is unknown when the name does not resolve, through a real lookup", async () => {
    const result = await new RegistryClient({ timeoutMs: 5000 }).manifestExists("registry.invalid/team/app:v1");
    expect(result).toEqual({ status: "unknown", reason: "cannot connect to registry.invalid: its name does not resolve (DNS lookup failed)" });
  });

  it("is unknown when the name does not resolve", async () => {
    const dnsFailure = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("getaddrinfo ENOTFOUND registry.invalid"), { code: "ENOTFOUND" }),
    });
    const client = new RegistryClient({ fetch: () => Promise.reject(dnsFailure) });
    expect(await client.manifestExists("registry.invalid/team/app:v1")).toEqual({
      status: "unknown",
      reason: "cannot connect to registry.invalid: its name does not resolve (DNS lookup failed)",
    });
  });

  it("throws CANCELLED when the caller aborts, and INVALID_SPEC for a reference that does not parse", async () => {
    const registry = await startServer(() => {});
    const controller = new AbortController();
    const pending = new RegistryClient().manifestExists(`${registry.host}/team/app:v1`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const cancelled = await pending.catch((error: unknown) => error);
    expect(isImageSpecError(cancelled) && cancelled.code).toBe("CANCELLED");

    const invalid = await new RegistryClient().manifestExists("Not A Reference").catch((error: unknown) => error);
    expect(isImageSpecError(invalid) && invalid.code).toBe("INVALID_SPEC");
  });

  it("rejects an unbounded or nonsensical timeout", () => {
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new RegistryClient({ timeoutMs })).toThrow(/timeoutMs/);
    }
  });
});

describe("addresses", () => {
  it("uses HTTPS except for loopback and insecure registries, and Docker Hub's API host", () => {
    const client = new RegistryClient({ insecureRegistries: ["http://registry.lan:5000/", "plain.lan"] });
    expect(client.registryBaseUrl("docker.io")).toBe("https://registry-1.docker.io");
    expect(client.registryBaseUrl("ghcr.io")).toBe("https://ghcr.io");
    expect(client.registryBaseUrl("127.0.0.1:5000")).toBe("http://127.0.0.1:5000");
    expect(client.registryBaseUrl("localhost:5000")).toBe("http://localhost:5000");
    expect(client.registryBaseUrl("[::1]:5000")).toBe("http://[::1]:5000");
    expect(client.registryBaseUrl("registry.lan:5000")).toBe("http://registry.lan:5000");
    expect(client.registryBaseUrl("registry.lan:5001")).toBe("https://registry.lan:5001");
    expect(client.registryBaseUrl("plain.lan:8080")).toBe("http://plain.lan:8080");
  });

  it("asks Docker Hub for library/ images at registry-1.docker.io", async () => {
    const urls: string[] = [];
    const client = new RegistryClient({
      fetch: async (input) => {
        urls.push(String(input));
        return new Response(null, { status: 404 });
      },
    });
    expect(await client.manifestExists("python:3.12")).toEqual({ status: "absent" });
    expect(urls).toEqual(["https://registry-1.docker.io/v2/library/python/manifests/3.12"]);
  });
});

describe("request", () => {
  it("authenticates with the scope for the actions asked, and sends credentials only to the registry's own origin", async () => {
    const tokens = await startTokenService();
    const elsewhere = await startServer((_request, response) => {
      response.writeHead(204);
      response.end();
    });
    const registry = await startServer((request, response) => {
      if (request.headers.authorization !== "Bearer good-token") {
        response.writeHead(401, { "WWW-Authenticate": `Bearer realm="http://${tokens.host}/token",service="fake-registry"` });
        response.end();
        return;
      }
      response.writeHead(202, { Location: `http://${elsewhere.host}/upload/1` });
      response.end();
    });
    const client = new RegistryClient({ credentials: staticCredentials("alice", "secret") });
    const repository = { domain: registry.host, path: "team/app" };
    const started = await registryRequest(client, repository, "/v2/team/app/blobs/uploads/", { method: "POST", actions: ["pull", "push"] });
    expect(started.status).toBe(202);
    expect(tokenQuery(tokens.requests[0]!).get("scope")).toBe("repository:team/app:pull,push");

    const location = started.headers.get("location")!;
    expect((await registryRequest(client, repository, location, { method: "PUT", body: "x", actions: ["pull", "push"] })).status).toBe(204);
    expect(elsewhere.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("throws AUTH_ERROR for refused credentials and REGISTRY_ERROR for an unreachable registry", async () => {
    const registry = await startServer((_request, response) => {
      response.writeHead(401, { "WWW-Authenticate": 'Basic realm="fake"' });
      response.end();
    });
    const client = new RegistryClient({ credentials: staticCredentials("alice", "wrong") });
    const refused = await registryRequest(client, { domain: registry.host, path: "team/app" }, "/v2/").catch((error: unknown) => error);
    expect(isImageSpecError(refused) && refused.code).toBe("AUTH_ERROR");
    expect((refused as Error).message).toBe(`Cannot send GET /v2/ to ${registry.host}: credentials for ${registry.host} were refused (401)`);

    const port = await closedPort();
    const unreachable = await registryRequest(client, { domain: `127.0.0.1:${port}`, path: "team/app" }, "/v2/").catch((error: unknown) => error);
    expect(isImageSpecError(unreachable) && unreachable.code).toBe("REGISTRY_ERROR");
    expect((unreachable as Error).message).toContain("connection refused");
  });
});

describe("pickChallenge", () => {
  it("reads several challenges, quoted commas and escapes, and prefers Bearer", () => {
    expect(pickChallenge('Basic realm="a, b", Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a/b:pull,push"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example.com/token", service: "reg", scope: "repository:a/b:pull,push" },
    });
    expect(pickChallenge('basic realm="say \\"hi\\""')).toEqual({ scheme: "basic", params: { realm: 'say "hi"' } });
    expect(pickChallenge("Negotiate")).toBeUndefined();
    expect(pickChallenge(null)).toBeUndefined();
  });
});
