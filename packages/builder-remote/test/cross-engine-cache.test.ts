/**
 * CI cache across machines, for real: an image built on the remote TLS engine (the test environment's second dockerd,
 * its own data root and build cache) with `cacheTo: "inline"` and pushed to the registry; then a changed child (the
 * same first steps, a different last one) built on the LOCAL engine with `cacheFrom` = the pushed image. The local
 * engine never ran these steps (every step writes a marker unique to this run), so each step it reports CACHED came
 * from the registry through the inline cache. The remote side goes through this package's builder; the local side
 * through @imagespec/docker-build's engine entry (the one the docker builder calls), since builders never depend on
 * each other. Times are printed, not asserted.
 */
import { randomBytes } from "node:crypto";
import { Image, ImageBuildEngine } from "@imagespec/core";
import type { BuildEvent, BuildResult } from "@imagespec/core/authoring";
import { type DockerBuildSettings, localEngineAddress } from "@imagespec/docker-build";
import { buildOnEngine, engineImageId, type OpenedEngine, openEngineConnection } from "@imagespec/docker-build/engine";
import { type RemoteTestEnv, remoteTestEnv, runImage, stopwatch, type TestEnv, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteBuilder } from "../src/index.js";
import { project } from "./support/project.js";

let env: TestEnv;
let remote: RemoteTestEnv;
let local: OpenedEngine;
let root: string;
/** Unique to this run: no engine has built these steps before, so no cache but the imported one can answer them. */
const RUN = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
const { timed, print: printTimings } = stopwatch();

/** The first steps, the same in parent and child: a file from the context and two slow commands. */
function image(last: string): Image {
  return Image.fromBase(env.baseImage, { root, registry: env.registry, name: "builder-remote-test/cross-engine-cache" })
    .withSourceFile("data.txt", "/srv/data.txt")
    .withCommands(`echo ${RUN} > /srv/step-1 && sleep 3`)
    .withCommands(`echo ${RUN} > /srv/step-2 && sleep 3`)
    .withCommands(`echo ${last} > /srv/last`);
}

/** Each step's name and how it ended (CACHED, DONE ...), from the build log (`#n name`, then `#n CACHED`). */
function steps(log: string): { name: string; status: string }[] {
  const names = new Map<string, string>();
  const statuses = new Map<string, string>();
  for (const line of log.split("\n")) {
    const match = /^#(\d+) (.*)$/.exec(line);
    if (!match) continue;
    const [, n, rest] = match as unknown as [string, string, string];
    if (!names.has(n)) names.set(n, rest);
    else if (/^(CACHED|DONE\b|ERROR\b)/.test(rest)) statuses.set(n, rest);
  }
  return [...names].map(([n, name]) => ({ name, status: statuses.get(n) ?? "" }));
}

const stepOf = (log: string, needle: string) => {
  const found = steps(log).filter((s) => s.name.includes(needle));
  if (found.length !== 1) throw new Error(`expected one step with ${JSON.stringify(needle)} in the log, found ${found.length}:\n${log}`);
  return found[0]!;
};

/** A build on the local engine through docker-build's engine entry, as the docker builder runs it. */
async function buildLocally(target: Image, settings: DockerBuildSettings, events: BuildEvent[] = []): Promise<BuildResult> {
  const identity = await target.identity();
  return buildOnEngine(
    local,
    target,
    {
      uri: identity.uri,
      identity,
      push: false,
      baseUri: undefined,
      credentials: async () => undefined,
      config: { ...settings },
      signal: AbortSignal.timeout(300_000),
      report: (event) => events.push(event),
    },
    { settings, engine: `docker ${local.endpoint}` },
  );
}

beforeAll(async () => {
  env = testEnv();
  remote = remoteTestEnv();
  root = project({ "data.txt": `data of run ${RUN}\n` }, "imagespec-cross-engine-cache-");
  local = await openEngineConnection(localEngineAddress(env.dockerHost), { timeoutMs: 30_000 });
});

afterAll(() => {
  printTimings("cross-engine cache");
});

describe("the build cache across engines (cacheTo inline on the remote engine, cacheFrom on the local one)", () => {
  let parent: Image;
  let parentUri: string;

  beforeAll(async () => {
    parent = image("parent");
    parentUri = await parent.uri();
    const engine = new ImageBuildEngine({ env: {} }).register(
      createRemoteBuilder({ engines: [remote.remoteEngine], certPath: remote.remoteCertPath, cacheTo: "inline" }, { env: {} }),
      { priority: 110 },
    );
    const [outcome] = await timed("parent on the remote engine (cold, cacheTo inline, pushed)", () => engine.build(parent, { force: true }));
    if (outcome?.status !== "built")
      throw new Error(`the parent did not build: ${outcome?.status}: ${outcome?.reason}\n${(outcome?.error as { log?: string })?.log ?? ""}`);
    expect(outcome.result?.pushed).toBe(true);
    expect(outcome.result?.engine).toContain("127.0.0.1:2376");
    // The remote engine ran the steps (a new marker: nothing could come from its cache).
    expect(stepOf(outcome.result?.log ?? "", "step-1").status).toMatch(/^DONE/);
  });

  it("pushes the parent with BuildKit's inline cache record in its image configuration", async () => {
    const [repository, tag] = [parentUri.slice(0, parentUri.lastIndexOf(":")), parentUri.slice(parentUri.lastIndexOf(":") + 1)];
    const name = repository.slice(env.registry.length + 1);
    const manifest = (await (
      await fetch(`http://${env.registry}/v2/${name}/manifests/${tag}`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } })
    ).json()) as { config: { digest: string } };
    const config = (await (await fetch(`http://${env.registry}/v2/${name}/blobs/${manifest.config.digest}`)).json()) as Record<string, unknown>;
    expect(typeof config["moby.buildkit.cache.v0"]).toBe("string");
  });

  it("builds the changed child on the local engine from the pushed cache: unchanged steps CACHED, the changed one run", async () => {
    const child = image("child");
    const childUri = await child.uri();
    expect(childUri).not.toBe(parentUri);
    // The local engine has neither image: everything it does not run comes from the registry.
    expect(await engineImageId(local, parentUri)).toBeUndefined();
    expect(await engineImageId(local, childUri)).toBeUndefined();

    // An image that is not there costs a lookup and a warning, and the build goes on (BuildKit fails only its import).
    const missing = `${env.registry}/builder-remote-test/cross-engine-cache:missing-${RUN}`;
    const events: BuildEvent[] = [];
    const result = await timed("changed child on the local engine, cacheFrom the pushed parent", () =>
      buildLocally(child, { cacheFrom: [missing, parentUri] }, events),
    );
    expect(events.filter((e) => e.type === "warning").map((e) => e.type === "warning" && e.message)).toEqual([
      expect.stringContaining(`Cannot use the build cache of ${missing} (cacheFrom): `),
    ]);
    expect(events.some((e) => e.type === "warning" && e.message.endsWith("; the build goes on without it"))).toBe(true);
    const log = result.log ?? "";
    expect(log).toContain(`Cache: steps may come from ${missing}, ${parentUri}`);
    expect(steps(log).some((s) => s.name.includes(`importing cache manifest from ${parentUri}`))).toBe(true);
    expect(stepOf(log, "COPY").status).toBe("CACHED");
    expect(stepOf(log, "step-1").status).toBe("CACHED");
    expect(stepOf(log, "step-2").status).toBe("CACHED");
    expect(stepOf(log, "/srv/last").status).toMatch(/^DONE/);
    expect(result.cached).toBe(false);

    // The image is real: the cached layers (the markers of this run, written on the remote engine) and the new one.
    expect(await runImage(childUri, ["cat", "/srv/data.txt", "/srv/step-1", "/srv/step-2", "/srv/last"], { entrypoint: "" })).toBe(
      `data of run ${RUN}\n${RUN}\n${RUN}\nchild`,
    );
  });

  it("without the cache the same child runs every step (the time it saves)", async () => {
    const child = image("child");
    const result = await timed("the same child on the local engine, noCache", () => buildLocally(child, { noCache: true }));
    for (const needle of ["step-1", "step-2", "/srv/last"]) expect(stepOf(result.log ?? "", needle).status, needle).toMatch(/^DONE/);
  });
});
