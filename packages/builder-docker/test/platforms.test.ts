/**
 * Several platforms on the real engine of the test environment (linux/amd64, and linux/arm64 under the QEMU that
 * `scripts/test-env up` registers): what the engine says it can build, platform builds that overlap up to the
 * builder's limit, and a platform that fails. The end-to-end build (apt, pip, files, skopeo, docker run) is in the
 * CLI's tests (packages/cli/test/platforms.test.ts).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type BuildOutcome, type EngineEvent, Image, ImageBuildEngine } from "@imagespec/core";
import { type BuildEvent, RegistryClient } from "@imagespec/core/authoring";
import { enginePlatforms, platformImageUri } from "@imagespec/docker-build/engine";
import { occurrencesInImage, runImage, type TestEnv, testEnv } from "@imagespec/test-env";
import { beforeAll, describe, expect, it } from "vitest";
import { createDockerBuilder } from "../src/index.js";
import { connectEngine } from "../src/local-engine.js";
import { project } from "./support/project.js";

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let env: TestEnv;
let root: string;

beforeAll(() => {
  env = testEnv();
  root = project({});
});

async function build(image: Image, maxBuilds?: number): Promise<{ outcome: BuildOutcome; events: BuildEvent[] }> {
  const events: BuildEvent[] = [];
  const engine = new ImageBuildEngine().register(createDockerBuilder(maxBuilds === undefined ? {} : { maxBuilds }));
  const [outcome] = await engine.build(image, { force: true, onEvent: (e: EngineEvent) => e.type === "build" && events.push(e.event) });
  return { outcome: outcome!, events };
}

describe("what the engine can build", () => {
  it("lists its own platform and every one its host emulates, as BuildKit's ListWorkers says", async () => {
    // The test environment registers QEMU for arm64, and for nothing else.
    expect(readFileSync("/proc/sys/fs/binfmt_misc/qemu-aarch64", "utf8")).toMatch(/^enabled\n/);
    expect(existsSync("/proc/sys/fs/binfmt_misc/qemu-s390x")).toBe(false);
    const platforms = await enginePlatforms(await connectEngine({}, "test"));
    expect(platforms.workersError).toBeUndefined();
    expect(platforms.native).toBe("linux/amd64");
    expect(platforms.supported).toContain("linux/amd64");
    expect(platforms.supported).toContain("linux/arm64");
    expect(platforms.supported).not.toContain("linux/s390x");
  });

  it("says which platform native is: the engine's", async () => {
    const builder = createDockerBuilder();
    expect(await builder.nativePlatform!({ signal: new AbortController().signal, config: {} })).toEqual({
      platform: "linux/amd64",
      source: `docker ${env.dockerHost}`,
    });
  });
});

describe("an image of several platforms", () => {
  const image = (name: string, options: { platform?: string[]; registry?: string } = {}) =>
    Image.fromBase(env.baseImage, { root, name: `i13-builder-docker/${name}`, registry: env.registry, platform: ["linux/amd64", "linux/arm64"], ...options });

  it("builds its platforms at the same time, up to the builder's maxBuilds", async () => {
    const sleepy = (name: string) => image(name).withCommands(`sleep 3 && echo ${RUN} > /built`);
    const spans = (events: BuildEvent[]) => {
      const steps = events.filter((e): e is Extract<BuildEvent, { type: "step" }> => e.type === "step" && e.name.includes("sleep 3"));
      return ["linux/amd64", "linux/arm64"].map((p) => ({
        start: steps.findIndex((s) => s.status === "started" && s.id.startsWith(p)),
        end: steps.findLastIndex((s) => s.status === "done" && s.id.startsWith(p)),
      }));
    };
    const together = await build(sleepy("together"), 2);
    expect(together.outcome.status, together.outcome.reason).toBe("built");
    const [a, b] = spans(together.events);
    expect(a!.start).toBeGreaterThanOrEqual(0);
    expect(b!.start).toBeGreaterThanOrEqual(0);
    // Both sleeps started before either finished.
    expect(Math.max(a!.start, b!.start)).toBeLessThan(Math.min(a!.end, b!.end));

    const oneByOne = await build(sleepy("one-by-one"), 1);
    expect(oneByOne.outcome.status, oneByOne.outcome.reason).toBe("built");
    const [c, d] = spans(oneByOne.events);
    expect(Math.min(c!.end, d!.end)).toBeLessThan(Math.max(c!.start, d!.start));
  });

  it("fails as a whole when one platform fails: the error names the platform, and no index is pushed", async () => {
    const failing = image("arm-fails").withCommands(`test "$(uname -m)" != aarch64 || { echo "no arm here ${RUN}"; exit 3; }`);
    const { outcome } = await build(failing);
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toMatchObject({ code: "BUILD_FAILED" });
    expect(outcome.reason).toMatch(/^Cannot build i13-builder-docker\/arm-fails for linux\/arm64: a step of layers\[0\] \(commands\) failed/);
    expect(outcome.reason).toContain(`no arm here ${RUN}`);
    expect(await new RegistryClient().manifestExists(await failing.uri())).toEqual({ status: "absent" });
  });

  it("serves a secret to every platform's build through that build's own session: no docker CLI, the value in no image and no log", async () => {
    const token = `s3cr3t-${randomBytes(8).toString("hex")}`;
    const secretDir = project({ "token.txt": token });
    const sha = (value: string) => execFileSync("sha256sum", { input: value, encoding: "utf8" }).split(" ")[0];
    // The step fails without the value, so a built platform had it; the file records which machine ran it.
    const secret = image("secret").withCommands(
      `test -n "$TOKEN" && echo "$(uname -m) $(printf %s "$TOKEN" | sha256sum | cut -d" " -f1)" > /token.sha # ${RUN}`,
      {
        secretMounts: [{ id: "token", src: path.join(secretDir, "token.txt"), asEnv: "TOKEN" }],
      },
    );
    const { outcome, events } = await build(secret);
    expect(outcome.status, outcome.reason).toBe("built");
    const log = outcome.result?.log ?? "";
    for (const platform of ["linux/amd64", "linux/arm64"]) {
      expect(log).toContain(`--- ${platform} (`);
      expect(outcome.result?.platforms?.find((p) => p.platform === platform)?.digest).toMatch(/^sha256:/);
    }
    expect(log.match(/session: secret token: from the file /g)?.length).toBe(2);
    expect(log).not.toContain(token);
    expect(JSON.stringify(events)).not.toContain(token);
    const uri = await secret.uri();
    expect(await runImage(platformImageUri(uri, "linux/amd64"), ["cat", "/token.sha"])).toBe(`x86_64 ${sha(token)}`);
    expect(await runImage(platformImageUri(uri, "linux/arm64"), ["cat", "/token.sha"])).toBe(`aarch64 ${sha(token)}`);
    for (const platform of ["linux/amd64", "linux/arm64"]) {
      const found = await occurrencesInImage(platformImageUri(uri, platform), token);
      expect(found.savedBytes).toBeGreaterThan(1_000_000);
      expect({ save: found.save, history: found.history, config: found.config }).toEqual({ save: 0, history: 0, config: 0 });
    }
  });

  it("needs a registry: a local engine cannot hold an index", async () => {
    const { outcome } = await build(image("local", { registry: undefined as unknown as string }).withEnvVars({ RUN }));
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toMatchObject({ code: "INVALID_SPEC", field: "platform" });
    expect(outcome.reason).toMatch(/an image of several platforms is an index in a registry, which a local engine cannot hold/);
  });
});
