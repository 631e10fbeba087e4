/** BuildKit progress: the protobuf decoder, the CLI's plain output, and step events mapped to layers. */
import type { BuildEvent } from "@imagespec/core/authoring";
import { describe, expect, it } from "vitest";
import type { StepOrigin } from "../src/plan.js";
import { BuildProgress, decodeStatusResponse } from "../src/progress.js";

// A tiny protobuf encoder, enough to write StatusResponse messages the way BuildKit does.
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
const field = (n: number, wire: number) => varint(n * 8 + wire);
const bytes = (n: number, data: Uint8Array | number[]) => [...field(n, 2), ...varint(data.length), ...data];
const str = (n: number, s: string) => bytes(n, [...Buffer.from(s, "utf8")]);
const num = (n: number, v: number) => [...field(n, 0), ...varint(v)];
const timestamp = (n: number, ms: number) => bytes(n, [...num(1, Math.floor(ms / 1000)), ...num(2, (ms % 1000) * 1e6)]);

function vertex(v: { digest: string; name: string; cached?: boolean; started?: number; completed?: number; error?: string }): number[] {
  return bytes(1, [
    ...str(1, v.digest),
    ...str(2, "sha256:input"),
    ...str(3, v.name),
    ...(v.cached ? num(4, 1) : []),
    ...(v.started !== undefined ? timestamp(5, v.started) : []),
    ...(v.completed !== undefined ? timestamp(6, v.completed) : []),
    ...(v.error ? str(7, v.error) : []),
    ...bytes(8, [...str(1, "group")]),
  ]);
}
const log = (vertexDigest: string, text: string) => bytes(3, [...str(1, vertexDigest), ...timestamp(2, 1), ...num(3, 1), ...bytes(4, [...Buffer.from(text)])]);
const status = (vertexDigest: string) =>
  bytes(2, [...str(1, "extracting"), ...str(2, vertexDigest), ...str(3, "extracting"), ...num(4, 5_000_000_000), ...num(5, 6_000_000_000)]);

const steps: StepOrigin[] = [
  { instruction: "FROM base", keyword: "FROM", number: 1, stage: undefined, layerIndex: undefined, layerKind: undefined, description: "base image base" },
  {
    instruction: 'RUN ["/bin/sh","-c","pip install six"]',
    keyword: "RUN",
    number: 2,
    stage: undefined,
    layerIndex: 0,
    layerKind: "pipPackages",
    description: "pip install six",
  },
  { instruction: 'RUN ["/bin/sh","-c","exit 3"]', keyword: "RUN", number: 3, stage: undefined, layerIndex: 1, layerKind: "commands", description: "exit 3" },
  {
    instruction: "FROM mm AS imagespec-stage-0",
    keyword: "FROM",
    number: 1,
    stage: "imagespec-stage-0",
    layerIndex: 2,
    layerKind: "condaPackages",
    description: "helper image mm",
  },
];

describe("the BuildKit status decoder", () => {
  it("decodes vertexes, statuses, logs and warnings, skipping fields it does not know", () => {
    const t0 = 1_700_000_000_123;
    const message = new Uint8Array([
      ...vertex({ digest: "sha256:a", name: "[stage-0 2/3] RUN pip install six", started: t0, completed: t0 + 1500, cached: true }),
      ...status("sha256:a"),
      ...log("sha256:a", "Collecting six\nInstalled\n"),
      ...bytes(4, [...str(1, "sha256:a"), ...num(2, 1), ...bytes(3, [...Buffer.from("deprecated")])]),
      ...num(15, 7),
    ]);
    const decoded = decodeStatusResponse(message);
    expect(decoded.vertexes).toEqual([{ digest: "sha256:a", name: "[stage-0 2/3] RUN pip install six", cached: true, started: t0, completed: t0 + 1500 }]);
    expect(decoded.statuses).toEqual([{ id: "extracting", vertex: "sha256:a", name: "extracting", current: 5_000_000_000, total: 6_000_000_000 }]);
    expect(decoded.logs.map((l) => [l.vertex, l.stream, Buffer.from(l.data).toString()])).toEqual([["sha256:a", 1, "Collecting six\nInstalled\n"]]);
    expect(decoded.warnings).toEqual([{ vertex: "sha256:a", short: "deprecated" }]);
  });

  it("rejects truncated input", () => {
    const message = new Uint8Array(vertex({ digest: "sha256:a", name: "x" }));
    expect(() => decodeStatusResponse(message.subarray(0, message.length - 3))).toThrow(/truncated/);
  });
});

describe("progress tracking", () => {
  it("counts a build as cached when every step but FROM came from the cache", () => {
    const progress = new BuildProgress(() => {}, steps);
    const t0 = 1_700_000_000_000;
    progress.status(decodeStatusResponse(new Uint8Array(vertex({ digest: "d1", name: "[stage-0 1/3] FROM base", started: t0, completed: t0 + 10 }))));
    progress.status(
      decodeStatusResponse(
        new Uint8Array(vertex({ digest: "d2", name: '[stage-0 2/3] RUN ["/bin/sh","-c","pip install six"]', started: t0, completed: t0 + 1, cached: true })),
      ),
    );
    expect(progress.allCached).toBe(true);
    progress.status(
      decodeStatusResponse(new Uint8Array(vertex({ digest: "d3", name: '[stage-0 3/3] RUN ["/bin/sh","-c","exit 3"]', started: t0, completed: t0 + 5 }))),
    );
    expect(progress.allCached).toBe(false);
  });

  it("takes a cacheFrom image that cannot be read for a warning, not a failed step (BuildKit builds on without it)", () => {
    const events: BuildEvent[] = [];
    const progress = new BuildProgress((e) => events.push(e), steps);
    const t0 = 1_700_000_000_000;
    const name = "importing cache manifest from 127.0.0.1:5000/app:gone";
    progress.status(
      decodeStatusResponse(new Uint8Array(vertex({ digest: "c1", name, started: t0, completed: t0 + 5, error: "127.0.0.1:5000/app:gone: not found" }))),
    );
    expect(progress.failure()).toBeUndefined();
    expect(events.filter((e) => e.type === "warning")).toEqual([
      {
        type: "warning",
        message: "Cannot use the build cache of 127.0.0.1:5000/app:gone (cacheFrom): 127.0.0.1:5000/app:gone: not found; the build goes on without it",
      },
    ]);
    // A real step's failure is still the failure.
    progress.status(
      decodeStatusResponse(
        new Uint8Array(vertex({ digest: "d3", name: '[stage-0 3/3] RUN ["/bin/sh","-c","exit 3"]', started: t0, completed: t0 + 5, error: "exit code: 3" })),
      ),
    );
    expect(progress.failure()?.error).toBe("exit code: 3");
  });

  it("reports steps with cache hits and timings, logs by line, and the failed step's layer and log tail", () => {
    const events: BuildEvent[] = [];
    const progress = new BuildProgress((e) => events.push(e), steps);
    const t0 = 1_700_000_000_000;
    progress.status(
      decodeStatusResponse(new Uint8Array(vertex({ digest: "d1", name: "[stage-0 1/3] FROM base", started: t0, completed: t0 + 10, cached: true }))),
    );
    progress.status(decodeStatusResponse(new Uint8Array(vertex({ digest: "d2", name: '[stage-0 2/3] RUN ["/bin/sh","-c","pip install six"]', started: t0 }))));
    progress.status(decodeStatusResponse(new Uint8Array([...log("d2", "Collecting si"), ...log("d2", "x\nDone\n")])));
    progress.status(
      decodeStatusResponse(
        new Uint8Array(vertex({ digest: "d2", name: '[stage-0 2/3] RUN ["/bin/sh","-c","pip install six"]', started: t0, completed: t0 + 2500 })),
      ),
    );
    progress.status(decodeStatusResponse(new Uint8Array(vertex({ digest: "d3", name: '[stage-0 3/3] RUN ["/bin/sh","-c","exit 3"]', started: t0 }))));
    progress.status(decodeStatusResponse(new Uint8Array(log("d3", "boom"))));
    progress.status(
      decodeStatusResponse(
        new Uint8Array(vertex({ digest: "d3", name: '[stage-0 3/3] RUN ["/bin/sh","-c","exit 3"]', started: t0, completed: t0 + 40, error: "exit code: 3" })),
      ),
    );

    expect(events.filter((e) => e.type === "step").map((e) => e.type === "step" && [e.id, e.status, e.durationMs])).toEqual([
      ["d1", "cached", 10],
      ["d2", "started", undefined],
      ["d2", "done", 2500],
      ["d3", "started", undefined],
      ["d3", "failed", 40],
    ]);
    expect(events.filter((e) => e.type === "log").map((e) => e.type === "log" && e.line)).toEqual([
      "[stage-0 2/3] | Collecting six",
      "[stage-0 2/3] | Done",
      "[stage-0 3/3] | boom",
    ]);
    expect(progress.allCached).toBe(false);
    const failure = progress.failure();
    expect(failure?.origin).toBe(steps[2]);
    expect(failure?.logTail).toEqual(["boom"]);
    expect(failure?.error).toBe("exit code: 3");
    expect(progress.log).toContain("#3 boom");
    expect(progress.log).toContain("#3 ERROR: exit code: 3");
  });

  it("maps helper stages by name and checks the keyword before trusting a step number", () => {
    const progress = new BuildProgress(() => {}, steps);
    expect(progress.origin("[imagespec-stage-0 1/1] FROM docker.io/mm")).toBe(steps[3]);
    expect(progress.origin("[2/3] RUN something else")).toBe(steps[1]);
    expect(progress.origin("[2/3] COPY [a,b]")).toBeUndefined();
    expect(progress.origin("[internal] load metadata for base")).toBeUndefined();
  });

  it("reads step numbers BuildKit pads to the width of the total", () => {
    const many: StepOrigin[] = Array.from({ length: 12 }, (_, i) => ({
      instruction: `RUN step ${i + 1}`,
      keyword: "RUN",
      number: i + 1,
      stage: "imagespec-layer-1-build",
      layerIndex: 1,
      layerKind: "nodeProject",
      description: `step ${i + 1}`,
    }));
    const progress = new BuildProgress(() => {}, many);
    expect(progress.origin("[imagespec-layer-1-build  9/12] RUN step 9")).toBe(many[8]);
    expect(progress.origin("[ 3/12] RUN elsewhere")).toBeUndefined();
    expect(progress.origin("[imagespec-layer-1-build 12/12] RUN step 12")).toBe(many[11]);
  });
});
