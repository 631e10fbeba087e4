/**
 * The hostile corpus (issue 19): every hostile payload (test-env's HOSTILE_PAYLOADS and ILL_FORMED) in every field
 * that reaches a rendered file, through each front door — the fluent API, `new ImageSpec`, and a YAML spec through
 * the CLI's `dockerfile` command. For each case exactly one of two things holds:
 *
 * - refused, before anything renders, with a typed error that names the field (as that door spells it) and the value;
 * - accepted, and the Dockerfile the docker builder renders holds the same instructions, in the same order, as with
 *   an ordinary value in that field (nothing injected; the bytes themselves are read back from real builds in
 *   builder-docker's hostile tests and core's quoting fuzz).
 *
 * The doors agree: an ImageSpec and its YAML accept and refuse the same values. The CLI runs in-process (`main`, as
 * the binary calls it): several hundred child processes would take many minutes on a loaded machine, and the
 * binary's own start is covered by the other CLI tests.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createDockerBuilder } from "@imagespec/builder-docker";
import { Image, ImageBuildEngine, ImageSpec, type ImageSpecFields, isImageSpecError, showValue } from "@imagespec/core";
import { HOSTILE_PAYLOADS, ILL_FORMED } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../src/main.js";

const root = mkdtempSync(path.join(tmpdir(), "i19-corpus-"));
const PAYLOADS = [...HOSTILE_PAYLOADS, ...ILL_FORMED];
const engine = new ImageBuildEngine({ env: {} }).register(createDockerBuilder(), { priority: 100 });

interface Field {
  /** What the field is, in the test's names. */
  readonly title: string;
  /** An ordinary value: the rendering every accepted hostile value is compared with. */
  readonly ordinary: string;
  /** The ImageSpec fields (camelCase) with the value in place; the YAML door writes the same in snake_case. */
  readonly spec: (value: string) => ImageSpecFields;
  readonly fluent: (value: string) => Image;
  /** The field each door names in its error: fluent, ImageSpec, YAML. */
  readonly names: readonly [RegExp, RegExp, RegExp];
}

const base = { pythonVersion: "3.11" } as const;
const debian = () => Image.fromDebianBase({ root, ...base });
const exact = (name: string) => new RegExp(`^${name.replace(/[.[\]]/g, "\\$&")}$`);
const same = (name: string, yaml = name) => [exact(name), exact(name), exact(yaml)] as const;

const FIELDS: readonly Field[] = [
  { title: "name", ordinary: "app", spec: (v) => ({ ...base, name: v }), fluent: (v) => Image.fromDebianBase({ root, ...base, name: v }), names: same("name") },
  {
    title: "registry",
    ordinary: "localhost:5000",
    spec: (v) => ({ ...base, registry: v }),
    fluent: (v) => Image.fromDebianBase({ root, ...base, registry: v }),
    names: same("registry"),
  },
  {
    title: "pythonExec",
    ordinary: "python3",
    spec: (v) => ({ ...base, baseImage: "python:3.11-slim", pythonExec: v }),
    fluent: (v) => Image.fromBase("python:3.11-slim", { root, ...base, pythonExec: v }),
    names: same("pythonExec", "python_exec"),
  },
  { title: "packages", ordinary: "six", spec: (v) => ({ ...base, packages: [v] }), fluent: (v) => debian().withPipPackages(v), names: same("packages[0]") },
  {
    title: "aptPackages",
    ordinary: "curl",
    spec: (v) => ({ ...base, aptPackages: [v] }),
    fluent: (v) => debian().withAptPackages(v),
    names: [exact("packages[0]"), exact("aptPackages[0]"), exact("apt_packages[0]")],
  },
  {
    title: "condaPackages",
    ordinary: "numpy",
    spec: (v) => ({ ...base, condaPackages: [v] }),
    fluent: (v) => debian().withCondaPackages([v]),
    names: [/^packages(\[0\])?$/, exact("condaPackages[0]"), exact("conda_packages[0]")],
  },
  {
    title: "env value",
    ordinary: "x",
    spec: (v) => ({ ...base, env: { V: v } }),
    fluent: (v) => debian().withEnvVars({ V: v }),
    names: [exact("vars.V"), exact("env.V"), exact("env.V")],
  },
  {
    title: "env name",
    ordinary: "X",
    spec: (v) => ({ ...base, env: { [v]: "x" } }),
    fluent: (v) => debian().withEnvVars({ [v]: "x" }),
    names: [/^vars\b/, /^env\b/, /^env\b/],
  },
  { title: "commands", ordinary: "true", spec: (v) => ({ ...base, commands: [v] }), fluent: (v) => debian().withCommands([v]), names: same("commands[0]") },
  {
    title: "entrypoint",
    ordinary: "x",
    spec: (v) => ({ ...base, entrypoint: [v] }),
    fluent: (v) => debian().withEntrypoint([v]),
    names: [exact("command[0]"), exact("entrypoint[0]"), exact("entrypoint[0]")],
  },
  {
    title: "pipIndex",
    ordinary: "https://pypi.example.com/simple",
    spec: (v) => ({ ...base, packages: ["six"], pipIndex: v }),
    fluent: (v) => debian().withPipPackages("six", { indexUrl: v }),
    names: [exact("indexUrl"), exact("pipIndex"), exact("pip_index")],
  },
  {
    title: "pipExtraArgs",
    ordinary: "--no-deps",
    spec: (v) => ({ ...base, packages: ["six"], pipExtraArgs: [v] }),
    fluent: (v) => debian().withPipPackages("six", { extraArgs: [v] }),
    names: [exact("extraArgs[0]"), exact("pipExtraArgs[0]"), exact("pip_extra_args[0]")],
  },
  {
    title: "pipSecretMounts target",
    ordinary: "/run/s",
    spec: (v) => ({ ...base, packages: ["six"], pipSecretMounts: [{ id: "s", env: "HOME", target: v }] }),
    fluent: (v) => debian().withPipPackages("six", { secretMounts: [{ id: "s", env: "HOME", target: v }] }),
    names: [exact("secretMounts[0].target"), exact("pipSecretMounts[0].target"), exact("pip_secret_mounts[0].target")],
  },
  { title: "cuda", ordinary: "12.4.1", spec: (v) => ({ ...base, cuda: v }), fluent: (v) => debian().withCuda({ cuda: v }), names: same("cuda") },
  {
    title: "cudaImage",
    ordinary: "nvidia/cuda:{cuda}-runtime-ubuntu22.04",
    spec: (v) => ({ ...base, cuda: "12.4.1", builderConfig: { cudaImage: v } }),
    fluent: (v) => Image.fromDebianBase({ root, ...base, builderOptions: { cudaImage: v } }).withCuda({ cuda: "12.4.1" }),
    // ImageSpec refuses what no builder could take (half a surrogate pair) as written; the builder the rest, as the option it is.
    names: [exact("builderOptions.cudaImage"), /^builder(Options|Config)\.cudaImage$/, /^(builderOptions|builder_config)\.cudaImage$/],
  },
  {
    title: "micromambaImage",
    ordinary: "mambaorg/micromamba:2.0.5",
    spec: (v) => ({ ...base, condaPackages: ["numpy"], builderConfig: { micromambaImage: v } }),
    fluent: (v) => Image.fromDebianBase({ root, ...base, builderOptions: { micromambaImage: v } }).withCondaPackages(["numpy"]),
    names: [exact("builderOptions.micromambaImage"), /^builder(Options|Config)\.micromambaImage$/, /^(builderOptions|builder_config)\.micromambaImage$/],
  },
  {
    title: "platform",
    ordinary: "linux/amd64",
    spec: (v) => ({ ...base, platform: [v] }),
    fluent: (v) => Image.fromDebianBase({ root, ...base, platform: v }),
    names: [/^platform/, /^platform/, /^platform/],
  },
];

type Outcome = { accepted: true; dockerfile: string } | { accepted: false; code: string; fields: string[]; message: string; values: unknown[] };

/** Renders as the CLI's `dockerfile` does: select a builder (which refuses what it cannot render), then render. */
async function render(make: () => Image | ImageSpec): Promise<Outcome> {
  try {
    const made = make();
    const image = made instanceof ImageSpec ? made.toImage() : made;
    const { builder } = engine.select(image);
    const rendered = await builder.render!(image, { identity: await image.identity(), baseUri: undefined, config: {} });
    return { accepted: true, dockerfile: rendered.content };
  } catch (error) {
    if (!isImageSpecError(error)) throw error;
    const issues = error.issues ?? [];
    return {
      accepted: false,
      code: error.code,
      fields: [error.field, ...issues.map((i) => i.field)].filter((f): f is string => f !== undefined),
      message: error.message,
      values: [error.value, ...issues.map((i) => i.value)],
    };
  }
}

/** The YAML door: a spec file written with every character escaped, through the CLI's `dockerfile` command. */
async function renderYaml(spec: ImageSpecFields, n: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(root, `case-${n}.yaml`);
  writeFileSync(file, `${yamlValue(snakeKeys(spec))}\n`);
  stdout = "";
  stderr = "";
  const code = await main(["dockerfile", file, "--builder", "docker"], { ...process.env, NO_COLOR: "1" });
  return { code, stdout, stderr };
}

const TOP_LEVEL_SNAKE: Readonly<Record<string, string>> = {
  pythonVersion: "python_version",
  pythonExec: "python_exec",
  baseImage: "base_image",
  aptPackages: "apt_packages",
  condaPackages: "conda_packages",
  pipIndex: "pip_index",
  pipExtraArgs: "pip_extra_args",
  pipSecretMounts: "pip_secret_mounts",
  builderConfig: "builder_config",
};
function snakeKeys(spec: ImageSpecFields): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).map(([k, v]) => [TOP_LEVEL_SNAKE[k] ?? k, v]));
}

/** YAML flow text (JSON's shape) whose strings hold only printable ASCII: everything else as a \u or \U escape. */
function yamlValue(value: unknown): string {
  if (typeof value === "string") {
    let out = '"';
    for (let i = 0; i < value.length; i++) {
      const code = value.codePointAt(i)!;
      if (code > 0xffff) {
        out += `\\U${code.toString(16).padStart(8, "0")}`;
        i++;
      } else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
      else if (value[i] === '"' || value[i] === "\\") out += `\\${value[i]}`;
      else out += value[i];
    }
    return `${out}"`;
  }
  if (Array.isArray(value)) return `[${value.map(yamlValue).join(", ")}]`;
  if (typeof value === "object" && value !== null)
    return `{${Object.entries(value)
      .map(([k, v]) => `${yamlValue(k)}: ${yamlValue(v)}`)
      .join(", ")}}`;
  return JSON.stringify(value);
}

/** The instructions of a Dockerfile, in order: the first word of each line that does not continue the one before. */
function instructions(dockerfile: string): string[] {
  const out: string[] = [];
  let continued = false;
  for (const line of dockerfile.split("\n")) {
    // A value a Dockerfile line cannot hold (a newline in an env value) travels as a build argument: its ARG is not an
    // instruction of the image's own.
    if (!continued && /^[A-Z]+\b/.test(line) && !/^ARG IMAGESPEC_/.test(line)) out.push(line.split(/\s/, 1)[0]!);
    continued = line.endsWith("\\");
  }
  return out;
}

/** The flags of each RUN line (what comes before its exec-form command). */
function runFlags(dockerfile: string): string[] {
  return dockerfile
    .split("\n")
    .filter((line) => line.startsWith("RUN --"))
    .map((line) => line.slice(0, line.includes(' ["') ? line.indexOf(' ["') : undefined));
}

function expectNamed(outcome: Extract<Outcome, { accepted: false }>, field: RegExp, value: string, where: string): void {
  expect(["INVALID_SPEC", "NO_BUILDER", "CONFIG_ERROR"], where).toContain(outcome.code);
  expect(
    outcome.fields.some((f) => field.test(f)) || field.test(outcome.message.match(/(?:^|: |; )([\w.[\]"]+) = /)?.[1] ?? ""),
    `${where}: the error names the field (${field}); it named ${JSON.stringify(outcome.fields)}: ${outcome.message}`,
  ).toBe(true);
  expect(outcome.values.includes(value) || outcome.message.includes(showValue(value)), `${where}: the error names the value: ${outcome.message}`).toBe(true);
}

let stdout = "";
let stderr = "";
beforeAll(() => {
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterAll(() => vi.restoreAllMocks());

describe(`hostile corpus: ${PAYLOADS.length} payloads x ${FIELDS.length} fields x 3 front doors`, () => {
  it(`has at least 300 cases per door`, () => {
    expect(PAYLOADS.length * FIELDS.length).toBeGreaterThanOrEqual(300);
  });

  it.each(FIELDS.map((f) => [f.title, f] as const))(
    "%s: refused naming field and value, or rendered with nothing injected, the same at every door",
    { timeout: 600_000 },
    async (_title, field) => {
      const ordinaryFluent = await render(() => field.fluent(field.ordinary));
      const ordinarySpec = await render(() => new ImageSpec({ root, ...field.spec(field.ordinary) }));
      if (!ordinaryFluent.accepted || !ordinarySpec.accepted)
        throw new Error(`the ordinary value of ${field.title} was refused: ${JSON.stringify([ordinaryFluent, ordinarySpec])}`);
      const shape = { fluent: instructions(ordinaryFluent.dockerfile), spec: instructions(ordinarySpec.dockerfile) };
      let accepted = 0;
      let refused = 0;
      for (const [n, value] of PAYLOADS.entries()) {
        const where = (door: string) => `${field.title} = ${JSON.stringify(value)} through ${door}`;
        const fluent = await render(() => field.fluent(value));
        const spec = await render(() => new ImageSpec({ root, ...field.spec(value) }));
        const yaml = await renderYaml(field.spec(value), n);
        for (const [door, outcome, ordinary, name] of [
          ["the fluent API", fluent, shape.fluent, field.names[0]],
          ["ImageSpec", spec, shape.spec, field.names[1]],
        ] as const) {
          if (outcome.accepted) {
            expect(instructions(outcome.dockerfile), where(door)).toEqual(ordinary);
            expect(outcome.dockerfile, where(door)).not.toMatch(/^RUN \["?touch/m);
            // BuildKit reads RUN flags byte by byte: anything but printable ASCII there can end a flag early (issue 19's HIGH 1).
            expect(
              runFlags(outcome.dockerfile).filter((flags) => !/^[\x20-\x7e]*$/.test(flags)),
              where(door),
            ).toEqual([]);
          } else {
            expectNamed(outcome, name, value, where(door));
          }
        }
        // The YAML door agrees with ImageSpec's, and says the same through the CLI: exit 2 naming field and value.
        if (spec.accepted) {
          expect(yaml.code, `${where("YAML via the CLI")}: ${yaml.stderr}`).toBe(0);
          expect(instructions(yaml.stdout), where("YAML via the CLI")).toEqual(shape.spec);
          accepted++;
        } else {
          expect(yaml.code, where("YAML via the CLI")).not.toBe(0);
          expect(yaml.stderr, where("YAML via the CLI")).toMatch(new RegExp(field.names[2].source.replace(/^\^|\$$/g, "")));
          expect(yaml.stderr, where("YAML via the CLI")).toContain(showValue(value));
          expect(yaml.stderr, where("YAML via the CLI")).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
          refused++;
        }
      }
      // Each field both refuses something and (except where no hostile value is valid) accepts something.
      expect(refused, `${field.title} refused nothing`).toBeGreaterThan(0);
      expect(accepted + refused).toBe(PAYLOADS.length);
    },
  );
});
