import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";

interface AssertionResult {
  readonly ancestorTitles: readonly string[];
  readonly title: string;
  readonly status: string;
}

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let results: AssertionResult[];

/** Runs test/fixtures/suites.conformance.ts (a good builder and broken ones) in its own vitest process. */
beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "conformance-run-"));
  try {
    const output = path.join(dir, "results.json");
    const run = await execa("pnpm", ["exec", "vitest", "run", "--config", "test/fixtures/vitest.config.ts", "--reporter=json", `--outputFile=${output}`], {
      cwd: packageDir,
      reject: false,
      env: { CI: "1" },
    });
    let report: { testResults: { assertionResults: AssertionResult[] }[] };
    try {
      report = JSON.parse(await readFile(output, "utf8"));
    } catch {
      throw new Error(`the fixture run wrote no report:\n${run.stdout}\n${run.stderr}`);
    }
    results = report.testResults.flatMap((f) => f.assertionResults);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 600_000); // a whole vitest run in a child process: minutes when the suite loads both cores

/** The tests of one fixture suite, by title, with their status. */
function suite(name: string): Record<string, string> {
  const entries = results.filter((r) => r.ancestorTitles[0] === name).map((r) => [r.title, r.status] as const);
  expect(entries.length, `no tests ran for the ${name} suite`).toBeGreaterThan(10);
  return Object.fromEntries(entries);
}

function failed(name: string): string[] {
  return Object.entries(suite(name))
    .filter(([, status]) => status !== "passed")
    .map(([title]) => title)
    .sort();
}

describe("the conformance suite", () => {
  it("passes a builder that keeps the contract, under its type's name", () => {
    expect(failed("good")).toEqual([]);
    expect(results.find((r) => r.ancestorTitles[0] === "good")!.ancestorTitles[1]).toBe("memory");
  });

  it("fails a builder whose supports() throws", () => {
    expect(failed("throwsInSupports")).toEqual(["answers supports() with true or a reason, never throwing, for every kind of image"]);
  });

  it("fails a builder that accepts what it cannot build", () => {
    expect(failed("acceptsEverything")).toEqual([
      "refuses layer kinds it cannot know, rather than dropping them",
      "refuses with a reason the images it cannot build",
    ]);
  });

  it("fails a builder that refuses without a reason", () => {
    expect(failed("emptyReason")).toEqual([
      "answers supports() with true or a reason, never throwing, for every kind of image",
      "refuses layer kinds it cannot know, rather than dropping them",
      "refuses with a reason the images it cannot build",
    ]);
  });

  it("fails a builder that throws plain errors", () => {
    expect(failed("plainErrors")).toEqual(["fails with an ImageSpecError when asked to build or render an image it refuses"]);
  });

  it("fails a builder that ignores its signal", () => {
    expect(failed("ignoresAbort")).toEqual([
      "rejects promptly, as CANCELLED, a build whose signal is already aborted",
      "stops a build whose signal is aborted while it is being prepared",
      "stops a running build when its signal is aborted",
    ]);
  });

  it("fails a builder that hangs when cancelled, within the bound", () => {
    expect(failed("hangsOnAbort")).toEqual([
      "stops a build whose signal is aborted while it is being prepared",
      "stops a running build when its signal is aborted",
    ]);
  });

  it("fails a builder whose rendered file changes from one render to the next", () => {
    expect(failed("unstableRender")).toEqual(["renders the same bytes every time, from any checkout location"]);
  });

  it("fails a builder whose rendered file lacks the identity", () => {
    expect(failed("noIdentity")).toEqual(["carries the image's id as IMAGESPEC_IMAGE_ID in the file it renders"]);
  });

  it("fails a builder that reports malformed events (wherever it builds)", () => {
    expect(failed("badEvents")).toEqual(["builds, reporting well-formed events and a result", "stops a running build when its signal is aborted"]);
  });
});
