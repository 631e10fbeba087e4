/**
 * What the conformance suite builds on: a folder of sample files, a corpus of images covering every built-in layer
 * kind and the awkward cases (another Image as base, a Dockerfile, several platforms, an unknown layer kind), and a
 * BuildContext like the engine's.
 */

import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Image, ImageSpec } from "@imagespec/core";
import { type BuildContext, type BuildEvent, defineLayer } from "@imagespec/core/authoring";
import { z } from "zod";

/** A folder of sample files, and the paths (relative to it) that fixtures can use. */
export interface ConformanceFiles {
  /** Absolute path of the folder: pass it as the image's `root`. */
  readonly root: string;
  /** `requirements.txt` (one package). */
  readonly requirements: string;
  /** `src`, a folder with `app.py`, `data/values.json`, `debug.log` and an executable `run.sh`. */
  readonly folder: string;
  /** `src/app.py`. */
  readonly file: string;
  /** `.dockerignore` leaving out `*.log`. */
  readonly ignoreFile: string;
  /** `Dockerfile` (FROM alpine). */
  readonly dockerfile: string;
}

/** Writes the sample files into a new temporary folder. */
export async function createConformanceFiles(parent = os.tmpdir()): Promise<ConformanceFiles> {
  const root = await mkdtemp(path.join(parent, "imagespec-conformance-"));
  await mkdir(path.join(root, "src", "data"), { recursive: true });
  await writeFile(path.join(root, "requirements.txt"), "six==1.16.0\n");
  await writeFile(path.join(root, "src", "app.py"), 'print("hello from imagespec")\n');
  await writeFile(path.join(root, "src", "data", "values.json"), '{"answer": 42}\n');
  await writeFile(path.join(root, "src", "debug.log"), "left out by .dockerignore\n");
  await writeFile(path.join(root, "src", "run.sh"), "#!/bin/sh\necho run\n", { mode: 0o755 });
  await writeFile(path.join(root, ".dockerignore"), "*.log\n**/*.log\n");
  await writeFile(path.join(root, "Dockerfile"), "FROM alpine:3.20\nRUN echo hello\n");
  return { root, requirements: "requirements.txt", folder: "src", file: "src/app.py", ignoreFile: ".dockerignore", dockerfile: "Dockerfile" };
}

/** A layer kind no builder can know: a builder must refuse it rather than drop it. */
export const unknownLayer = defineLayer({
  specificationVersion: "v1",
  kind: "conformance.unknownKind",
  description: "A layer kind from a package no builder knows, with no renderers.",
  schema: z.object({ value: z.string() }).strict(),
});

// A builder type no real builder is: its renderer key is declared the way a third-party builder declares its own.
declare module "@imagespec/core/authoring" {
  interface LayerRenderers<Fields extends object> {
    "conformance-other"?(fields: Readonly<Fields>): string;
  }
}

/** A layer kind that only a builder of type `conformance-other` can render. */
export const otherBuilderLayer = defineLayer({
  specificationVersion: "v1",
  kind: "conformance.otherBuilderOnly",
  description: "A layer kind rendered for another builder type only.",
  schema: z.object({ value: z.string() }).strict(),
  renderers: { "conformance-other": () => "RUN true" },
});

export interface CorpusImage {
  readonly name: string;
  readonly image: Image;
}

/**
 * Images of every shape a builder meets, for the checks that hold whatever the builder can build: supports()
 * answers `true` or a reason and never throws, and a layer kind it cannot know is refused.
 */
export function conformanceCorpus(files: ConformanceFiles): CorpusImage[] {
  const root = files.root;
  const debian = Image.fromDebianBase({ root, name: "conformance" });
  const base = Image.fromBase("alpine:3.20", { root, name: "conformance-base" });
  const list: [string, () => Image][] = [
    ["a Debian Python base alone", () => debian],
    ["a reference base alone", () => base],
    ["a reference base with a registry", () => Image.fromBase("alpine:3.20", { root, registry: "localhost:5000", name: "conformance" })],
    ["another Image as base", () => Image.fromBase(debian.withAptPackages("curl"), { root, name: "conformance-child" })],
    ["a Dockerfile", () => Image.fromDockerfile(files.dockerfile, { root, name: "conformance-dockerfile" })],
    ["several platforms", () => debian.withPlatform("linux/amd64", "linux/arm64")],
    ["apt packages", () => debian.withAptPackages("curl", "ca-certificates")],
    ["apt packages with a secret mount", () => debian.withAptPackages("curl", { secretMounts: ["APT_AUTH"] })],
    ["conda packages and channels", () => debian.withCondaPackages(["numpy>=1.26,<2", "conda-forge::pyyaml"], { channels: ["conda-forge"] })],
    ["pip packages", () => debian.withPipPackages("six==1.16.0", "requests[socks]>=2.31; python_version >= '3.8'")],
    [
      "pip packages from other indexes",
      () => debian.withPipPackages("six", { indexUrl: "https://pypi.org/simple", extraIndexUrls: ["https://example.com/simple"] }),
    ],
    ["pip packages with pre-releases", () => debian.withPipPackages("six", { pre: true })],
    ["pip packages with extra arguments", () => debian.withPipPackages("six", { extraArgs: ["--no-deps"] })],
    ["pip packages with a secret mount", () => debian.withPipPackages("six", { secretMounts: [{ id: "PIP_TOKEN", env: "PIP_TOKEN" }] })],
    ["a requirements file", () => debian.withRequirements(files.requirements)],
    ["a copied folder", () => debian.withSourceFolder(files.folder, "/app")],
    ["a copied file", () => debian.withSourceFile(files.file, "/app/")],
    ["an ignore file and a copied folder", () => debian.withDockerignore(files.ignoreFile).withSourceFolder(files.folder, "/app")],
    ["a code bundle", () => debian.withCodeBundle({ src: files.folder, dst: "/root" })],
    ["environment variables with quotes, $ and newlines", () => debian.withEnvVars({ PLAIN: "value", TRICKY: `it's "quoted" $HOME \\ back\nslash` })],
    ["a working directory and commands", () => debian.withWorkdir("/app").withCommands(["echo hello > hello.txt", "ls"])],
    ["commands with quotes", () => debian.withCommands(`echo 'single' "double" $HOME`)],
    ["commands with a secret mount", () => debian.withCommands("cat /run/secrets/token", { secretMounts: ["token"] })],
    ["an entrypoint", () => debian.withEntrypoint(["python", "-m", "http.server"])],
    ["runtime packages", () => debian.withRuntimePackages("six")],
    ["CUDA and cuDNN", () => Image.fromBase("ubuntu:22.04", { root, pythonVersion: "3.11" }).withCuda({ cuda: "12.4.1", cudnn: "9" })],
    ["a layer kind no builder knows", () => debian.withLayer(unknownLayer, { value: "x" })],
    ["a layer kind rendered for another builder only", () => debian.withLayer(otherBuilderLayer, { value: "x" })],
    [
      "a declarative ImageSpec",
      () =>
        new ImageSpec({
          root,
          name: "conformance-spec",
          pythonVersion: "3.11",
          packages: ["six"],
          aptPackages: ["curl"],
          env: { A: "1" },
          commands: ["echo spec"],
          copy: [files.file],
        }).toImage(),
    ],
  ];
  return list.map(([name, make]) => ({ name, image: make() }));
}

/** The names of the corpus images a builder can never accept. */
export const ALWAYS_REFUSED = ["a layer kind no builder knows", "a layer kind rendered for another builder only"] as const;

export interface TestBuildContextOptions {
  readonly config?: Readonly<Record<string, unknown>>;
  readonly push?: boolean;
  readonly signal?: AbortSignal;
  /** Receives every event the builder reports (after the suite checked its shape). */
  readonly onEvent?: (event: BuildEvent) => void;
}

/** A BuildContext like the one the engine hands a builder: the image's own URI and identity, no credentials. */
export async function createBuildContext(image: Image, options: TestBuildContextOptions = {}): Promise<BuildContext> {
  const identity = await image.identity();
  return {
    uri: identity.uri,
    identity,
    push: options.push ?? false,
    baseUri: image.base.type === "image" ? await image.base.image.uri() : undefined,
    credentials: async () => undefined,
    config: options.config ?? {},
    signal: options.signal ?? new AbortController().signal,
    report: (event) => options.onEvent?.(event),
  };
}
