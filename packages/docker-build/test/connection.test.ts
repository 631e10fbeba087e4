/**
 * The connection module's parts that need no engine: reading engine addresses as the docker CLI does (DOCKER_TLS_VERIFY,
 * DOCKER_CERT_PATH, HOME), the known_hosts check every ssh:// engine goes through, and the TLS and SSH material errors.
 * The connections themselves are tested against real engines in builder-docker's and builder-remote's suites.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isImageSpecError } from "@imagespec/core";
import { describe, expect, it } from "vitest";
import { knownHostsVerifier } from "../src/connection/known-hosts.js";
import { localEngineAddress, parseEngineHost } from "../src/index.js";
import { engineConnectionFailure, isEngineConnectionError, openEngineConnection } from "../src/engine.js";

const home = { HOME: "/home/u" } as NodeJS.ProcessEnv;

describe("parseEngineHost", () => {
  it("reads sockets, plain TCP, TLS and SSH addresses", () => {
    expect(parseEngineHost("unix:///run/docker.sock", { env: home })).toEqual({
      endpoint: "unix:///run/docker.sock",
      transport: { kind: "socket", socketPath: "/run/docker.sock" },
    });
    expect(parseEngineHost("tcp://build:2375", { env: home })).toEqual({
      endpoint: "tcp://build:2375",
      transport: { kind: "tcp", host: "build", port: 2375, tls: false },
    });
    expect(parseEngineHost("build:1234", { env: home }).transport).toEqual({ kind: "tcp", host: "build", port: 1234, tls: false });
    // Port 2376 is Docker's TLS port: TLS with the system CAs when no certificate folder is named.
    expect(parseEngineHost("tcp://build:2376", { env: home }).transport).toEqual({ kind: "tcp", host: "build", port: 2376, tls: {} });
    expect(parseEngineHost("ssh://ci@build:2222", { env: home })).toEqual({
      endpoint: "ssh://ci@build:2222",
      transport: { kind: "ssh", host: "build", port: 2222, username: "ci", identityFile: undefined, knownHosts: "/home/u/.ssh/known_hosts" },
    });
    expect(parseEngineHost("ssh://build", { env: home, identityFile: "~/.ssh/k", knownHosts: "/etc/ssh/ssh_known_hosts" }).transport).toEqual({
      kind: "ssh",
      host: "build",
      port: 22,
      username: undefined,
      identityFile: "/home/u/.ssh/k",
      knownHosts: "/etc/ssh/ssh_known_hosts",
    });
  });

  it("honours DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI does", () => {
    expect(parseEngineHost("tcp://build", { env: { ...home, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" } }).transport).toEqual({
      kind: "tcp",
      host: "build",
      port: 2376,
      tls: { certPath: "/certs" },
    });
    // Verification without a folder: the docker CLI's ~/.docker.
    expect(parseEngineHost("tcp://build:2375", { env: { ...home, DOCKER_TLS_VERIFY: "1" } }).transport).toEqual({
      kind: "tcp",
      host: "build",
      port: 2375,
      tls: { certPath: "/home/u/.docker" },
    });
    expect(parseEngineHost("https://build", { env: home }).transport).toEqual({ kind: "tcp", host: "build", port: 2376, tls: {} });
  });

  it("refuses what is not an engine address, naming the field and the value", () => {
    for (const [host, why] of [
      ["http://", "is not an engine address"],
      ["tcp://:2375", "is not an engine address"],
      ["ftp://build", "uses ftp://"],
      ["tcp://build:2375/v1", "has a path"],
      ["ssh://u:pw@build", "has a password"],
      ["tcp://u@build", "has a user name"],
    ] as const) {
      let error: unknown;
      try {
        parseEngineHost(host, { env: home, field: "builders.docker.host" });
      } catch (caught) {
        error = caught;
      }
      expect(isImageSpecError(error) && error.code, host).toBe("CONFIG_ERROR");
      expect((error as Error).message, host).toContain(`Cannot connect to the Docker engine: ${JSON.stringify(host)} ${why}`);
      expect((error as { field?: string }).field).toBe("builders.docker.host");
    }
  });

  it("without a host: DOCKER_HOST, else the local socket", () => {
    expect(localEngineAddress(undefined, { env: { ...home, DOCKER_HOST: "ssh://ci@build" } }).endpoint).toBe("ssh://ci@build");
    expect(localEngineAddress("unix:///x.sock", { env: { ...home, DOCKER_HOST: "ssh://ci@build" } }).endpoint).toBe("unix:///x.sock");
    expect(localEngineAddress(undefined, { env: { HOME: "/nonexistent" } })).toEqual({
      endpoint: "unix:///var/run/docker.sock",
      transport: { kind: "socket", socketPath: "/var/run/docker.sock" },
    });
  });
});

describe("knownHostsVerifier", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "imagespec-known-hosts-"));
  const keygen = (name: string) => {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path.join(dir, name)], { stdio: "ignore" });
    const [type, base64] = readFileSync(path.join(dir, `${name}.pub`), "utf8")
      .trim()
      .split(" ") as [string, string];
    return { line: `${type} ${base64}`, blob: Buffer.from(base64, "base64") };
  };
  const host = keygen("host");
  const other = keygen("other");
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };

  it("accepts exactly the listed key, under plain, bracketed, wildcard and hashed names", async () => {
    const plain = await knownHostsVerifier(file("plain", `build ${host.line}\n`), "build", 22);
    expect(plain(host.blob)).toBe(true);
    expect(plain(other.blob)).toBe(false);
    expect(plain.refusal).toContain("does not match the one");
    expect(await knownHostsVerifier(file("port", `[build]:2222 ${host.line}\n`), "build", 2222).then((v) => v(host.blob))).toBe(true);
    expect(await knownHostsVerifier(file("port-plain", `build ${host.line}\n`), "build", 2222).then((v) => v(host.blob))).toBe(false);
    expect(await knownHostsVerifier(file("wild", `*.example.com,!evil.example.com ${host.line}\n`), "b.example.com", 22).then((v) => v(host.blob))).toBe(true);
    expect(await knownHostsVerifier(file("wild2", `*.example.com,!evil.example.com ${host.line}\n`), "evil.example.com", 22).then((v) => v(host.blob))).toBe(
      false,
    );
    const hashed = file("hashed", `build ${host.line}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", hashed], { stdio: "ignore" });
    expect(readFileSync(hashed, "utf8")).toMatch(/^\|1\|/);
    expect(await knownHostsVerifier(hashed, "build", 22).then((v) => v(host.blob))).toBe(true);
  });

  it("refuses an unknown host, a revoked key and a missing file, saying how to add the key", async () => {
    const unknown = await knownHostsVerifier(file("other-host", `elsewhere ${host.line}\n`), "build", 2222);
    expect(unknown(host.blob)).toBe(false);
    expect(unknown.refusal).toBe(
      `its SSH host key is not in ${path.join(dir, "other-host")} (no entry for [build]:2222); add it with \`ssh-keyscan -p 2222 build >> ${path.join(dir, "other-host")}\` (after checking its fingerprint), or connect once with ssh`,
    );
    const revoked = await knownHostsVerifier(file("revoked", `build ${host.line}\n@revoked * ${host.line}\n`), "build", 22);
    expect(revoked(host.blob)).toBe(false);
    expect(revoked.refusal).toContain("marked @revoked");
    const missing = await knownHostsVerifier(path.join(dir, "none"), "build", 22);
    expect(missing(host.blob)).toBe(false);
    expect(missing.refusal).toContain(`${path.join(dir, "none")} does not exist`);
  });
});

describe("openEngineConnection before any connection", () => {
  it("names the TLS file or SSH key at fault as a config error", async () => {
    const noFolder = await openEngineConnection(
      parseEngineHost("tcp://127.0.0.1:9", { env: { HOME: "/h", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/nonexistent/certs" } }),
      { timeoutMs: 1_000 },
    ).catch((e: unknown) => e);
    expect(isEngineConnectionError(noFolder) && noFolder.kind).toBe("config");
    expect((noFolder as Error).message).toBe("the TLS folder /nonexistent/certs does not exist");
    const noKey = await openEngineConnection(parseEngineHost("ssh://u@127.0.0.1:9", { env: { HOME: "/h" }, identityFile: "/nonexistent/key" }), {
      timeoutMs: 1_000,
    }).catch((e: unknown) => e);
    expect(isEngineConnectionError(noKey) && noKey.kind).toBe("config");
    const failure = engineConnectionFailure(noKey as never, "build app");
    expect(failure.code).toBe("CONFIG_ERROR");
    expect(failure.message).toBe(
      "Cannot build app: the Docker engine at ssh://u@127.0.0.1:9 cannot be reached: cannot read the SSH key /nonexistent/key: it does not exist",
    );
  });

  it("an engine that is not there is `down`, and the builder's message says no engine answers", async () => {
    const error = await openEngineConnection(parseEngineHost("unix:///nonexistent/docker.sock"), { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(isEngineConnectionError(error) && error.kind).toBe("down");
    const failure = engineConnectionFailure(error as never, "build app", "Start Docker.");
    expect(failure.code).toBe("ENVIRONMENT");
    expect(failure.message).toMatch(/^Cannot build app: no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock \(connect ENOENT/);
    expect(failure.hint).toBe("Start Docker.");
  });
});
