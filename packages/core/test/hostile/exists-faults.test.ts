/**
 * Existence against a faulty world: a fault proxy on 127.0.0.1 in front of the test environment's real registry
 * answers the manifest requests with a fault, and `manifestExists` must say `unknown` with why (never `present` for
 * something that is not a manifest), within its bound.
 */

import { type FaultProxy, startFaultProxy, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/index.js";

let proxy: FaultProxy;
const env = testEnv();
const seedPath = env.baseImage.slice(env.registry.length + 1); // imagespec/python:3.11-slim-bookworm
const isManifest = (r: { url: string }) => r.url.includes("/manifests/");

beforeAll(async () => {
  proxy = await startFaultProxy(env.registry);
});
afterAll(() => proxy.close());

function exists(options: { timeoutMs?: number } = {}) {
  return new RegistryClient({ timeoutMs: options.timeoutMs ?? 1_500 }).manifestExists(`${proxy.host}/${seedPath}`);
}

describe("existence through a fault proxy in front of the real registry", () => {
  it("is present, with the registry's digest, when nothing is broken", async () => {
    proxy.setFault(() => undefined);
    expect(await exists()).toEqual({ status: "present", digest: env.baseImageDigest });
  });

  it("is unknown for a 200 that is not a manifest (a captive portal's HTML page), on HEAD and on GET", async () => {
    proxy.setFault((r) => (isManifest(r) ? { kind: "html" } : undefined));
    const answer = await exists();
    expect(answer).toEqual({ status: "unknown", reason: expect.stringMatching(/answered 200 with a "text\/html" body, which is not an image manifest/) });
    // HEAD said text/html with no digest, so the manifest was read to be sure: both were asked.
    expect(
      proxy.requests
        .filter(isManifest)
        .slice(-2)
        .map((r) => r.method),
    ).toEqual(["HEAD", "GET"]);
  });

  it("is unknown for a JSON 200 that is no manifest, and for a manifest whose bytes do not match its digest", async () => {
    proxy.setFault((r) => (isManifest(r) ? { kind: "status", status: 200, body: '{"ok":true}' } : undefined));
    expect((await exists()).status).toBe("unknown");
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config: {}, layers: [] });
    proxy.setFault((r) =>
      isManifest(r)
        ? {
            kind: "status",
            status: 200,
            headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json", "Docker-Content-Digest": env.baseImageDigest },
            body: r.method === "HEAD" ? "" : manifest,
          }
        : undefined,
    );
    // The HEAD answer names the real digest: it is believed (a manifest type and a digest).
    expect((await exists()).status).toBe("present");
    proxy.setFault((r) =>
      isManifest(r)
        ? r.method === "HEAD"
          ? { kind: "status", status: 405 }
          : {
              kind: "status",
              status: 200,
              headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json", "Docker-Content-Digest": env.baseImageDigest },
              body: manifest,
            }
        : undefined,
    );
    expect(await exists()).toEqual({ status: "unknown", reason: expect.stringMatching(/bytes do not match its digest/) });
  });

  it.each([
    [500, /answered with a server error \(500/],
    [507, /answered with a server error \(507/],
    [401, /refused the request \(401\) without saying how to authenticate/],
  ])("is unknown for %i, naming the registry and the status", async (status, reason) => {
    proxy.setFault((r) => (isManifest(r) ? { kind: "status", status } : undefined));
    const answer = await exists();
    expect(answer).toEqual({ status: "unknown", reason: expect.stringMatching(reason) });
    expect((answer as { reason: string }).reason).toContain(proxy.host);
  });

  it("is unknown for 429, saying when the registry asks to try again", async () => {
    proxy.setFault((r) => (isManifest(r) ? { kind: "status", status: 429, headers: { "Retry-After": "30" } } : undefined));
    expect(await exists()).toEqual({
      status: "unknown",
      reason: expect.stringMatching(/is rate limiting requests \(429.*\); try again in 30 s \(its Retry-After\)/),
    });
  });

  it("gives up on a registry that hangs, within its bound, saying so", async () => {
    proxy.setFault((r) => (isManifest(r) ? { kind: "hang" } : undefined));
    const started = Date.now();
    const answer = await exists({ timeoutMs: 1_500 });
    expect(answer).toEqual({ status: "unknown", reason: `${proxy.host} did not answer within 1.5 s` });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("is unknown when the registry drops the connection, on HEAD and on the GET it falls back to", async () => {
    proxy.setFault((r) => (isManifest(r) ? { kind: "reset" } : undefined));
    expect(await exists()).toEqual({ status: "unknown", reason: `${proxy.host} closed the connection without answering` });
  });

  it("waits for a slow registry within its bound, and gives up beyond it", async () => {
    proxy.setFault((r) => (isManifest(r) ? { kind: "slow", delayMs: 300 } : undefined));
    expect(await exists({ timeoutMs: 3_000 })).toEqual({ status: "present", digest: env.baseImageDigest });
    proxy.setFault((r) => (isManifest(r) ? { kind: "slow", delayMs: 3_000 } : undefined));
    expect(await exists({ timeoutMs: 1_000 })).toEqual({ status: "unknown", reason: `${proxy.host} did not answer within 1 s` });
  });
});
