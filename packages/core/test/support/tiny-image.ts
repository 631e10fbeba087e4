/**
 * The smallest real image, uploaded through the distribution API itself (monolithic blob uploads and a manifest
 * PUT), so registry tests need no Docker engine.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { expect } from "vitest";
import type { RegistryClient } from "../../src/registry/index.js";
import { registryRequest } from "../../src/registry/client.js";

export interface TinyImage {
  manifest: Buffer;
  digest: string;
  blobs: Buffer[];
}

export const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/**
 * One empty layer (an empty tar, gzipped), its config (carrying `marker` so images differ, and `run` as its
 * Entrypoint/Cmd), and an OCI manifest.
 */
export function tinyImage(marker: string, run: { Entrypoint?: string[]; Cmd?: string[]; architecture?: string } = {}): TinyImage {
  const emptyTar = Buffer.alloc(1024); // an empty tar archive is two zero blocks
  const layer = gzipSync(emptyTar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: run.architecture ?? "amd64",
      os: "linux",
      config: { Env: [`IMAGESPEC_TEST_RUN=${marker}`], ...(run.Entrypoint && { Entrypoint: run.Entrypoint }), ...(run.Cmd && { Cmd: run.Cmd }) },
      rootfs: { type: "layers", diff_ids: [sha256(emptyTar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
    }),
  );
  return { manifest, digest: sha256(manifest), blobs: [layer, config] };
}

/** Uploads the blobs and the manifest as `<repository>:<tag>`; returns the digest the registry reports. */
export async function pushTinyImage(client: RegistryClient, domain: string, repository: string, tag: string, image: TinyImage): Promise<string | null> {
  const repo = { domain, path: repository };
  const push = ["pull", "push"] as const;
  for (const blob of image.blobs) {
    const session = await registryRequest(client, repo, `/v2/${repository}/blobs/uploads/`, { method: "POST", actions: push });
    expect(session.status, `starting a blob upload on ${domain}`).toBe(202);
    const location = new URL(session.headers.get("location") ?? "", client.registryBaseUrl(domain));
    location.searchParams.set("digest", sha256(blob));
    const uploaded = await registryRequest(client, repo, location.toString(), {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream" },
      body: blob,
      actions: push,
    });
    expect(uploaded.status, `uploading a blob to ${domain}`).toBe(201);
  }
  const put = await registryRequest(client, repo, `/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    body: image.manifest,
    actions: push,
  });
  expect(put.status, `putting the manifest on ${domain}`).toBe(201);
  return put.headers.get("docker-content-digest");
}

/** Fails the file loudly: tests that need the real environment are never skipped. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: this test needs the real test environment. Run it through vitest in its package, whose globalSetup (tools/test-env/global-setup.ts) starts it with scripts/test-env up.`,
    );
  }
  return value;
}
