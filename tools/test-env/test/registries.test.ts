import { describe, expect, it } from "vitest";
import { testEnv } from "../src/index.js";

const MANIFEST_ACCEPT = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

describe("registries", () => {
  it("serves the open registry without credentials", async () => {
    const res = await fetch(`http://${testEnv().registry}/v2/`);
    expect(res.status).toBe(200);
  });

  it("asks for basic auth on the auth registry", async () => {
    const res = await fetch(`http://${testEnv().authRegistry}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
  });

  it("accepts the generated credentials and rejects wrong ones", async () => {
    const env = testEnv();
    const ok = await fetch(`http://${env.authRegistry}/v2/`, { headers: { authorization: basic(env.authUser, env.authPassword) } });
    expect(ok.status).toBe(200);
    const wrong = await fetch(`http://${env.authRegistry}/v2/`, { headers: { authorization: basic(env.authUser, `${env.authPassword}x`) } });
    expect(wrong.status).toBe(401);
  });

  it("holds the seeded base image with the advertised digest", async () => {
    const env = testEnv();
    const ref = env.baseImage.slice(env.registry.length + 1);
    const [repo, tag] = ref.split(":") as [string, string];
    const res = await fetch(`http://${env.registry}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { accept: MANIFEST_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-content-digest")).toBe(env.baseImageDigest);
  });
});
