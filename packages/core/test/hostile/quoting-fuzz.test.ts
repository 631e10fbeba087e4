/**
 * Each quoting function against its real reader, over 10,000 seeded hostile strings (fixed seed: a failure replays):
 * whatever a function writes must read back exactly, and whatever it cannot write it must refuse.
 *
 * - shellQuote: `sh` (`printf '%s\0' <quoted>`), in batches through one shell each;
 * - dockerfileJsonArray: JSON.parse here, and the engine's own JSON reader (RUN exec-form arguments);
 * - dockerfileWord: the engine (ENV values read back from the built image's config);
 * - mountOption + dockerfileFlag: the engine (a tmpfs mount at each target, listed from inside the step);
 * - starlarkString: Python's parser (`ast.literal_eval`), which reads Starlark's string literals the same way;
 * - splitArgs (pipExtraArgs): sh's own word splitting (`eval "set -- ..."`).
 *
 * The engine part is one build of a few steps over the first 1,500 strings, on the test environment's seeded base
 * image, whose results come back as files.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { docker, hostileStrings, testEnv } from "@imagespec/test-env";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import {
  dockerfileFlag,
  dockerfileJsonArray,
  dockerfileWord,
  fitsDockerfileWord,
  fitsMountOption,
  mountOption,
  shellQuote,
  starlarkString,
} from "../../src/authoring.js";
import { splitArgs } from "../../src/spec.js";

const SEED = 19;
const COUNT = 10_000;
const ENGINE_SAMPLE = 1_500;
const strings = hostileStrings(COUNT, SEED, { illFormed: true });
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);

/** Runs `quote` on every string: the quoted text, or undefined when it refused (which must be for a reason `why` names). */
function quoteAll(quote: (s: string) => string, refuses: (s: string) => boolean): (string | undefined)[] {
  return strings.map((s) => {
    try {
      const quoted = quote(s);
      expect(refuses(s), `accepted ${JSON.stringify(s)}`).toBe(false);
      return quoted;
    } catch (error) {
      expect(refuses(s), `refused ${JSON.stringify(s)}: ${(error as Error).message}`).toBe(true);
      expect((error as { code?: string }).code).toBe("INVALID_SPEC");
      return undefined;
    }
  });
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

describe(`quoting functions against their readers (${COUNT} strings, seed ${SEED})`, () => {
  it("shellQuote reads back exactly through sh, and refuses only NUL and half surrogate pairs", async () => {
    const quoted = quoteAll(shellQuote, (s) => s.includes("\0") || !wellFormed(s));
    const cases = strings.map((s, i) => ({ s, q: quoted[i] })).filter((c): c is { s: string; q: string } => c.q !== undefined);
    expect(cases.length).toBeGreaterThan(COUNT * 0.9);
    for (const batch of chunks(cases, 2_000)) {
      const script = batch.map((c) => `printf '%s\\0' ${c.q}`).join("\n");
      const result = await execa("sh", ["-s"], { input: script, encoding: "buffer", timeout: 60_000 });
      const read = Buffer.from(result.stdout).toString("utf8").split("\0").slice(0, -1);
      expect(read).toEqual(batch.map((c) => c.s));
    }
  });

  it("dockerfileJsonArray reads back exactly through JSON, and refuses only NUL and half surrogate pairs", () => {
    const quoted = quoteAll(
      (s) => dockerfileJsonArray([s]),
      (s) => s.includes("\0") || !wellFormed(s),
    );
    strings.forEach((s, i) => {
      if (quoted[i] !== undefined) expect(JSON.parse(quoted[i]!)).toEqual([s]);
    });
  });

  it("starlarkString reads back exactly through Python's parser (Starlark's string literals)", async () => {
    const quoted = quoteAll(starlarkString, (s) => s.includes("\0") || !wellFormed(s));
    const cases = strings.map((s, i) => ({ s, q: quoted[i] })).filter((c): c is { s: string; q: string } => c.q !== undefined);
    const program = "import ast, json, sys\nprint(json.dumps([ast.literal_eval(line) for line in json.load(sys.stdin)]))";
    const python = process.env.IMAGESPEC_PYTHON || "python3";
    const result = await execa(python, ["-c", program], { input: JSON.stringify(cases.map((c) => c.q)), timeout: 60_000 });
    expect(JSON.parse(String(result.stdout))).toEqual(cases.map((c) => c.s));
  });

  it("splitArgs splits pipExtraArgs as sh splits words", async () => {
    // sh also expands $, `, globs, ~, and runs ; & | < > ( ): those are left out of this alphabet. An unquoted newline
    // ends a command in sh, where splitArgs reads it as a space (as shlex does): whether a newline is quoted depends on
    // the quotes before it, so newlines are left out here (values.test.ts holds quoted ones and continuations).
    const alphabet = [
      "a",
      "b",
      "1",
      "-",
      "=",
      ".",
      "/",
      ",",
      " ",
      "  ",
      "\t",
      "'",
      '"',
      "\\",
      "'x y'",
      '"x\\"y"',
      "\u000b",
      "\u00a0",
      "\u2028",
      "\u3000",
      "\ufeff",
      "é",
    ];
    const texts = hostileStrings(COUNT, SEED, { alphabet, maxPieces: 10 });
    const cases: { text: string; args: string[] }[] = [];
    for (const text of texts) {
      try {
        if (text.endsWith("\\")) continue; // a trailing backslash: sh and we both keep it, but eval reads one more line
        cases.push({ text, args: splitArgs(text) });
      } catch {
        // unclosed quote: refused, as sh refuses it
      }
    }
    expect(cases.length).toBeGreaterThan(COUNT * 0.5);
    for (const batch of chunks(cases, 1_000)) {
      const script = batch.map((c) => `set -- ${c.text}\nprintf '%s\\0' "$#" "$@"`).join("\n");
      const result = await execa("sh", ["-f", "-s"], { input: script, encoding: "buffer", timeout: 60_000 });
      const out = Buffer.from(result.stdout).toString("utf8").split("\0").slice(0, -1);
      const read: string[][] = [];
      for (let i = 0; i < out.length; ) {
        const n = Number(out[i]);
        read.push(out.slice(i + 1, i + 1 + n));
        i += 1 + n;
      }
      expect(read).toEqual(batch.map((c) => c.args));
    }
  });

  describe("through the Docker engine (one build, values read back from the image)", () => {
    const env = testEnv();
    it("ENV words, exec-form arguments and --mount targets arrive exactly as written", { timeout: 900_000 }, async () => {
      // The engine reads a sample (every step costs seconds on a shared engine); sh, JSON and Python read them all.
      const sample = strings.slice(0, ENGINE_SAMPLE);
      const words = sample.map((s) => (fitsDockerfileWord(s) ? s : undefined));
      const execArgs = sample.filter((s) => !s.includes("\0") && wellFormed(s));
      // Mount targets under /t/<n>/: accepted values only, and only those that stay below it once BuildKit cleans the path.
      const mountable = sample
        .map((s, i) => ({ i, s }))
        .filter(({ i, s }) => fitsMountOption(s) && path.posix.normalize(`/t/${i}/${s}`).startsWith(`/t/${i}/`));
      const refusedMounts = sample.filter((s) => !fitsMountOption(s));
      expect(refusedMounts.filter((s) => /^[\x20-\x7e]+$/.test(s) && !/[$\\'"]/.test(s))).toEqual([]);
      expect(mountable.length).toBeGreaterThan(100);

      // As few steps as the line limit allows (every step costs seconds on a shared engine); the results leave the
      // build as files (`--output type=local`), so no image is exported or run.
      const lines = [`FROM ${env.baseImage} AS fuzz`];
      const envNames: [string, string][] = [];
      for (const batch of byBytes(
        words.map((w, i) => ({ w, i })).filter((x) => x.w !== undefined),
        ({ w, i }) => `F${i}=${dockerfileWord(w!)}`,
      )) {
        lines.push(`ENV ${batch.map(({ w, i }) => `F${i}=${dockerfileWord(w!)}`).join(" ")}`);
        for (const { w, i } of batch) envNames.push([`F${i}`, w!]);
      }
      lines.push(`RUN ${dockerfileJsonArray(["/bin/sh", "-c", "mkdir -p /out /t && env -0 > /out/env"])}`);
      const execBatches = byBytes(execArgs, (a) => dockerfileJsonArray([a]));
      for (const [n, batch] of execBatches.entries()) {
        lines.push(`RUN ${dockerfileJsonArray(["/bin/sh", "-c", `for a; do printf '%s\\0' "$a"; done > /out/exec-${n}`, "sh", ...batch])}`);
      }
      const mountBatches = chunks(mountable.slice(0, 200), 200);
      for (const [n, batch] of mountBatches.entries()) {
        const flags = batch.map(({ i, s }) => dockerfileFlag("mount", `type=tmpfs,${mountOption("target", `/t/${i}/${s}`)}`));
        lines.push(`RUN ${flags.join(" ")} ${dockerfileJsonArray(["/bin/sh", "-c", `find /t -mindepth 1 -print0 > /out/mounts-${n}; touch /out/ran-${n}`])}`);
      }
      lines.push("FROM scratch", "COPY --from=fuzz /out /");
      const dir = mkdtempSync(path.join(tmpdir(), "imagespec-quoting-fuzz-"));
      writeFileSync(path.join(dir, "Dockerfile"), `${lines.join("\n")}\n`);
      const out = path.join(dir, "out");
      await docker(["build", "--quiet", "--output", `type=local,dest=${out}`, dir], { timeout: 900_000 });
      const read = (name: string) => readFileSync(path.join(out, name), "utf8");

      const imageEnv = new Map(
        read("env")
          .split("\0")
          .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
      );
      for (const [name, value] of envNames) expect(imageEnv.get(name), name).toBe(value);
      const exec = execBatches.flatMap((_, n) => read(`exec-${n}`).split("\0").slice(0, -1));
      expect(exec).toEqual(execArgs);
      for (const [n, batch] of mountBatches.entries()) {
        expect(existsSync(path.join(out, `ran-${n}`)), `the step of mount batch ${n} ran`).toBe(true);
        const seen = new Set(read(`mounts-${n}`).split("\0"));
        for (const { i, s } of batch) expect(seen.has(path.posix.normalize(`/t/${i}/${s}`).replace(/\/$/, "")), `mount target ${JSON.stringify(s)}`).toBe(true);
      }
      expect(readdirSync(out).filter((f) => !/^(env|(exec|mounts|ran)-\d+)$/.test(f))).toEqual([]);
    });
  });
});

/** Items in groups whose written form stays well inside one Dockerfile line. */
function byBytes<T>(items: readonly T[], written: (item: T) => string, budget = 50_000): T[][] {
  const out: T[][] = [];
  let size = budget;
  for (const item of items) {
    const bytes = Buffer.byteLength(written(item)) + 1;
    if (size + bytes > budget) {
      out.push([]);
      size = 0;
    }
    out.at(-1)!.push(item);
    size += bytes;
  }
  return out;
}
