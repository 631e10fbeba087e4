import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isImageSpecError } from "../src/errors.js";
import { createDockerConfigResolver, defaultDockerConfigPath, toDockerEngineAuth } from "../src/registry/index.js";

const FAKE_HELPER = new URL("./fixtures/registry/docker-credential-fake", import.meta.url);
const SECRET = "s3cr3t-never-shown";

let dir: string;
let binDir: string;
let storePath: string;
let logPath: string;
/** An environment whose PATH finds docker-credential-fake, and whose HOME is the temp dir. */
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "imagespec-credentials-"));
  binDir = join(dir, "bin");
  await mkdir(binDir);
  await copyFile(FAKE_HELPER, join(binDir, "docker-credential-fake"));
  await chmod(join(binDir, "docker-credential-fake"), 0o755);
  storePath = join(dir, "store.json");
  logPath = join(dir, "helper.log");
  await writeFile(storePath, "{}");
  env = {
    PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}`,
    HOME: dir,
    FAKE_CREDENTIAL_STORE: storePath,
    FAKE_CREDENTIAL_LOG: logPath,
  };
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(config: unknown, name = "config.json"): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof config === "string" ? config : JSON.stringify(config));
  return path;
}

async function helperCalls(): Promise<{ args: string[]; serverUrl: string }[]> {
  const text = await readFile(logPath, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { args: string[]; serverUrl: string });
}

/** Runs `action`, expects an ImageSpecError and returns it. */
async function expectImageSpecError(action: () => Promise<unknown>) {
  const error = await action().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!isImageSpecError(error)) throw new Error(`expected an ImageSpecError, got ${String(error)}`);
  return error;
}

const base64 = (text: string) => Buffer.from(text).toString("base64");

describe("auths in the Docker config file", () => {
  it("reads base64 `auth`, username/password and identitytoken entries under every key form", async () => {
    const configPath = await writeConfig({
      auths: {
        "127.0.0.1:5001": { auth: base64(`alice:${SECRET}`) },
        "https://ghcr.io/": { username: "bob", password: "pw:with:colons" },
        "http://registry.example.com/v2/": { auth: base64("carol:c") },
        "https://index.docker.io/v1/": { auth: base64("hubuser:hubpass") },
        "quay.io": { identitytoken: "refresh-me" },
      },
    });
    const resolve = createDockerConfigResolver({ configPath, env });
    expect(await resolve("127.0.0.1:5001")).toEqual({ username: "alice", password: SECRET });
    expect(await resolve("ghcr.io")).toEqual({ username: "bob", password: "pw:with:colons" });
    expect(await resolve("registry.example.com")).toEqual({ username: "carol", password: "c" });
    expect(await resolve("docker.io")).toEqual({ username: "hubuser", password: "hubpass" });
    expect(await resolve("index.docker.io")).toEqual({ username: "hubuser", password: "hubpass" });
    expect(await resolve("quay.io")).toEqual({ identityToken: "refresh-me" });
  });

  it("finds nothing for an unknown registry or an empty entry", async () => {
    const configPath = await writeConfig({ auths: { "ghcr.io": {} } });
    const resolve = createDockerConfigResolver({ configPath, env });
    expect(await resolve("ghcr.io")).toBeUndefined();
    expect(await resolve("127.0.0.1:5000")).toBeUndefined();
  });

  it("reads $DOCKER_CONFIG/config.json, else ~/.docker/config.json, and a missing default file means no credentials", async () => {
    expect(defaultDockerConfigPath({ DOCKER_CONFIG: "/etc/dc", HOME: "/home/x" })).toBe(join("/etc/dc", "config.json"));
    expect(defaultDockerConfigPath({ HOME: "/home/x" })).toBe(join("/home/x", ".docker", "config.json"));

    expect(await createDockerConfigResolver({ env })("ghcr.io")).toBeUndefined();

    await mkdir(join(dir, ".docker"));
    await writeConfig({ auths: { "ghcr.io": { auth: base64("home:pw") } } }, join(".docker", "config.json"));
    expect(await createDockerConfigResolver({ env })("ghcr.io")).toEqual({ username: "home", password: "pw" });

    await mkdir(join(dir, "elsewhere"));
    await writeConfig({ auths: { "ghcr.io": { auth: base64("env:pw") } } }, join("elsewhere", "config.json"));
    const withDockerConfig = { ...env, DOCKER_CONFIG: join(dir, "elsewhere") };
    expect(await createDockerConfigResolver({ env: withDockerConfig })("ghcr.io")).toEqual({ username: "env", password: "pw" });
  });

  it("accepts a folder as configPath, like DOCKER_CONFIG", async () => {
    await writeConfig({ auths: { "ghcr.io": { auth: base64("folder:pw") } } });
    expect(await createDockerConfigResolver({ configPath: dir, env })("ghcr.io")).toEqual({ username: "folder", password: "pw" });
  });

  it("fails with AUTH_ERROR naming the file when an explicit configPath does not exist", async () => {
    const missing = join(dir, "nope.json");
    const error = await expectImageSpecError(() => createDockerConfigResolver({ configPath: missing, env })("ghcr.io"));
    expect(error.code).toBe("AUTH_ERROR");
    expect(error.message).toBe(`Cannot read registry credentials from ${missing}: the file does not exist`);
    expect(error.hint).toMatch(/docker login/);
  });

  it("fails with AUTH_ERROR naming the file, never its content, when the file is not valid JSON", async () => {
    const configPath = await writeConfig(`{"auths": {"ghcr.io": {"auth": "${SECRET}"`);
    const error = await expectImageSpecError(() => createDockerConfigResolver({ configPath, env })("ghcr.io"));
    expect(error.code).toBe("AUTH_ERROR");
    expect(error.message).toContain(`Cannot read registry credentials from ${configPath}: it is not valid JSON`);
    expect(JSON.stringify(error.toJSON())).not.toContain(SECRET);
  });

  it("fails with AUTH_ERROR for a config of the wrong shape", async () => {
    for (const config of [[], { auths: [] }, { auths: { "ghcr.io": "x" } }, { credHelpers: { "ghcr.io": 3 } }, { credsStore: 1 }]) {
      const configPath = await writeConfig(config);
      const error = await expectImageSpecError(() => createDockerConfigResolver({ configPath, env })("ghcr.io"));
      expect(error.code).toBe("AUTH_ERROR");
      expect(error.message).toContain(configPath);
    }
  });

  it("names the registry and the file, not the value, when an `auth` entry is not user:password", async () => {
    const configPath = await writeConfig({ auths: { "ghcr.io": { auth: base64(SECRET) } } });
    const error = await expectImageSpecError(() => createDockerConfigResolver({ configPath, env })("ghcr.io"));
    expect(error.code).toBe("AUTH_ERROR");
    expect(error.message).toBe(`Cannot read the credentials for ghcr.io from ${configPath}: \`auth\` must be the base64 of \`username:password\``);
    expect(JSON.stringify(error.toJSON())).not.toContain(base64(SECRET));
  });

  it("reads the file again after a failure, so a fixed file is picked up", async () => {
    const configPath = await writeConfig("{ not json");
    const resolve = createDockerConfigResolver({ configPath, env });
    await expect(resolve("ghcr.io")).rejects.toThrow(/not valid JSON/);
    await writeConfig({ auths: { "ghcr.io": { auth: base64("fixed:pw") } } });
    expect(await resolve("ghcr.io")).toEqual({ username: "fixed", password: "pw" });
  });
});

describe("credential helpers", () => {
  it("runs docker-credential-<credHelpers[host]> get with the host on stdin", async () => {
    await writeFile(storePath, JSON.stringify({ "127.0.0.1:5001": { Username: "alice", Secret: SECRET } }));
    const configPath = await writeConfig({ credHelpers: { "127.0.0.1:5001": "fake" } });
    const resolve = createDockerConfigResolver({ configPath, env });
    expect(await resolve("127.0.0.1:5001")).toEqual({ username: "alice", password: SECRET });
    expect(await helperCalls()).toEqual([{ args: ["get"], serverUrl: "127.0.0.1:5001" }]);
  });

  it("asks each helper once per resolver", async () => {
    await writeFile(storePath, JSON.stringify({ "127.0.0.1:5001": { Username: "alice", Secret: SECRET } }));
    const configPath = await writeConfig({ credHelpers: { "127.0.0.1:5001": "fake" } });
    const resolve = createDockerConfigResolver({ configPath, env });
    await Promise.all([resolve("127.0.0.1:5001"), resolve("127.0.0.1:5001")]);
    await resolve("127.0.0.1:5001");
    expect(await helperCalls()).toHaveLength(1);
  });

  it("uses credsStore for registries without a credHelpers entry, with Docker Hub's server URL for docker.io", async () => {
    await writeFile(storePath, JSON.stringify({ "https://index.docker.io/v1/": { Username: "hubuser", Secret: SECRET } }));
    const configPath = await writeConfig({ credsStore: "fake", auths: { "https://index.docker.io/v1/": {} } });
    const resolve = createDockerConfigResolver({ configPath, env });
    expect(await resolve("docker.io")).toEqual({ username: "hubuser", password: SECRET });
    expect((await helperCalls())[0]?.serverUrl).toBe("https://index.docker.io/v1/");
  });

  it("turns Username <token> into an identity token", async () => {
    await writeFile(storePath, JSON.stringify({ "ghcr.io": { Username: "<token>", Secret: "refresh-token" } }));
    const configPath = await writeConfig({ credsStore: "fake" });
    expect(await createDockerConfigResolver({ configPath, env })("ghcr.io")).toEqual({ identityToken: "refresh-token" });
  });

  it("treats 'credentials not found' as none, and then falls back to a filled-in auths entry", async () => {
    const configPath = await writeConfig({ credsStore: "fake", auths: { "ghcr.io": { auth: base64("file:pw") } } });
    const resolve = createDockerConfigResolver({ configPath, env });
    expect(await resolve("127.0.0.1:5000")).toBeUndefined();
    expect(await resolve("ghcr.io")).toEqual({ username: "file", password: "pw" });
    expect((await helperCalls()).map((call) => call.serverUrl)).toEqual(["127.0.0.1:5000", "ghcr.io"]);
  });

  it("fails with AUTH_ERROR naming the helper, the registry and the file when the helper is not on PATH", async () => {
    const configPath = await writeConfig({ credHelpers: { "ghcr.io": "missing" } });
    const error = await expectImageSpecError(() => createDockerConfigResolver({ configPath, env })("ghcr.io"));
    expect(error.code).toBe("AUTH_ERROR");
    expect(error.message).toBe(
      `Cannot get the credentials for ghcr.io from the credential helper docker-credential-missing (configured in ${configPath}): the program is not on PATH`,
    );
  });

  it("reports a helper's own error, and never echoes an answer that is not JSON", async () => {
    await writeFile(storePath, JSON.stringify({ locked: "fail", "ghcr.io": "garbage" }));
    const configPath = await writeConfig({ credsStore: "fake", credHelpers: { locked: "fake" } });
    const resolve = createDockerConfigResolver({ configPath, env });

    const locked = await expectImageSpecError(() => resolve("locked"));
    expect(locked.message).toMatch(/docker-credential-fake .*: the keychain is locked$/);

    const garbage = await expectImageSpecError(() => resolve("ghcr.io"));
    expect(garbage.message).toMatch(/its answer is not JSON$/);
    expect(JSON.stringify(garbage.toJSON())).not.toContain("hunter2");
  });

  it("refuses a helper name that is not a plain program name", async () => {
    const configPath = await writeConfig({ credsStore: "../../bin/sh" });
    const error = await expectImageSpecError(() => createDockerConfigResolver({ configPath, env })("ghcr.io"));
    expect(error.message).toMatch(/not a plain program name/);
  });
});

describe("toDockerEngineAuth", () => {
  it("gives the Engine API auth config, with Docker Hub's index server address", () => {
    expect(toDockerEngineAuth("docker.io", { username: "u", password: "p" })).toEqual({
      username: "u",
      password: "p",
      serveraddress: "https://index.docker.io/v1/",
    });
    expect(toDockerEngineAuth("127.0.0.1:5001", { username: "u", password: "p" })).toEqual({
      username: "u",
      password: "p",
      serveraddress: "127.0.0.1:5001",
    });
    expect(toDockerEngineAuth("ghcr.io", { identityToken: "t" })).toEqual({ identitytoken: "t", serveraddress: "ghcr.io" });
  });
});
