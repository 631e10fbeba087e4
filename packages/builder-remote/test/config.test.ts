/** Configuration, supports() and the plugin, without an engine. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Image, ImageBuildEngine } from "@imagespec/core";
import { checkBuilderSettings, type ImageBuilder, isImageSpecError } from "@imagespec/core/authoring";
import { renderDockerBuild } from "@imagespec/docker-build";
import { describe, expect, it } from "vitest";
import { createRemoteBuilder, resolveRemoteConfig } from "../src/index.js";
import plugin from "../src/plugin.js";

const root = mkdtempSync(path.join(tmpdir(), "imagespec-remote-config-"));
const certs = { DOCKER_CERT_PATH: "/certs" } as NodeJS.ProcessEnv;
/** Stands in for the docker builder (builders never depend on each other): accepts everything. */
const docker: ImageBuilder = { type: "docker", supports: () => true, build: async () => ({ uri: "x", pushed: false }) };
const image = (fields: Parameters<typeof Image.fromBase>[1] = {}) =>
  Image.fromBase("127.0.0.1:5000/base:1", { root, registry: "127.0.0.1:5000", name: "app", ...fields });

function configError(run: () => unknown): { message: string; issues: { field: string }[] } {
  try {
    run();
  } catch (error) {
    expect(isImageSpecError(error) && error.code).toBe("CONFIG_ERROR");
    return error as { message: string; issues: { field: string }[] };
  }
  throw new Error("expected a CONFIG_ERROR");
}

describe("the engines", () => {
  it("come from IMAGESPEC_REMOTE_ENGINES, TLS material from DOCKER_CERT_PATH, settings from the address", () => {
    const resolved = resolveRemoteConfig(
      {},
      { ...certs, HOME: "/home/u", IMAGESPEC_REMOTE_ENGINES: "tcp://build-1:2376, ssh://ci@build-2:2222?maxBuilds=4&name=b2 ,tcp://build-3?tls=false" },
    );
    expect(resolved.source).toBe("IMAGESPEC_REMOTE_ENGINES");
    expect(resolved.engines).toEqual([
      {
        name: "tcp://build-1:2376",
        address: "tcp://build-1:2376",
        maxBuilds: 2,
        platforms: [],
        transport: { kind: "tcp", host: "build-1", port: 2376, tls: { certPath: "/certs" } },
      },
      {
        name: "b2",
        address: "ssh://ci@build-2:2222",
        maxBuilds: 4,
        platforms: [],
        transport: { kind: "ssh", host: "build-2", port: 2222, username: "ci", identityFile: undefined, knownHosts: "/home/u/.ssh/known_hosts" },
      },
      { name: "tcp://build-3", address: "tcp://build-3", maxBuilds: 2, platforms: [], transport: { kind: "tcp", host: "build-3", port: 2375, tls: false } },
    ]);
  });

  it("come from the configuration first, with per-engine limits, folders and explicit files", () => {
    const resolved = resolveRemoteConfig(
      {
        maxBuilds: 3,
        certPath: "/shared",
        engines: ["tcp://a:2376", { host: "tcp://b:2376", name: "b", maxBuilds: 1, ca: "/b/ca.pem", cert: "/b/cert.pem", key: "/b/key.pem" }],
        network: "host",
      },
      { IMAGESPEC_REMOTE_ENGINES: "tcp://ignored:2376", DOCKER_CERT_PATH: "/ignored" },
    );
    expect(resolved.source).toBe("configuration");
    expect(resolved.settings).toEqual({ network: "host" });
    expect(resolved.engines.map((e) => [e.name, e.maxBuilds, e.transport.kind === "tcp" && e.transport.tls])).toEqual([
      ["tcp://a:2376", 3, { certPath: "/shared" }],
      ["b", 1, { certPath: "/shared", ca: "/b/ca.pem", cert: "/b/cert.pem", key: "/b/key.pem" }],
    ]);
  });

  it("refuses plain TCP unless asked for, and reports every bad entry at once", () => {
    const error = configError(() =>
      resolveRemoteConfig(
        {
          engines: [
            "tcp://a:2376",
            "unix:///var/run/docker.sock",
            { host: "tcp://c", maxBuilds: 0 },
            "tcp://a:2376?tls=false",
            "ssh://u:pw@h",
            "not an address",
          ],
        },
        {},
      ),
    );
    expect(error.issues.map((i) => i.field)).toEqual(["engines[0]", "engines[1]", "engines[2].maxBuilds", "engines[4]", "engines[5]"]);
    expect(error.message).toContain('engines[0] ("tcp://a:2376"): has no TLS material');
    expect(error.message).toContain("tls=false to talk plain TCP");
    expect(error.message).toContain("uses unix://, but remote engines are reached over tcp:// (TLS) or ssh://");
    expect(error.message).toContain("has a password in the address");
  });

  it("take the platforms an engine runs natively, from the address (repeated) or the object, checked", () => {
    const resolved = resolveRemoteConfig(
      {
        engines: [
          "tcp://a:2376?tls=false&platforms=linux/arm64&platforms=linux/arm/v7",
          { host: "tcp://b:2376", tls: false, platforms: ["linux/amd64"] },
          "tcp://c:2376?tls=false",
        ],
      },
      {},
    );
    expect(resolved.engines.map((e) => [e.name, e.platforms])).toEqual([
      ["tcp://a:2376", ["linux/arm64", "linux/arm/v7"]],
      ["tcp://b:2376", ["linux/amd64"]],
      ["tcp://c:2376", []],
    ]);
    const error = configError(() =>
      resolveRemoteConfig({ engines: ["tcp://a:2376?tls=false&platforms=linux/x86_64", { host: "tcp://b", tls: false, platforms: ["native"] }] }, {}),
    );
    expect(error.issues.map((i) => i.field)).toEqual(["engines[0].platforms[0]", "engines[1].platforms[0]"]);
    expect(error.message).toContain("a platform is os/arch[/variant], e.g. linux/arm64");
  });

  it("needs a distinct name for each entry", () => {
    const error = configError(() => resolveRemoteConfig({ engines: ["tcp://a:2376", "tcp://a:2376"] }, certs));
    expect(error.message).toContain("engines[1]");
    expect(error.message).toContain("give each entry its own name");
    const named = resolveRemoteConfig({ engines: ["tcp://a:2376?name=one", "tcp://a:2376?name=two"] }, certs);
    expect(named.engines.map((e) => e.name)).toEqual(["one", "two"]);
  });

  it("refuses a setting it does not know (engins), suggesting the one it was meant to be, instead of having no engines", () => {
    const error = configError(() => resolveRemoteConfig({ engins: ["tcp://a:2376"] }, certs));
    expect(error.message).toContain('builders.remote.engins (["tcp://a:2376"]): is not a setting of the remote builder; did you mean engines?');
  });

  it("takes the cache settings, and refuses a cache exporter the Engine API lacks, naming the field and the value", () => {
    const { settings } = resolveRemoteConfig({ engines: ["tcp://a:2376"], cacheFrom: ["127.0.0.1:5000/app:main"], cacheTo: "inline" }, certs);
    expect(settings).toEqual({ cacheFrom: ["127.0.0.1:5000/app:main"], cacheTo: "inline" });
    const error = configError(() => resolveRemoteConfig({ engines: ["tcp://a:2376"], cacheTo: "type=registry,ref=127.0.0.1:5000/app:cache" }, certs));
    expect(error.issues.map((i) => i.field)).toEqual(["cacheTo"]);
    expect(error.message).toContain('cacheTo ("type=registry,ref=127.0.0.1:5000/app:cache"): asks for the registry cache exporter');
  });

  it("reports the shared build settings' problems with its own", () => {
    const error = configError(() => resolveRemoteConfig({ network: "bridge-ish", maxBuilds: -1 }, {}));
    expect(error.issues.map((i) => i.field).sort()).toEqual(["maxBuilds", "network"]);
  });
});

describe("supports()", () => {
  it("refuses, with the reason, when no engine is configured, so selection falls back to docker", async () => {
    const remote = createRemoteBuilder({}, { env: {} });
    expect(remote.supports(image())).toMatch(/^no remote engine is configured\. Set IMAGESPEC_REMOTE_ENGINES=tcp:\/\/host:2376,ssh:\/\/user@host/);
    const engine = new ImageBuildEngine({ env: {} }).register(remote, { priority: 110 }).register(docker, { priority: 100 });
    expect(engine.select(image()).builder.type).toBe("docker");
    const withEngines = new ImageBuildEngine({ env: {} })
      .register(createRemoteBuilder({ engines: ["tcp://a:2376"], certPath: "/c" }), { priority: 110 })
      .register(docker, { priority: 100 });
    expect(withEngines.select(image()).builder.type).toBe("remote");
    // An image the pool cannot build (no registry) still goes to docker; several platforms, secret and SSH mounts it builds itself.
    expect(withEngines.select(Image.fromBase("127.0.0.1:5000/base:1", { root, name: "local" })).builder.type).toBe("docker");
    expect(withEngines.select(image({ platform: ["linux/amd64", "linux/arm64"] })).builder.type).toBe("remote");
    expect(withEngines.select(image().withCommands("true", { secretMounts: ["TOKEN"], sshMounts: ["default"] })).builder.type).toBe("remote");
  });

  it("takes engines from the image's builderConfig too", () => {
    const remote = createRemoteBuilder({}, { env: {} });
    expect(remote.supports(image({ builderConfig: { engines: ["tcp://a:2376?tls=false"] } }))).toBe(true);
    expect(remote.supports(image({ builderConfig: { engines: ["ftp://a"] } }))).toMatch(/^its configuration is invalid: engines\[0\]/);
  });

  it("says why it cannot build an image: no registry, what the renderer refuses; several platforms, secret and SSH mounts it builds", () => {
    const remote = createRemoteBuilder({ engines: ["tcp://a:2376?tls=false"] }, { env: {} });
    expect(remote.supports(image())).toBe(true);
    expect(remote.supports(Image.fromBase("127.0.0.1:5000/base:1", { root, name: "local" }))).toMatch(
      /^the image has no registry: a remote engine pushes what it builds/,
    );
    expect(remote.supports(image({ platform: ["linux/amd64", "linux/arm64"] }))).toBe(true);
    expect(
      remote.supports(
        image()
          .withEnvVars({ A: "1" })
          .withCommands("true", { secretMounts: ["TOKEN"] }),
      ),
    ).toBe(true);
    expect(remote.supports(image().withPipPackages("six", { secretMounts: ["PIP"], sshMounts: [{ keys: ["id_ed25519"] }] }))).toBe(true);
    expect(remote.supports(image({ platform: "windows/amd64" }))).toMatch(/Linux images only/);
    const localBase = Image.fromBase("127.0.0.1:5000/base:1", { root, name: "local-base" });
    expect(remote.supports(Image.fromBase(localBase, { root, registry: "127.0.0.1:5000", name: "child" }))).toMatch(
      /its base image local-base has no registry/,
    );
  });

  it("renders the same Dockerfile as the docker builder, and refuses to render what it refuses to build", async () => {
    const remote = createRemoteBuilder({ engines: ["tcp://a:2376?tls=false"] }, { env: {} });
    const target = image().withEnvVars({ A: "1" }).withCommands("echo hi");
    const rendered = await remote.render!(target, { identity: await target.identity(), baseUri: undefined, config: {} });
    expect(rendered).toEqual({ filename: "Dockerfile", content: (await renderDockerBuild(target)).dockerfile });
    const local = Image.fromBase("127.0.0.1:5000/base:1", { root, name: "local" });
    await expect(remote.render!(local, { identity: await local.identity(), baseUri: undefined, config: {} })).rejects.toMatchObject({ code: "NO_BUILDER" });
  });
});

describe("the plugin", () => {
  it("offers type remote at priority 110, above docker's 100; a bad configuration fails at creation", async () => {
    expect(plugin.name).toBe("@imagespec/builder-remote");
    expect(plugin.builders.map((b) => [b.type, b.priority])).toEqual([["remote", 110]]);
    const builder = await plugin.builders[0]!.create({ config: {} });
    expect(builder.type).toBe("remote");
    // create imports the builder on first use, so a bad configuration is a rejected promise.
    await expect(plugin.builders[0]!.create({ config: { engines: ["gopher://x"] } })).rejects.toMatchObject({ code: "CONFIG_ERROR" });
  });

  it("declares its settings, so core checks the config file and images' builderConfig before anything builds", () => {
    const settings = plugin.builders[0]!.settings!;
    expect(
      checkBuilderSettings(
        settings,
        { engines: ["tcp://a:2376", { host: "ssh://b", maxBuilds: 2 }], certPath: "/c", network: "host", labels: { a: "b" } },
        { type: "remote", at: "builders.remote" },
      ),
    ).toEqual([]);
    expect(
      checkBuilderSettings(settings, { engins: [], engines: [{ host: "tcp://a:2376", maxbuilds: 2 }] }, { type: "remote", at: "builders.remote" })
        .map((i) => `${i.field}: ${i.message}`)
        .sort(),
    ).toEqual([
      "builders.remote.engines[0].maxbuilds: is not known here; did you mean maxBuilds?",
      "builders.remote.engins: is not a setting of the remote builder; did you mean engines?",
    ]);
    const engine = new ImageBuildEngine({ env: {} })
      .register(docker, { priority: 100 })
      .register(createRemoteBuilder({}, { env: {} }), { priority: 110, settings });
    expect(() => engine.select(image({ builderConfig: { remote: { engins: ["tcp://a:2376"] } } }))).toThrow(
      /builderConfig\.remote\.engins = \["tcp:\/\/a:2376"\]: is not a setting of the remote builder; did you mean engines\?/,
    );
  });
});
