import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { tokenRegistryTestEnv } from "../src/index.js";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const part = (jwt: string, index: 0 | 1) => JSON.parse(Buffer.from(jwt.split(".")[index] ?? "", "base64url").toString("utf8"));

/** The registry's Bearer challenge, as parameters. */
async function challenge(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const header = res.headers.get("www-authenticate") ?? "";
  const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  return { status: res.status, scheme: header.split(" ")[0], params };
}

async function getToken(scope: string, authorization?: string) {
  const env = tokenRegistryTestEnv();
  const { params } = await challenge(`http://${env.tokenRegistry}/v2/`);
  const url = new URL(env.tokenRealm);
  url.searchParams.set("service", params.service ?? "");
  url.searchParams.set("scope", scope);
  const res = await fetch(url, { headers: authorization ? { authorization } : {} });
  const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
  return { status: res.status, body };
}

const probe = "imagespec-test-env/token-probe";
const tagsOf = (repository: string) => `http://${tokenRegistryTestEnv().tokenRegistry}/v2/${repository}/tags/list`;

describe("the token registry and its token server", () => {
  it("sends callers without a token to the token server's realm, naming its service", async () => {
    const env = tokenRegistryTestEnv();
    const { status, scheme, params } = await challenge(tagsOf(probe));
    expect(status).toBe(401);
    expect(scheme).toBe("Bearer");
    expect(params).toMatchObject({ realm: env.tokenRealm, scope: `repository:${probe}:pull` });
    expect(params.service).toBeTruthy();
  });

  it("issues an ES256 JWT with the signing certificate in x5c and the distribution claims", async () => {
    const env = tokenRegistryTestEnv();
    const { status, body } = await getToken(`repository:${probe}:pull,push`, basic(env.tokenUser, env.tokenPassword));
    expect(status).toBe(200);
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBeGreaterThan(0);
    expect(Math.abs(Date.parse(body.issued_at ?? "") - Date.now())).toBeLessThan(60_000);
    const header = part(body.token ?? "", 0);
    expect(header).toMatchObject({ alg: "ES256", typ: "JWT" });
    expect(header.x5c).toHaveLength(1);
    expect(new X509Certificate(Buffer.from(header.x5c[0], "base64")).subject).toContain("imagespec test-env token signer");
    const claims = part(body.token ?? "", 1);
    const { params } = await challenge(`http://${env.tokenRegistry}/v2/`);
    expect(claims).toMatchObject({ sub: env.tokenUser, aud: params.service, access: [{ type: "repository", name: probe, actions: ["pull", "push"] }] });
    expect(claims.exp).toBeGreaterThan(claims.iat);
    expect(claims.nbf).toBeLessThanOrEqual(claims.iat);
    expect(claims.iss).toBeTruthy();
    expect(claims.jti).toBeTruthy();
  });

  it("gives the reader pull only, anonymous callers nothing, and wrong credentials a 401", async () => {
    const env = tokenRegistryTestEnv();
    const reader = await getToken(`repository:${probe}:pull,push`, basic(env.tokenReader, env.tokenPassword));
    expect(part(reader.body.token ?? "", 1).access).toEqual([{ type: "repository", name: probe, actions: ["pull"] }]);
    const anonymous = await getToken(`repository:${probe}:pull`);
    expect(anonymous.status).toBe(200);
    expect(part(anonymous.body.token ?? "", 1).access).toEqual([]);
    expect((await getToken(`repository:${probe}:pull`, basic(env.tokenUser, `${env.tokenPassword}x`))).status).toBe(401);
  });

  it("lets a token through for its scope only, and refuses a token whose claims were altered", async () => {
    const env = tokenRegistryTestEnv();
    const { body } = await getToken(`repository:${probe}:pull`, basic(env.tokenUser, env.tokenPassword));
    const token = body.token ?? "";
    const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
    // 404 NAME_UNKNOWN: past authentication (the probe repository is never pushed).
    expect((await fetch(tagsOf(probe), { headers: bearer(token) })).status).toBe(404);
    const other = await challenge(tagsOf(`${probe}-other`), bearer(token));
    expect(other.status).toBe(401);
    expect(other.params).toMatchObject({ scope: `repository:${probe}-other:pull`, error: "insufficient_scope" });
    // The same signature over claims that grant another repository: the registry checks the signature.
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    claims.access = [{ type: "repository", name: `${probe}-other`, actions: ["pull"] }];
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    const refused = await challenge(tagsOf(`${probe}-other`), bearer(forged));
    expect(refused.status).toBe(401);
    expect(refused.params.error).toBe("invalid_token");
  });
});
