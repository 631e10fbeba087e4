#!/usr/bin/env node
// @ts-check
/**
 * The test environment's token server: the `realm` of the token-auth registry that `scripts/test-env up` starts
 * (distribution's token auth, docs.docker.com/registry/spec/auth/token and /jwt). Plain node, no dependencies, so
 * test-env runs it as a daemon before anything is installed or built.
 *
 *   node token-server.mjs CONFIG.json
 *
 * CONFIG.json: { host, port, service, issuer, user, reader, passwordFile, keyFile, certFile, lifetimeS }
 *
 * GET /token?service=S&scope=repository:NAME:pull,push (scope may repeat), with or without HTTP basic credentials:
 * - `user` gets every action it asks for on repositories; `reader` (same password) gets `pull` only;
 * - no credentials: a valid token that grants nothing, so the registry answers 401 insufficient_scope;
 * - wrong credentials: 401 from here.
 * The token is an ES256 JWT whose header carries the signing certificate (`x5c`); the registry trusts it because
 * that certificate is issued by the CA in its `rootcertbundle`.
 *
 * GET /healthz answers which source and config it runs (sha256), so test-env can tell a stale daemon.
 */
import { createHash, createPrivateKey, randomBytes, sign, timingSafeEqual, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write("usage: node token-server.mjs CONFIG.json\n");
  process.exit(2);
}
const configText = readFileSync(configPath, "utf8");
const config = JSON.parse(configText);
const password = readFileSync(config.passwordFile, "utf8").trim();
const signingKey = createPrivateKey(readFileSync(config.keyFile));
const x5c = [new X509Certificate(readFileSync(config.certFile)).raw.toString("base64")];
const lifetimeS = Number(config.lifetimeS ?? 300);
const sha256 = (/** @type {string | Buffer} */ data) => createHash("sha256").update(data).digest("hex");
const health = JSON.stringify({
  service: config.service,
  issuer: config.issuer,
  source: sha256(readFileSync(fileURLToPath(import.meta.url))),
  config: sha256(configText),
});

const ACTIONS = new Set(["pull", "push", "delete", "*"]);
const base64url = (/** @type {string | Buffer} */ data) => Buffer.from(data).toString("base64url");

/** Who is asking: the user name, "" for anonymous, undefined for wrong credentials. */
function authenticate(/** @type {string | undefined} */ header) {
  if (!header) return "";
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const given = Buffer.from(decoded.slice(colon + 1));
  const known = Buffer.from(password);
  const passwordMatches = given.length === known.length && timingSafeEqual(given, known);
  return passwordMatches && (user === config.user || user === config.reader) ? user : undefined;
}

/** `repository:name:pull,push` → an access entry with what `user` may do of what it asks (the name may hold colons). */
function grant(/** @type {string} */ scope, /** @type {string} */ user) {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last <= first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const asked = scope.slice(last + 1).split(",").filter((action) => ACTIONS.has(action));
  if (type !== "repository" || name === "") return undefined;
  const actions = user === config.user ? asked : user === config.reader ? asked.filter((action) => action === "pull") : [];
  return { type, name, actions };
}

function token(/** @type {string} */ user, /** @type {object[]} */ access) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "ES256", typ: "JWT", x5c };
  const claims = {
    iss: config.issuer,
    sub: user,
    aud: config.service,
    exp: now + lifetimeS,
    nbf: now,
    iat: now,
    jti: randomBytes(16).toString("hex"),
    access,
  };
  const signed = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  // JWS wants ECDSA signatures as r || s, not DER.
  const signature = sign("sha256", Buffer.from(signed), { key: signingKey, dsaEncoding: "ieee-p1363" });
  return { jwt: `${signed}.${base64url(signature)}`, issuedAt: new Date(now * 1000).toISOString() };
}

function answer(
  /** @type {import("node:http").ServerResponse} */ response,
  /** @type {number} */ status,
  /** @type {unknown} */ body,
  /** @type {Record<string, string>} */ headers = {},
) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  response.end(text);
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://token-server");
  const log = (/** @type {number} */ status, /** @type {string} */ detail = "") =>
    process.stdout.write(`${new Date().toISOString()} ${request.method} ${url.pathname} ${status}${detail ? ` ${detail}` : ""}\n`);

  if (url.pathname === "/healthz" && request.method === "GET") return answer(response, 200, health);
  if (url.pathname !== "/token") {
    log(404);
    return answer(response, 404, { errors: [{ code: "NOT_FOUND", message: "the token endpoint is /token" }] });
  }
  if (request.method !== "GET") {
    // No OAuth2 (POST) support: clients fall back to GET, as distribution's token spec allows.
    log(405);
    return answer(response, 405, { errors: [{ code: "UNSUPPORTED", message: "use GET" }] }, { Allow: "GET" });
  }
  const user = authenticate(request.headers.authorization);
  if (user === undefined) {
    log(401, "wrong credentials");
    return answer(response, 401, { errors: [{ code: "UNAUTHORIZED", message: "wrong user name or password" }] }, {
      "WWW-Authenticate": `Basic realm="${config.service}"`,
    });
  }
  const service = url.searchParams.get("service");
  if (service !== config.service) {
    log(400, `unknown service ${JSON.stringify(service)}`);
    return answer(response, 400, { errors: [{ code: "INVALID_REQUEST", message: `unknown service, this one issues tokens for ${config.service}` }] });
  }
  const scopes = url.searchParams.getAll("scope").flatMap((scope) => scope.split(" ")).filter(Boolean);
  // Only what is granted goes in the token: an anonymous caller gets `access: []`.
  const access = scopes.map((scope) => grant(scope, user)).filter((entry) => entry !== undefined && entry.actions.length > 0);
  const { jwt, issuedAt } = token(user, access);
  log(200, `${user || "anonymous"} ${scopes.join(" ") || "(no scope)"} -> ${access.map((a) => `${a.name}:${a.actions.join(",")}`).join(" ") || "(nothing)"}`);
  return answer(response, 200, { token: jwt, access_token: jwt, expires_in: lifetimeS, issued_at: issuedAt });
});

server.listen(Number(config.port), config.host ?? "127.0.0.1", () => {
  process.stdout.write(`${new Date().toISOString()} token server for ${config.service} listening on ${config.host ?? "127.0.0.1"}:${config.port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
