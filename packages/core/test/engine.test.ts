import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { type BuildContext, type EngineEvent, Image, ImageBuildEngine, type ImageBuilder, ImageSpec, RegistryClient } from "../src/index.js";
import { project } from "./support/project.js";
import { pushTinyImage, requireEnv, tinyImage } from "./support/tiny-image.js";

const REGISTRY = requireEnv("IMAGESPEC_TEST_REGISTRY");
const AUTH_REGISTRY = requireEnv("IMAGESPEC_TEST_AUTH_REGISTRY");
const AUTH_USER = requireEnv("IMAGESPEC_TEST_AUTH_USER");
const AUTH_PASSWORD = requireEnv("IMAGESPEC_TEST_AUTH_PASSWORD");
const TOKEN_REGISTRY = requireEnv("IMAGESPEC_TEST_TOKEN_REGISTRY");
const TOKEN_USER = requireEnv("IMAGESPEC_TEST_TOKEN_USER");
const TOKEN_READER = requireEnv("IMAGESPEC_TEST_TOKEN_READER");
const TOKEN_PASSWORD = requireEnv("IMAGESPEC_TEST_TOKEN_PASSWORD");

/** A loopback port nothing listens on: bound, read, closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

interface Recorded {
  builder: ImageBuilder & { calls: { image: Image; context: BuildContext }[]; active: number; maxActive: number };
}

/** A builder that records what it was asked to build: the boundary the engine talks to. */
function recordingBuilder(
  type: string,
  options: { refuse?: (image: Image) => string | undefined; fail?: (image: Image) => boolean; delayMs?: number; localImages?: Set<string> } = {},
): Recorded["builder"] {
  const builder = {
    type,
    calls: [] as { image: Image; context: BuildContext }[],
    active: 0,
    maxActive: 0,
    supports(image: Image) {
      return options.refuse?.(image) ?? true;
    },
    async build(image: Image, context: BuildContext) {
      builder.calls.push({ image, context });
      builder.active++;
      builder.maxActive = Math.max(builder.maxActive, builder.active);
      try {
        await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 5));
        context.report({ type: "log", line: `building ${context.uri}` });
        if (options.fail?.(image)) throw new Error(`step 2 failed for ${image.name}`);
        return { uri: context.uri, pushed: context.push, digest: "sha256:abc" };
      } finally {
        builder.active--;
      }
    },
    ...(options.localImages && {
      async exists(uri: string) {
        return options.localImages!.has(uri) ? ({ status: "present" } as const) : ({ status: "absent" } as const);
      },
    }),
  };
  return builder;
}

const unique = (name: string) => Image.fromBase("python:3.12-slim", { name, pythonVersion: "3.12" }).withEnvVars({ RUN });

describe("builder selection", () => {
  afterEach(() => {
    delete process.env.IMAGESPEC_BUILDER;
  });

  it("picks the highest priority builder that supports the image, ties by registration order", () => {
    const engine = new ImageBuildEngine({ env: {} });
    engine.register(recordingBuilder("low"), { priority: 1 });
    engine.register(recordingBuilder("picky", { refuse: () => "cannot do envs" }), { priority: 100 });
    engine.register(recordingBuilder("first"), { priority: 50 });
    engine.register(recordingBuilder("second"), { priority: 50 });
    expect(engine.select(unique("a")).builder.type).toBe("first");
    expect(engine.builders().map((b) => b.builder.type)).toEqual(["picky", "first", "second", "low"]);
  });

  it("uses the builder the image names, then the override, then IMAGESPEC_BUILDER", () => {
    const engine = new ImageBuildEngine({ env: { IMAGESPEC_BUILDER: "low" } });
    engine
      .register(recordingBuilder("high"), { priority: 100 })
      .register(recordingBuilder("low"), { priority: 1 })
      .register(recordingBuilder("mid"), { priority: 5 });
    expect(engine.select(unique("a")).builder.type).toBe("low");
    expect(engine.select(unique("a"), "mid").builder.type).toBe("mid");
    const named = Image.fromBase("python:3.12-slim", { builder: "high" });
    expect(engine.select(named, "mid").builder.type).toBe("high");
  });

  it("explains an unknown builder name and lists what is registered", () => {
    const engine = new ImageBuildEngine({ env: {} });
    engine.register(recordingBuilder("docker"), { priority: 100 });
    expect(() => engine.select(Image.fromBase("x:1", { builder: "envd" }))).toThrow(/no builder of type "envd" is registered \(registered: docker\)/);
  });

  it("explains a named builder that refuses", () => {
    const engine = new ImageBuildEngine({ env: {} });
    engine.register(recordingBuilder("noopish", { refuse: () => "it has layers" }));
    expect(() => engine.select(unique("a"), "noopish")).toThrow(/with the noopish builder: it has layers/);
  });

  it("lists every builder's refusal when none supports the image", () => {
    const engine = new ImageBuildEngine({ env: {} });
    engine.register(recordingBuilder("a", { refuse: () => "no GPUs" }), { priority: 2 });
    engine.register(recordingBuilder("b", { refuse: () => "no envs" }), { priority: 1 });
    try {
      engine.select(unique("x"));
      throw new Error("expected a throw");
    } catch (error) {
      expect(error).toMatchObject({ code: "NO_BUILDER" });
      expect((error as Error).message).toContain("a (priority 2): no GPUs");
      expect((error as Error).message).toContain("b (priority 1): no envs");
    }
    expect(() => new ImageBuildEngine({ env: {} }).select(unique("x"))).toThrow(/no builder is registered/);
  });

  it("a builder whose supports() throws is refused with the reason, not a crash", () => {
    const engine = new ImageBuildEngine({ env: {} });
    engine.register({
      type: "broken",
      supports: () => {
        throw new Error("boom");
      },
      build: async () => ({ uri: "", pushed: false }),
    });
    expect(() => engine.select(unique("x"))).toThrow(/broken \(priority 0\): its supports\(\) threw: boom/);
  });

  it("two engines never see each other's builders", () => {
    const one = new ImageBuildEngine({ env: {} }).register(recordingBuilder("only-here"));
    const two = new ImageBuildEngine({ env: {} });
    expect(one.builders()).toHaveLength(1);
    expect(two.builders()).toHaveLength(0);
  });
});

describe("building", () => {
  it("builds base images first, once per URI, and independent images concurrently", async () => {
    const builder = recordingBuilder("fake", { delayMs: 30 });
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const base = unique("base").withAptPackages("git");
    const childA = Image.fromBase(base, { name: "child-a" }).withPipPackages("a");
    const childB = Image.fromBase(base, { name: "child-b" }).withPipPackages("b");
    const other = unique("other");
    const outcomes = await engine.build([childA, childB, other]);
    expect(builder.calls.filter((c) => c.image.name === "base")).toHaveLength(1);
    const order = builder.calls.map((c) => c.image.name);
    expect(order.indexOf("base")).toBeLessThan(order.indexOf("child-a"));
    expect(order.indexOf("base")).toBeLessThan(order.indexOf("child-b"));
    expect(builder.maxActive).toBeGreaterThan(1);
    // Outcomes come in build order: every base before the images on it.
    expect(outcomes.map((o) => [o.image.name, o.status, o.requested])).toEqual([
      ["base", "built", false],
      ["child-a", "built", true],
      ["child-b", "built", true],
      ["other", "built", true],
    ]);
    // The child builds FROM its base's URI.
    const childCall = builder.calls.find((c) => c.image.name === "child-a")!;
    expect(childCall.context.baseUri).toBe(await base.uri());
  });

  it("respects the concurrency limit", async () => {
    const builder = recordingBuilder("fake", { delayMs: 20 });
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    await engine.build([unique("a"), unique("b"), unique("c"), unique("d")], { concurrency: 1 });
    expect(builder.maxActive).toBe(1);
  });

  it("a failed base fails its children with the reason; independent images still build", async () => {
    const builder = recordingBuilder("fake", { fail: (image) => image.name === "base" });
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const base = unique("base");
    const outcomes = await engine.build([Image.fromBase(base, { name: "child" }), unique("independent")]);
    const byName = Object.fromEntries(outcomes.map((o) => [o.image.name, o]));
    expect(byName.base?.status).toBe("failed");
    expect(byName.base?.reason).toContain("step 2 failed for base");
    expect(byName.child?.status).toBe("failed");
    expect(byName.child?.reason).toMatch(/its base image .*base:.* failed to build/);
    expect(byName.child?.error).toMatchObject({
      code: "BUILD_FAILED",
      message: expect.stringMatching(/^Cannot build child: its base image /),
      value: byName.base?.uri,
    });
    expect(byName.independent?.status).toBe("built");
    expect(builder.calls.map((c) => c.image.name).sort()).toEqual(["base", "independent"]);
  });

  it("throws selection problems before building anything", async () => {
    const builder = recordingBuilder("fake", { refuse: (image) => (image.name === "bad" ? "not this one" : undefined) });
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    await expect(engine.build([unique("good"), unique("bad")])).rejects.toMatchObject({ code: "NO_BUILDER" });
    expect(builder.calls).toHaveLength(0);
  });

  it("accepts ImageSpecs and reports progress events", async () => {
    const builder = recordingBuilder("fake");
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const events: EngineEvent[] = [];
    const [outcome] = await engine.build(new ImageSpec({ name: "spec", env: { RUN } }), { onEvent: (e) => events.push(e) });
    expect(outcome?.status).toBe("built");
    const statuses = events.filter((e) => e.type === "image").map((e) => (e.type === "image" ? e.status : ""));
    expect(statuses).toEqual(["queued", "checking", "building", "built"]);
    expect(events.some((e) => e.type === "build" && e.event.type === "log")).toBe(true);
  });

  it("dry run resolves and checks but builds nothing", async () => {
    const builder = recordingBuilder("fake");
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const [outcome] = await engine.build(unique("dry"), { dryRun: true });
    expect(outcome?.status).toBe("planned");
    expect(builder.calls).toHaveLength(0);
  });

  it("fast mode leaves code bundles out of what is built", async () => {
    const dir = project();
    writeFileSync(path.join(dir, "app.py"), "1");
    const builder = recordingBuilder("fake");
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const image = Image.fromBase("python:3.12-slim", { root: dir }).withEnvVars({ RUN }).withCodeBundle({ dst: "/src" });
    const [outcome] = await engine.build(image, { fast: true });
    expect(builder.calls[0]?.image.layers.map((l) => l.kind)).toEqual(["env"]);
    expect(outcome?.uri).toBe(await image.forFastRegistration().uri());
    expect(outcome?.uri).not.toBe(await image.uri());
  });

  it("a cancelled build fails without calling the builder", async () => {
    const builder = recordingBuilder("fake");
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const controller = new AbortController();
    controller.abort();
    const [outcome] = await engine.build(unique("c"), { signal: controller.signal });
    expect(outcome).toMatchObject({ status: "failed", reason: "cancelled", error: { code: "CANCELLED" } });
    expect(builder.calls).toHaveLength(0);
  });

  it("hands a builder the config file's settings, the image's flat builderConfig, and its own section of it", async () => {
    const docker = recordingBuilder("docker");
    const envd = recordingBuilder("envd");
    const engine = new ImageBuildEngine({ env: {} })
      .register(docker, { priority: 2, config: { host: "tcp://file", network: "default" } })
      .register(envd, { priority: 1 });
    const image = Image.fromBase("python:3.12-slim", {
      name: "cfg",
      builderConfig: { network: "host", docker: { pull: true }, envd: { binary: "/opt/envd" } },
    }).withEnvVars({ RUN });
    await engine.build(image);
    expect(docker.calls[0]?.context.config).toEqual({ host: "tcp://file", network: "host", pull: true });
    await engine.build(image, { builder: "envd" });
    expect(envd.calls[0]?.context.config).toEqual({ network: "host", binary: "/opt/envd" });
  });

  it("a throwing progress listener does not break the build", async () => {
    const engine = new ImageBuildEngine({ env: {} }).register(recordingBuilder("fake"));
    const [outcome] = await engine.build(unique("l"), {
      onEvent: () => {
        throw new Error("renderer bug");
      },
    });
    expect(outcome?.status).toBe("built");
  });
});

describe("existence and push, against the real registry", () => {
  const registryImage = (name: string) => unique(name).clone({ registry: REGISTRY, name: `imagespec-test/engine-${name}` });

  async function publish(image: Image): Promise<void> {
    const tag = await image.tag();
    expect(await pushTinyImage(new RegistryClient(), REGISTRY, image.name, tag, tinyImage(tag))).toMatch(/^sha256:/);
  }

  it("skips an image whose tag exists, and builds and pushes one whose tag does not", async () => {
    const builder = recordingBuilder("fake");
    const engine = new ImageBuildEngine({ env: {} }).register(builder);
    const present = registryImage("present");
    await publish(present);
    const absent = registryImage("absent");
    const outcomes = await engine.build([present, absent]);
    expect(outcomes[0]).toMatchObject({ status: "skipped", existence: { status: "present" } });
    expect(outcomes[0]?.reason).toContain("already exists in 127.0.0.1");
    expect(outcomes[1]).toMatchObject({ status: "built", pushed: true });
    expect(builder.calls.map((c) => c.image.name)).toEqual(["imagespec-test/engine-absent"]);
    expect(builder.calls[0]?.context.push).toBe(true);
  });

  it("force builds an existing tag: the option, forcePush(), and IMAGESPEC_FORCE_PUSH", async () => {
    const image = registryImage("forced");
    await publish(image);
    for (const [engineEnv, options, target] of [
      [{}, { force: true }, image],
      [{}, {}, image.forcePush()],
      [{ IMAGESPEC_FORCE_PUSH: "true" }, {}, image],
    ] as const) {
      const builder = recordingBuilder("fake");
      const engine = new ImageBuildEngine({ env: engineEnv }).register(builder);
      const [outcome] = await engine.build(target, options);
      expect(outcome?.status).toBe("built");
      expect(builder.calls).toHaveLength(1);
    }
  });

  it("IMAGESPEC_PUSH=false and push: false build without pushing; a local image never pushes", async () => {
    for (const [env, options] of [
      [{ IMAGESPEC_PUSH: "false" }, {}],
      [{}, { push: false }],
    ] as const) {
      const builder = recordingBuilder("fake");
      await new ImageBuildEngine({ env }).register(builder).build(registryImage(`nopush${Math.random()}`.replace(".", "")), options);
      expect(builder.calls[0]?.context.push).toBe(false);
    }
    const builder = recordingBuilder("fake");
    await new ImageBuildEngine({ env: {} }).register(builder).build(unique("local"));
    expect(builder.calls[0]?.context.push).toBe(false);
  });

  it("without a push, builds with a warning that says why when existence is unknown (registry down)", async () => {
    const builder = recordingBuilder("fake");
    const events: EngineEvent[] = [];
    const engine = new ImageBuildEngine({ env: {}, registry: new RegistryClient({ timeoutMs: 2000 }) }).register(builder);
    const [outcome] = await engine.build(unique("down").clone({ registry: "127.0.0.1:9" }), { push: false, onEvent: (e) => events.push(e) });
    expect(outcome?.status).toBe("built");
    expect(outcome?.existence?.status).toBe("unknown");
    const warning = events.find((e) => e.type === "warning");
    expect(warning?.type === "warning" && warning.message).toMatch(/Cannot tell whether 127\.0\.0\.1:9\/.* exists \(.*127\.0\.0\.1:9.*\); building it anyway/);
  });

  it("with a push, fails before building anything when a registry cannot be reached (REGISTRY_ERROR naming it)", async () => {
    const closed = await closedPort();
    const builder = recordingBuilder("fake");
    const engine = new ImageBuildEngine({ env: {}, registry: new RegistryClient({ timeoutMs: 2000 }) }).register(builder);
    const reachable = registryImage(`reachable${RUN}`);
    const down = unique("typo").clone({ registry: `127.0.0.1:${closed}/team`, name: "app" });
    const error = await engine.build([reachable, down]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "REGISTRY_ERROR", field: "registry", value: `127.0.0.1:${closed}` });
    expect((error as Error).message).toBe(
      `Cannot push to 127.0.0.1:${closed}/team/app: cannot connect to 127.0.0.1:${closed}: connection refused; nothing was built`,
    );
    expect(builder.calls).toEqual([]);
    // The same with --dry-run: it answers what a build would do.
    await expect(engine.build(down, { dryRun: true })).rejects.toMatchObject({ code: "REGISTRY_ERROR" });
  });

  it("with a push, fails before building anything when credentials are missing or refused (AUTH_ERROR naming the registry)", async () => {
    const builder = recordingBuilder("fake");
    const nobody = new ImageBuildEngine({ env: {}, credentials: async () => undefined }).register(builder);
    const basic = unique("basic").clone({ registry: AUTH_REGISTRY, name: `imagespec-test/engine-preflight-${RUN}` });
    const token = unique("token").clone({ registry: TOKEN_REGISTRY, name: `imagespec-test/engine-preflight-${RUN}` });
    const error = await nobody.build([basic, token]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "AUTH_ERROR", value: [AUTH_REGISTRY, TOKEN_REGISTRY].sort() });
    expect((error as Error).message).toContain(
      `${AUTH_REGISTRY}/imagespec-test/engine-preflight-${RUN}: ${AUTH_REGISTRY} requires credentials and none were found`,
    );
    expect((error as Error).message).toContain(
      `${TOKEN_REGISTRY}/imagespec-test/engine-preflight-${RUN}: ${TOKEN_REGISTRY} requires credentials and none were found`,
    );
    // A reader may pull but not push: refused by what its token grants.
    const reader = new ImageBuildEngine({ env: {}, credentials: async () => ({ username: TOKEN_READER, password: TOKEN_PASSWORD }) }).register(builder);
    await expect(reader.build(token)).rejects.toThrow(`credentials for ${TOKEN_REGISTRY} do not allow push to imagespec-test/engine-preflight-${RUN}`);
    // Without a push, nothing is asked of the credentials.
    const [local] = await nobody.build(basic, { push: false });
    expect(local?.status).toBe("built");
    expect(builder.calls).toHaveLength(1);
  });

  it("with a push and credentials that may push, builds (open, basic and token registries)", async () => {
    const builder = recordingBuilder("fake");
    const credentials = async (domain: string) =>
      domain === AUTH_REGISTRY
        ? { username: AUTH_USER, password: AUTH_PASSWORD }
        : domain === TOKEN_REGISTRY
          ? { username: TOKEN_USER, password: TOKEN_PASSWORD }
          : undefined;
    const engine = new ImageBuildEngine({ env: {}, credentials }).register(builder);
    const images = [REGISTRY, AUTH_REGISTRY, TOKEN_REGISTRY].map((registry, i) =>
      unique(`ok${i}`).clone({ registry, name: `imagespec-test/engine-preflight-ok-${RUN}` }),
    );
    const outcomes = await engine.build(images);
    expect(outcomes.map((o) => [o.status, o.pushed])).toEqual([
      ["built", true],
      ["built", true],
      ["built", true],
    ]);
  });

  it("asks the builder's own engine about local images", async () => {
    const image = unique("local-present");
    const builder = recordingBuilder("fake", { localImages: new Set([await image.uri()]) });
    const [outcome] = await new ImageBuildEngine({ env: {} }).register(builder).build(image);
    expect(outcome?.status).toBe("skipped");
    expect(outcome?.reason).toContain("in the fake builder's engine");
  });

  it("creates no builder when every tag exists, and only the builders it needs otherwise", async () => {
    const present = registryImage(`lazy-present-${RUN}`);
    await publish(present);
    const created: string[] = [];
    const engine = new ImageBuildEngine({ env: {}, existenceTtlMs: 0 })
      .registerFactory(
        "fake",
        () => {
          created.push("fake");
          return recordingBuilder("fake");
        },
        { priority: 10, source: "fake-plugin" },
      )
      .registerFactory(
        "broken",
        () => {
          throw new Error("missing native module");
        },
        { priority: 1, source: "broken-plugin" },
      );
    const [skipped] = await engine.build(present);
    expect(skipped).toMatchObject({ status: "skipped", builder: "" });
    expect(created).toEqual([]);
    // A named type must still be registered, which is checked without creating anything.
    await expect(engine.build(present, { builder: "envd" })).rejects.toMatchObject({
      code: "NO_BUILDER",
      message: expect.stringContaining('no builder of type "envd" is registered (registered: fake, broken)'),
    });
    expect(created).toEqual([]);

    const events: EngineEvent[] = [];
    const [built] = await engine.build(registryImage(`lazy-absent-${RUN}`), { onEvent: (e) => events.push(e) });
    expect(built).toMatchObject({ status: "built", builder: "fake" });
    expect(created).toEqual(["fake"]);
    expect(events).toContainEqual({ type: "warning", message: "plugin broken-plugin: creating the broken builder failed: missing native module" });
    expect(engine.builders().map((b) => b.builder.type)).toEqual(["fake"]);
  });
});

describe("remembered existence answers", () => {
  const registryImage = (name: string) => unique(name).clone({ registry: REGISTRY, name: `imagespec-test/engine-${name}` });
  /** A client of the real registry that counts the requests it sends. */
  function countingClient(): { client: RegistryClient; requests: string[] } {
    const requests: string[] = [];
    const client = new RegistryClient({
      fetch: (input, init) => {
        requests.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      },
    });
    return { client, requests };
  }

  it("a second build within the TTL asks the registry nothing; --no-cache, a TTL of 0 and an expired answer ask again", async () => {
    const image = registryImage(`remembered-${RUN}`);
    const tag = await image.tag();
    await pushTinyImage(new RegistryClient(), REGISTRY, image.name, tag, tinyImage(tag));
    const cacheDir = mkdtempSync(path.join(tmpdir(), "imagespec-existence-"));
    const run = async (options: { noCache?: boolean } = {}, engineOptions: { existenceTtlMs?: number; env?: Record<string, string> } = {}) => {
      const { client, requests } = countingClient();
      const builder = recordingBuilder("fake");
      const engine = new ImageBuildEngine({
        env: engineOptions.env ?? {},
        registry: client,
        cacheDir,
        ...(engineOptions.existenceTtlMs !== undefined && { existenceTtlMs: engineOptions.existenceTtlMs }),
      }).register(builder);
      const [outcome] = await engine.build(image, options);
      expect(builder.calls).toHaveLength(0);
      return { outcome, requests };
    };
    const first = await run();
    expect(first.outcome?.status).toBe("skipped");
    expect(first.requests).toEqual([`HEAD /v2/${image.name}/manifests/${tag}`]);
    // Another engine (another process, as far as the cache knows) within the TTL: no request at all.
    const second = await run();
    expect(second.requests).toEqual([]);
    expect(second.outcome).toMatchObject({
      status: "skipped",
      digest: first.outcome?.digest,
      reason: expect.stringMatching(/already exists in .* \(as it said \d+ s ago; --no-cache asks again\)/),
    });
    expect((await run({ noCache: true })).requests).toHaveLength(1);
    expect((await run({}, { existenceTtlMs: 0 })).requests).toHaveLength(1);
    expect((await run({}, { env: { IMAGESPEC_EXISTENCE_TTL: "0" } })).requests).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await run({}, { env: { IMAGESPEC_EXISTENCE_TTL: "1" } })).requests).toHaveLength(1);
    expect((await run()).requests).toEqual([]);
  });

  it("never remembers absent or unknown, nor a builder's word that it pushed", async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), "imagespec-existence-"));
    const image = registryImage(`never-remembered-${RUN}`);
    for (let i = 0; i < 2; i++) {
      const { client, requests } = countingClient();
      const [outcome] = await new ImageBuildEngine({ env: {}, registry: client, cacheDir }).register(recordingBuilder("fake")).build(image, { push: false });
      expect(outcome?.status).toBe("built");
      expect(requests).toEqual([`HEAD /v2/${image.name}/manifests/${await image.tag()}`]);
    }
    const down = unique("down-remembered").clone({ registry: "127.0.0.1:9" });
    for (let i = 0; i < 2; i++) {
      const [outcome] = await new ImageBuildEngine({ env: {}, registry: new RegistryClient({ timeoutMs: 2000 }), cacheDir })
        .register(recordingBuilder("fake"))
        .build(down, { push: false });
      expect(outcome?.existence?.status).toBe("unknown");
    }
    // The recording builder says it pushed (and did not): only a registry's answer is remembered, so the next build asks.
    const pushed = registryImage(`pushed-remembered-${RUN}`);
    await new ImageBuildEngine({ env: {}, cacheDir }).register(recordingBuilder("fake")).build(pushed);
    const { client, requests } = countingClient();
    const [again] = await new ImageBuildEngine({ env: {}, registry: client, cacheDir }).register(recordingBuilder("fake")).build(pushed);
    expect(again?.status).toBe("built");
    expect(requests[0]).toBe(`HEAD /v2/${pushed.name}/manifests/${await pushed.tag()}`);
  });

  it("refuses an IMAGESPEC_EXISTENCE_TTL that is not a number of seconds, naming it", async () => {
    const engine = new ImageBuildEngine({ env: { IMAGESPEC_EXISTENCE_TTL: "5m" } }).register(recordingBuilder("fake"));
    await expect(engine.build(registryImage("ttl"))).rejects.toMatchObject({
      code: "CONFIG_ERROR",
      field: "IMAGESPEC_EXISTENCE_TTL",
      message: expect.stringContaining('Cannot use IMAGESPEC_EXISTENCE_TTL="5m"'),
    });
  });
});
