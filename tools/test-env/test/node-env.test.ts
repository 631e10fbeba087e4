/** The Node.js part of the test environment: the offline base image and the npm registry (tools/test-env/node.sh). */
import { describe, expect, it } from "vitest";
import { nodeTestEnv, runImage, testNpmrc } from "../src/index.js";

describe("the Node.js base image", () => {
  it("has Debian bookworm's Node.js 18 and npm, the user node (uid 1000) and CMD node", async () => {
    const { nodeBaseImage, nodeVersion } = nodeTestEnv();
    expect(nodeVersion).toBe("18");
    const out = await runImage(nodeBaseImage, ["sh", "-c", 'node --version && npm --version && id node && echo "$PATH" && cat /etc/debian_version']);
    const [node, npm, id, path, debian] = out.split("\n");
    expect(node).toMatch(/^v18\.\d+\.\d+$/);
    expect(npm).toMatch(/^9\.\d+\.\d+$/);
    expect(id).toBe("uid=1000(node) gid=1000(node) groups=1000(node)");
    expect(path).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(debian).toMatch(/^12\./);
    expect(await runImage(nodeBaseImage, [], { input: "console.log(6 * 7)\n" })).toBe("42");
  });
});

describe("the npm registry", () => {
  const get = (path: string, token?: string) =>
    fetch(`${nodeTestEnv().npmRegistry}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });

  it("serves the seeded packages with their public integrity, and nothing it was not given", async () => {
    const pnpm = (await (await get("pnpm")).json()) as { versions: Record<string, { dist: { integrity: string; tarball: string } }> };
    expect(Object.keys(pnpm.versions)).toEqual(["10.34.9"]);
    expect(pnpm.versions["10.34.9"]!.dist.integrity).toMatch(/^sha512-/);
    expect(pnpm.versions["10.34.9"]!.dist.tarball.startsWith(nodeTestEnv().npmRegistry)).toBe(true);
    const ms = (await (await get("ms")).json()) as { versions: Record<string, unknown> };
    expect(Object.keys(ms.versions).sort()).toEqual(["2.0.0", "2.1.3"]);
    expect((await get("left-pad")).status).toBe(404);
  });

  it("serves @imagespec-test/* only to a logged-in user", async () => {
    expect([401, 403]).toContain((await get("@imagespec-test%2fprivate-greeting")).status);
    const response = await get("@imagespec-test%2fprivate-greeting", nodeTestEnv().npmToken);
    expect(response.status).toBe(200);
    expect(Object.keys(((await response.json()) as { versions: object }).versions)).toEqual(["1.0.0"]);
    expect(testNpmrc()).toBe(`registry=${nodeTestEnv().npmRegistry}\n//127.0.0.1:4873/:_authToken=${nodeTestEnv().npmToken}\n`);
  });
});
