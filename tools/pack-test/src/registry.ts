import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { cleanEnv, run } from "./run.js";

const require = createRequire(import.meta.url);

/** A verdaccio on 127.0.0.1, with its storage in a folder of ours, that this process started and stops. */
export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** A token for a user created on it, allowed to publish. */
  readonly token: string;
  /** An npmrc (for npm_config_userconfig) that makes npm and pnpm use this registry, logged in. */
  readonly npmrc: string;
  /** What verdaccio printed, for an error message. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The registry npm itself uses on this machine (normally registry.npmjs.org): verdaccio's uplink for the rest. */
async function upstreamRegistry(cwd: string): Promise<string> {
  const url = (await run("npm", ["config", "get", "registry"], { cwd })).trim();
  return url.endsWith("/") ? url : `${url}/`;
}

/**
 * The certificate authorities npm trusts (its `cafile`), for verdaccio to trust too when it fetches from upstream:
 * where HTTPS goes through an inspecting proxy, npm is told about its CA in npmrc, and NODE_EXTRA_CA_CERTS is not
 * always in a task's environment (turbo passes only the variables it is told about).
 */
async function upstreamCertificates(cwd: string): Promise<Record<string, string>> {
  const cafile = (await run("npm", ["config", "get", "cafile"], { cwd })).trim();
  if (cafile && cafile !== "null" && cafile !== "undefined") return { NODE_EXTRA_CA_CERTS: cafile };
  return process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {};
}

/**
 * Starts verdaccio in `dir` (config, storage, htpasswd, npmrc). `@imagespec/*` and `imagespec` are served only from
 * what is published to it — never from upstream, so an install can only succeed with what our release published —
 * and every other package is proxied from npm's own registry.
 */
export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const local = { access: "$all", publish: "$authenticated", unpublish: "$authenticated" };
  // YAML is a superset of JSON, so the config is written as JSON.
  const config = {
    storage: path.join(dir, "storage"),
    auth: { htpasswd: { file: path.join(dir, "htpasswd"), max_users: 10 } },
    uplinks: { upstream: { url: await upstreamRegistry(dir), timeout: "60s", max_fails: 5 } },
    packages: { "@imagespec/*": local, imagespec: local, "**": { access: "$all", publish: "$authenticated", proxy: "upstream" } },
    web: { enable: false },
    publish: { allow_offline: true },
    log: { type: "stdout", format: "pretty", level: "warn" },
  };
  const configFile = path.join(dir, "config.yaml");
  await writeFile(configFile, JSON.stringify(config, null, 2));

  const bin = path.join(path.dirname(require.resolve("verdaccio/package.json")), "bin", "verdaccio");
  let output = "";
  const child: ResultPromise = execa(process.execPath, [bin, "--config", configFile, "--listen", `127.0.0.1:${port}`], {
    cwd: dir,
    env: cleanEnv(await upstreamCertificates(dir)),
    extendEnv: false,
    stdin: "ignore",
    all: true,
    reject: false,
  });
  child.all?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  let exited = false;
  void child.then(() => {
    exited = true;
  });

  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await child;
    clearTimeout(timer);
  };

  try {
    // Bounded wait for it to answer: 60 s at most.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new Error("verdaccio exited");
      const ok = await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error("verdaccio did not answer within 60 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    // `npm adduser`, as its HTTP request: verdaccio creates the user and answers with a token.
    const user = "imagespec-release";
    const response = await fetch(`${url}-/user/org.couchdb.user:${user}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: user, password: `pw-${process.pid}-${Date.now()}` }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as { token?: string; error?: string };
    if (!response.ok || !body.token) throw new Error(`creating a user answered ${response.status}: ${JSON.stringify(body)}`);
    const npmrc = path.join(dir, "npmrc");
    await writeFile(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${body.token}\n`);
    return { url, token: body.token, npmrc, output: () => output, stop };
  } catch (error) {
    await stop();
    throw new Error(`Cannot start the local registry on ${url}: ${(error as Error).message}\n${output}`);
  }
}
