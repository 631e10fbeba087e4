#!/usr/bin/env node
/**
 * Seeds the test environment's npm registry (verdaccio on 127.0.0.1, no uplink), called by tools/test-env/node.sh:
 *
 *   node npm-registry.mjs seed --registry URL --user NAME --password-file FILE --tarballs DIR --npmrc FILE name@version...
 *   node npm-registry.mjs publish --registry URL --token TOKEN --tarball FILE      (tests: one package)
 *   node npm-registry.mjs unpublish --registry URL --token TOKEN --name NAME
 *
 * Logs in (verdaccio creates the user the first time), publishes every listed package the registry lacks (the
 * tarball fetched once with the host's `npm pack` from the registry its npm uses, cached in DIR, published unchanged,
 * so its integrity is the public one), publishes @imagespec-test/private-greeting (readable only when logged in),
 * writes an npmrc for the registry with the token, and prints the token. Every request is bounded.
 */

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const PRIVATE_PACKAGE = "@imagespec-test/private-greeting";
const PRIVATE_VERSION = "1.0.0";
const TIMEOUT_MS = 60_000;

function fail(message) {
  process.stderr.write(`npm-registry: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const options = { specs: [] };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg.startsWith("--")) options[arg.slice(2)] = rest[++i];
    else options.specs.push(arg);
  }
  return { command, options };
}

/** `@scope/name@1.2.3` → [`@scope/name`, `1.2.3`]. */
function splitSpec(spec) {
  const at = spec.lastIndexOf("@");
  if (at <= 0) fail(`${spec} is not name@version`);
  return [spec.slice(0, at), spec.slice(at + 1)];
}

async function request(url, init = {}) {
  return fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
}

/** Logs in (verdaccio answers a PUT with Basic credentials of an existing user) or, the first time, creates the user. */
async function login(registry, user, password) {
  const put = (headers) =>
    request(`${registry}-/user/org.couchdb.user:${encodeURIComponent(user)}`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ _id: `org.couchdb.user:${user}`, name: user, password, type: "user", roles: [] }),
    });
  let response = await put({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
  if (!response.ok) response = await put({});
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.token) fail(`logging in as ${user} answered ${response.status}: ${JSON.stringify(body)}`);
  return body.token;
}

async function publishedVersions(registry, token, name) {
  const response = await request(`${registry}${name.replace("/", "%2f")}`, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  if (response.status === 404) return new Set();
  if (!response.ok) fail(`GET ${name} answered ${response.status}`);
  const body = await response.json();
  return new Set(Object.keys(body.versions ?? {}));
}

/** The package.json inside a tarball (its top folder is `package/` for most packages, `node/` for @types/node). */
function manifestOf(tarball) {
  const entries = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).split("\n");
  const entry = entries.find((e) => /^[^/]+\/package\.json$/.test(e));
  if (!entry) fail(`${tarball} has no package.json at its top`);
  return JSON.parse(execFileSync("tar", ["-xzOf", tarball, entry], { encoding: "utf8" }));
}

/** The tarball of name@version from the host npm's own registry, cached in `dir`. */
function fetchTarball(dir, name, version) {
  const file = path.join(dir, `${name.replace("/", "+")}-${version}.tgz`);
  if (existsSync(file)) return file;
  const tmp = mkdtempSync(path.join(dir, ".pack-"));
  try {
    const out = execFileSync("npm", ["pack", `${name}@${version}`, "--pack-destination", tmp, "--json", "--ignore-scripts"], {
      cwd: tmp,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 300_000,
    });
    const [packed] = JSON.parse(out);
    renameSync(path.join(tmp, packed.filename), file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

/** A tarball of the private package, made with npm pack from a folder written here. */
function privateTarball(dir) {
  const file = path.join(dir, `${PRIVATE_PACKAGE.replace("/", "+")}-${PRIVATE_VERSION}.tgz`);
  if (existsSync(file)) return file;
  const src = mkdtempSync(path.join(os.tmpdir(), "imagespec-private-greeting-"));
  try {
    writeFileSync(
      path.join(src, "package.json"),
      `${JSON.stringify({ name: PRIVATE_PACKAGE, version: PRIVATE_VERSION, description: "A package only a logged-in user of the test npm registry can install.", main: "index.js", license: "Apache-2.0" }, null, 2)}\n`,
    );
    writeFileSync(path.join(src, "index.js"), 'module.exports = (name) => `Hello, ${name}, from a private package!`;\n');
    const out = execFileSync("npm", ["pack", "--pack-destination", dir, "--json", "--ignore-scripts"], { cwd: src, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    renameSync(path.join(dir, JSON.parse(out)[0].filename), file);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
  return file;
}

async function publish(registry, token, tarball) {
  const manifest = manifestOf(tarball);
  const { name, version } = manifest;
  const data = readFileSync(tarball);
  const file = `${name.split("/").pop()}-${version}.tgz`;
  const body = {
    _id: name,
    name,
    description: manifest.description,
    "dist-tags": { latest: version },
    versions: {
      [version]: {
        ...manifest,
        _id: `${name}@${version}`,
        dist: {
          shasum: createHash("sha1").update(data).digest("hex"),
          integrity: `sha512-${createHash("sha512").update(data).digest("base64")}`,
          tarball: `${registry}${name}/-/${file}`,
        },
      },
    },
    _attachments: { [file]: { content_type: "application/octet-stream", data: data.toString("base64"), length: data.length } },
  };
  const response = await request(`${registry}${name.replace("/", "%2f")}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (!response.ok) fail(`publishing ${name}@${version} answered ${response.status}: ${await response.text()}`);
  process.stderr.write(`npm-registry: published ${name}@${version}\n`);
}

async function seed(options) {
  const registry = options.registry.endsWith("/") ? options.registry : `${options.registry}/`;
  const password = readFileSync(options["password-file"], "utf8").trim();
  const token = await login(registry, options.user, password);
  mkdirSync(options.tarballs, { recursive: true });
  const wanted = options.specs.map(splitSpec);
  wanted.push([PRIVATE_PACKAGE, PRIVATE_VERSION]);
  for (const [name, version] of wanted) {
    if ((await publishedVersions(registry, token, name)).has(version)) continue;
    const tarball = name === PRIVATE_PACKAGE ? privateTarball(options.tarballs) : fetchTarball(options.tarballs, name, version);
    await publish(registry, token, tarball);
  }
  const host = new URL(registry).host;
  writeFileSync(`${options.npmrc}.tmp`, `registry=${registry}\n//${host}/:_authToken=${token}\n`, { mode: 0o600 });
  renameSync(`${options.npmrc}.tmp`, options.npmrc);
  process.stdout.write(`${token}\n`);
}

async function unpublish(registry, token, name) {
  const response = await request(`${registry}${name.replace("/", "%2f")}/-rev/imagespec`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
  if (!response.ok && response.status !== 404) fail(`unpublishing ${name} answered ${response.status}: ${await response.text()}`);
}

const REQUIRED = {
  seed: ["registry", "user", "password-file", "tarballs", "npmrc"],
  publish: ["registry", "token", "tarball"],
  unpublish: ["registry", "token", "name"],
};
const { command, options } = parseArgs(process.argv.slice(2));
if (!Object.hasOwn(REQUIRED, command ?? "")) fail(`unknown command ${command ?? "(none)"}; use seed, publish or unpublish (see the comment at the top)`);
for (const key of REQUIRED[command]) if (!options[key]) fail(`--${key} is missing`);
const registry = options.registry.endsWith("/") ? options.registry : `${options.registry}/`;
if (command === "seed") await seed(options);
else if (command === "publish") await publish(registry, options.token, options.tarball);
else await unpublish(registry, options.token, options.name);
