/**
 * buildOnEngine against the real local engine, reached through a TCP proxy (the engine's own socket behind it), so
 * that the engine can also "die": the proxy resets every connection and refuses new ones.
 */
import { Image } from "@imagespec/core";
import { type BuildContext, type BuildEvent, RegistryClient } from "@imagespec/core/authoring";
import { docker, runImage, type TestEnv, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOnEngine, DockerBuildError, isConnectionFailure, isEngineLost } from "../src/engine.js";
import { type EngineProxy, engineProxy as startProxy } from "./support/engine-proxy.js";
import { project } from "./support/project.js";

let env: TestEnv;
let root: string;
const RUN = `${Date.now().toString(36)}${process.pid}`;
const proxies: EngineProxy[] = [];

async function engineProxy(): Promise<EngineProxy> {
  const proxy = await startProxy(env.dockerHost);
  proxies.push(proxy);
  return proxy;
}

async function context(image: Image, options: { push?: boolean; signal?: AbortSignal; events?: BuildEvent[] } = {}): Promise<BuildContext> {
  const identity = await image.identity();
  return {
    uri: identity.uri,
    identity,
    push: options.push ?? false,
    baseUri: undefined,
    credentials: async () => undefined,
    config: {},
    signal: options.signal ?? new AbortController().signal,
    report: (event) => options.events?.push(event),
  };
}

beforeAll(() => {
  env = testEnv();
  root = project({ "hello.txt": "hello\n" });
});

afterAll(() => {
  for (const proxy of proxies) proxy.close();
});

describe("buildOnEngine", () => {
  it("builds with BuildKit, pushes from the engine, and reports steps", async () => {
    const { connection } = await engineProxy();
    const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "docker-build-test/engine" })
      .withSourceFile("hello.txt", "/hello.txt")
      .withCommands(`echo ${RUN} > /run-id`);
    const events: BuildEvent[] = [];
    const result = await buildOnEngine(connection, image, await context(image, { push: true, events }), { settings: {}, engine: "the proxy" });
    expect(result).toMatchObject({ uri: await image.uri(), pushed: true, cached: false, engine: "the proxy" });
    expect(await new RegistryClient().manifestExists(result.uri)).toEqual({ status: "present", digest: result.digest });
    expect(events.some((e) => e.type === "step" && e.name.includes(RUN) && e.status === "done")).toBe(true);
    expect(await runImage(result.uri, ["sh", "-c", "cat /hello.txt /run-id"])).toBe(`hello\n${RUN}`);
  });

  it("without push, gives the image id as the digest and pushes nothing", async () => {
    const { connection } = await engineProxy();
    const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "docker-build-test/kept" }).withEnvVars({ RUN });
    const result = await buildOnEngine(connection, image, await context(image), { settings: {}, engine: "the proxy" });
    expect(result.pushed).toBe(false);
    expect(result.digest).toBe(await docker(["image", "inspect", "--format", "{{.Id}}", result.uri]));
    expect(await new RegistryClient().manifestExists(result.uri)).toMatchObject({ status: "absent" });
  });

  it("names the layer of a failed step", async () => {
    const { connection } = await engineProxy();
    const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "docker-build-test/fails" })
      .withEnvVars({ A: "1" })
      .withCommands(`echo ${RUN}; exit 4`);
    const error = await buildOnEngine(connection, image, await context(image), { settings: {}, engine: "the proxy" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerBuildError);
    expect(error).toMatchObject({ code: "BUILD_FAILED", layerIndex: 1, layerKind: "commands" });
    expect(isEngineLost(error)).toBe(false);
    // The session was ours to close: nothing blames it.
    expect((error as DockerBuildError).message).not.toContain("session");
  });

  it("says so when the engine ended the build's session first (this process did not answer its health check)", async () => {
    const { connection } = await engineProxy();
    const image = Image.fromBase(env.baseImage, { root: project({ "token.txt": "t\n" }), name: "docker-build-test/session-ended" })
      .withCommands(`echo ${RUN} before; sleep 3`)
      .withCommands("test -s /run/secrets/token", { secretMounts: [{ id: "token", src: "token.txt" }] });
    let blocked = false;
    const ctx = await context(image);
    const report = ctx.report;
    const error = await buildOnEngine(
      connection,
      image,
      {
        ...ctx,
        report: (event) => {
          report(event);
          if (!blocked && event.type === "step" && event.name.includes("sleep 3") && event.status === "started") {
            blocked = true;
            // Blocks this process for longer than BuildKit's health check waits (about 10 s), as a starved CI process would.
            const until = Date.now() + 20_000;
            while (Date.now() < until) {}
          }
        },
      },
      { settings: {}, engine: "the proxy" },
    ).catch((e: unknown) => e);
    expect(blocked).toBe(true);
    expect(error).toBeInstanceOf(DockerBuildError);
    expect(error).toMatchObject({ code: "BUILD_FAILED", layerIndex: 1, layerKind: "commands" });
    expect((error as DockerBuildError).message).toContain("session: ended by the engine before the build ended");
    expect((error as DockerBuildError).hint).toMatch(/health check goes unanswered for about 10 s/);
  });

  it("tells an engine that went away mid-build from a failed build: EngineLostError", async () => {
    const proxy = await engineProxy();
    const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "docker-build-test/lost" }).withCommands(`echo ${RUN} lost; sleep 30`);
    const events: BuildEvent[] = [];
    const ctx = await context(image, { events });
    const killer = setInterval(() => {
      if (events.some((e) => e.type === "step" && e.name.includes("sleep 30") && e.status === "started")) proxy.kill();
    }, 50);
    const started = Date.now();
    const error = await buildOnEngine(proxy.connection, image, ctx, { settings: {}, engine: "the proxy" })
      .catch((e: unknown) => e)
      .finally(() => clearInterval(killer));
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(isEngineLost(error)).toBe(true);
    expect(error).toMatchObject({
      code: "ENVIRONMENT",
      engine: "the proxy",
      message: expect.stringMatching(/^Cannot build docker-build-test\/lost: the engine the proxy went away while it built \(.+\)$/),
    });
  });

  it("rejects as CANCELLED when the signal is aborted, not as a lost engine", async () => {
    const { connection } = await engineProxy();
    const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "docker-build-test/cancelled" }).withCommands(
      `echo ${RUN} cancelled; sleep 30`,
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 2000);
    const error = await buildOnEngine(connection, image, await context(image, { signal: controller.signal }), { settings: {}, engine: "the proxy" }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "CANCELLED" });
    expect(isEngineLost(error)).toBe(false);
  });
});

describe("isConnectionFailure", () => {
  it("recognises reset, refused and closed connections, also as a cause, and nothing else", () => {
    expect(isConnectionFailure(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toBe(true);
    expect(isConnectionFailure(new Error("socket hang up"))).toBe(true);
    expect(isConnectionFailure(new Error("wrapped", { cause: Object.assign(new Error("x"), { code: "EPIPE" }) }))).toBe(true);
    expect(isConnectionFailure(new Error("(HTTP code 500) server error - dockerfile parse error"))).toBe(false);
    expect(isConnectionFailure(undefined)).toBe(false);
  });
});
