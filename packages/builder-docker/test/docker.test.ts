/**
 * Against the real engine (scripts/test-env: local dockerd, an open and a basic-auth registry, a seeded offline
 * Python image): build, then run every image and look inside it. Builds are shared between assertions to keep
 * the suite short; the timings are printed at the end.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { type AddressInfo, createServer, type Socket } from "node:net";
import path from "node:path";
import { type BuildOutcome, type EngineEvent, Image, ImageBuildEngine } from "@imagespec/core";
import { type BuildContext, type BuildEvent, createDockerConfigResolver, isImageSpecError, RegistryClient } from "@imagespec/core/authoring";
import { buildWheel, docker, occurrencesInImage, type PackageIndex, runImage, servePackageIndex, stopwatch, type TestEnv, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBuilder, renderDockerBuild } from "../src/index.js";
import type { DockerBuildError } from "../src/run-build.js";
import { project } from "./support/project.js";

let env: TestEnv;
let index: PackageIndex;
let root: string;
let engine: ImageBuildEngine;
const { timed, print: printTimings } = stopwatch();
const events: EngineEvent[] = [];

async function buildOne(target: Image, options: Parameters<ImageBuildEngine["build"]>[1] = {}, using = engine): Promise<BuildOutcome> {
  const outcomes = await using.build(target, { ...options, onEvent: (e) => events.push(e) });
  const uri = await target.uri();
  const outcome = outcomes.find((o) => o.uri === uri);
  if (!outcome) throw new Error(`no outcome for ${uri}`);
  return outcome;
}

function expectBuilt(outcome: BuildOutcome): void {
  if (outcome.status !== "built")
    throw new Error(
      `expected ${outcome.uri} to be built, got ${outcome.status}: ${outcome.reason}\n${(outcome.error as DockerBuildError | undefined)?.log ?? ""}`,
    );
}

/** Runs python3 in the image (the image's own PATH decides which) and parses the JSON it prints. */
async function inspectInside(uri: string, program: string): Promise<Record<string, unknown>> {
  return JSON.parse(await runImage(uri, ["-c", program], { entrypoint: "python3" })) as Record<string, unknown>;
}

async function imageConfig(uri: string): Promise<{ Entrypoint: string[] | null; WorkingDir: string; Env: string[]; Labels: Record<string, string> | null }> {
  return JSON.parse(await docker(["image", "inspect", uri, "--format", "{{json .Config}}"]));
}

const WEIRD = `a "double" 'single' $HOME \${PATH} \\back\\slash <>;|& \`id\` $(echo x)`;
const MULTI = 'line one\nRUN echo injected\n  indented "q" $HOME \\\n\\';

beforeAll(async () => {
  env = testEnv();
  process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = `${env.registry}/imagespec/python:{python_version}-slim-bookworm`;
  const wheelDir = project({}, "imagespec-docker-wheels-");
  const wheel = (name: string, module: string, value: string) =>
    buildWheel(wheelDir, { name, version: "1.0.0", modules: { [`${module}/__init__.py`]: `VALUE = ${JSON.stringify(value)}\n` } });
  index = await servePackageIndex([
    await wheel("imagespec-demo", "imagespec_demo", "demo"),
    await wheel("imagespec-extra", "imagespec_extra", "extra"),
    await wheel("imagespec-base-pkg", "imagespec_base_pkg", "base"),
    await wheel("imagespec-runtime-pkg", "imagespec_runtime_pkg", "runtime"),
    await wheel("imagespec-secret-pkg", "imagespec_secret_pkg", "secret"),
  ]);
  root = project({
    "requirements.txt": 'imagespec-extra<2,>=1.0; python_version >= "3"\n',
    ".imagespecignore": "*.log\nsecret/\n",
    "app/main.py": 'import os, imagespec_demo\nprint("main ran in", os.getcwd(), "with", imagespec_demo.VALUE)\n',
    "app/run.sh*": "#!/bin/sh\necho run\n",
    "app/debug.log": "left out by withDockerignore\n",
    "app/secret/key.pem": "left out by withDockerignore\n",
    "app/.gitignore": "build/\n",
    "app/build/out.txt": "left out by .gitignore\n",
    "app/data/with space.txt": "spaces\n",
    "config.yaml": "answer: 42\n",
    "bundle/tracked.py": "TRACKED = True\n",
    "docker/hello.txt": "hello from a Dockerfile\n",
  });
  writeFileSync(path.join(root, "docker/Dockerfile"), `FROM ${env.baseImage}\nCOPY hello.txt /hello.txt\n`);
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: root, stdio: "ignore" });
  git("init", "-q");
  git("remote", "add", "origin", "https://someone:a-token@example.com/org/project.git");
  git("add", ".");
  git("commit", "-q", "-m", "test project");
  writeFileSync(path.join(root, "bundle/untracked.py"), "UNTRACKED = True\n");
  engine = new ImageBuildEngine().register(createDockerBuilder({ network: "host" }), { priority: 100 });
});

afterAll(async () => {
  await index?.close();
  printTimings("docker test");
});

describe("an image with every kind of layer, built through the Engine API", () => {
  let image: Image;
  let uri: string;
  let first: BuildOutcome;

  beforeAll(async () => {
    image = Image.fromDebianBase({ pythonVersion: "3.11", root, registry: env.registry, name: "builder-docker-test/everything" })
      .withAptPackages("tree")
      .withPipPackages("imagespec-demo==1.0.0", { indexUrl: index.url })
      .withRequirements("requirements.txt", { indexUrl: index.url })
      .withDockerignore(".imagespecignore")
      .withSourceFolder("app", "/srv/app")
      .withSourceFile("config.yaml", "/etc/imagespec/")
      .withCodeBundle({ src: "bundle", dst: "/srv/bundle", copyStyle: "tracked" })
      .withEnvVars({ WEIRD, MULTI })
      .withWorkdir("/srv/app")
      .withCommands(["echo first > /tmp/order", "echo second >> /tmp/order"])
      .withEntrypoint(["python3", "main.py"]);
    uri = await image.uri();
    process.env.SOURCE_DATE_EPOCH = "1700000000";
    try {
      // force: a re-run finds the tag in the registry; the build itself is then mostly cache hits.
      first = await timed("everything: build and push", () => buildOne(image, { force: true }));
    } finally {
      delete process.env.SOURCE_DATE_EPOCH;
    }
    expectBuilt(first);
  });

  it("is pushed to the open registry with its digest, and reports steps with timings", async () => {
    expect(first.pushed).toBe(true);
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const existence = await new RegistryClient().manifestExists(uri);
    expect(existence).toEqual({ status: "present", digest: first.digest });
    const steps = events.flatMap((e) => (e.type === "build" && e.uri === uri && e.event.type === "step" ? [e.event] : [])) as Extract<
      BuildEvent,
      { type: "step" }
    >[];
    expect(steps.some((s) => s.name.includes("pip install") && (s.status === "done" || s.status === "cached") && typeof s.durationMs === "number")).toBe(true);
    expect(first.result?.log).toContain("apt-get install");
  });

  it("has the apt package, the pip packages (index on 127.0.0.1) and the requirements, in the venv first on PATH", async () => {
    const inside = await inspectInside(
      uri,
      "import json, shutil, sys, imagespec_demo, imagespec_extra; print(json.dumps({'demo': imagespec_demo.VALUE, 'extra': imagespec_extra.VALUE, 'prefix': sys.prefix, 'version': '%d.%d' % sys.version_info[:2], 'tree': shutil.which('tree')}))",
    );
    expect(inside).toEqual({ demo: "demo", extra: "extra", prefix: "/opt/venv", version: "3.11", tree: "/usr/bin/tree" });
  });

  it("keeps neither apt lists nor pip's cache nor the requirements file in the image", async () => {
    const inside = await inspectInside(
      uri,
      "import json, os; lists = [f for f in os.listdir('/var/lib/apt/lists') if f not in ('lock', 'partial')]; print(json.dumps({'lists': lists, 'pipCache': os.path.exists('/root/.cache/pip') and os.listdir('/root/.cache/pip'), 'imagespecCache': os.path.exists('/var/cache/imagespec/pip') and os.listdir('/var/cache/imagespec/pip'), 'requirements': os.path.exists('/tmp/imagespec') and os.listdir('/tmp/imagespec')}))",
    );
    expect(inside.lists).toEqual([]);
    expect(inside.pipCache || []).toEqual([]);
    expect(inside.imagespecCache || []).toEqual([]);
    expect(inside.requirements || []).toEqual([]);
  });

  it("carries env values with quotes, $, backslashes and newlines exactly, and the image id", async () => {
    const inside = await inspectInside(
      uri,
      "import json, os; print(json.dumps({k: os.environ.get(k) for k in ('WEIRD', 'MULTI', 'IMAGESPEC_IMAGE_ID', 'VIRTUAL_ENV')}))",
    );
    expect(inside).toEqual({ WEIRD, MULTI, IMAGESPEC_IMAGE_ID: image.id, VIRTUAL_ENV: "/opt/venv" });
  });

  it("has the copied folder with the ignore rules applied, the file, the tracked code bundle, and ran the commands in order", async () => {
    const inside = await inspectInside(
      uri,
      [
        "import json, os, pathlib",
        "def tree(d): return sorted(str(p.relative_to(d)) for p in pathlib.Path(d).rglob('*'))",
        "print(json.dumps({'app': tree('/srv/app'), 'bundle': tree('/srv/bundle'), 'config': open('/etc/imagespec/config.yaml').read(),",
        "  'order': open('/tmp/order').read(), 'cwd': os.getcwd(), 'exec': os.access('/srv/app/run.sh', os.X_OK), 'space': open('/srv/app/data/with space.txt').read()}))",
      ].join("\n"),
    );
    expect(inside).toEqual({
      app: [".gitignore", "data", "data/with space.txt", "main.py", "run.sh"],
      bundle: ["tracked.py"],
      config: "answer: 42\n",
      order: "first\nsecond\n",
      cwd: "/srv/app",
      exec: true,
      space: "spaces\n",
    });
  });

  it("runs its entrypoint in its working directory, and carries OCI labels without credentials", async () => {
    expect(await runImage(uri, [])).toBe("main ran in /srv/app with demo");
    const config = await imageConfig(uri);
    expect(config.Entrypoint).toEqual(["python3", "main.py"]);
    expect(config.WorkingDir).toBe("/srv/app");
    const revision = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    expect(config.Labels).toMatchObject({
      "org.opencontainers.image.source": "https://example.com/org/project",
      "org.opencontainers.image.revision": revision,
      "org.opencontainers.image.created": "2023-11-14T22:13:20.000Z",
    });
    expect(JSON.stringify(config.Labels)).not.toContain("a-token");
  });

  it("loses its entrypoint in a child that sets `[]`", async () => {
    const child = Image.fromBase(uri, { root, name: "builder-docker-test/no-entrypoint" }).withEntrypoint([]);
    expectBuilt(await timed("entrypoint []: build", () => buildOne(child, { force: true })));
    const config = await imageConfig(await child.uri());
    expect(config.Entrypoint ?? []).toEqual([]);
    expect(await runImage(await child.uri(), ["sh", "-c", "echo no entrypoint in $PWD"])).toBe("no entrypoint in /srv/app");
  });

  it("is skipped the second time because the tag exists, and rebuilt (from the cache) with forcePush", async () => {
    const again = await timed("everything: second build (skipped)", () => buildOne(image));
    expect(again.status).toBe("skipped");
    expect(again.reason).toContain("already exists");
    const forced = await timed("everything: forcePush rebuild", () => buildOne(image.forcePush()));
    expectBuilt(forced);
    expect(forced.pushed).toBe(true);
    expect(forced.result?.cached).toBe(true);
    expect(forced.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await new RegistryClient().manifestExists(uri)).toEqual({ status: "present", digest: forced.digest });
  });
});

describe("pushing to the authenticated registry", () => {
  it("pushes with credentials from the resolver, and fails with AUTH_ERROR without them", async () => {
    const configDir = project({
      "config.json": JSON.stringify({ auths: { [env.authRegistry]: { auth: Buffer.from(`${env.authUser}:${env.authPassword}`).toString("base64") } } }),
    });
    const credentials = createDockerConfigResolver({ configPath: path.join(configDir, "config.json") });
    const authEngine = new ImageBuildEngine({ credentials }).register(createDockerBuilder(), { priority: 100 });
    const image = Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, registry: env.authRegistry, name: "builder-docker-test/auth" }).withEnvVars({
      PUSHED_TO: "auth",
    });
    const outcome = await timed("auth registry: build and push", () => buildOne(image, { force: true }, authEngine));
    expectBuilt(outcome);
    expect(outcome.pushed).toBe(true);
    expect(await new RegistryClient({ credentials }).manifestExists(await image.uri())).toEqual({ status: "present", digest: outcome.digest });

    const anonymous = new ImageBuildEngine({ credentials: async () => undefined }).register(createDockerBuilder(), { priority: 100 });
    // Without credentials the push cannot work, so the engine's pre-flight refuses before anything is built.
    const refused = await buildOne(image, { force: true }, anonymous).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isImageSpecError(refused) && refused.code).toBe("AUTH_ERROR");
    expect((refused as Error).message).toContain(`Cannot push to ${env.authRegistry}/builder-docker-test/auth`);
    expect((refused as Error).message).toContain("nothing was built");

    // A private base: gone from the engine, it is pulled from the authenticated registry with the same credentials.
    await docker(["image", "rm", await image.uri()]);
    const child = Image.fromBase(await image.uri(), { root, name: "builder-docker-test/private-base-child" }).withEnvVars({ CHILD: "yes" });
    const pulled = await timed("auth registry: child of a private base", () => buildOne(child, { force: true }, authEngine));
    expectBuilt(pulled);
    expect(await runImage(await child.uri(), ["sh", "-c", 'echo "$PUSHED_TO $CHILD"'])).toBe("auth yes");
    // BuildKit pulled it into its own store, not the engine's image list: nothing local answers for it now either.
    await expect(docker(["image", "inspect", await image.uri()])).rejects.toThrow(/No such image/);
    const denied = await buildOne(child, { force: true }, anonymous);
    expect(denied.status).toBe("failed");
    expect(denied.reason).toContain(`load metadata for ${await image.uri()}`);
    expect((denied.error as { hint?: string }).hint).toContain("credentials");
  });
});

describe("a base Image built first and used by a child", () => {
  it("builds the base, then the child from it; the child installs runtime packages when it starts", async () => {
    const base = Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, name: "builder-docker-test/base" }).withPipPackages("imagespec-base-pkg==1.0.0", {
      indexUrl: index.url,
    });
    const child = Image.fromBase(base, { root, name: "builder-docker-test/child" })
      .withCommands("python -c 'import imagespec_base_pkg' && echo child-ok > /child-ok")
      .withRuntimePackages("imagespec-runtime-pkg");
    const outcomes = await timed("base + child: build", () => engine.build(child, { force: true, onEvent: (e) => events.push(e) }));
    const [baseUri, childUri] = [await base.uri(), await child.uri()];
    expect(outcomes.map((o) => [o.uri, o.status, o.requested])).toEqual([
      [baseUri, "built", false],
      [childUri, "built", true],
    ]);
    const dockerfile = (await renderDockerBuild(child, { baseUri })).dockerfile;
    expect(dockerfile.startsWith(`FROM ${baseUri}\n`)).toBe(true);
    expect(dockerfile).not.toContain("-m venv");

    const output = await timed("child: run (runtime install)", () =>
      runImage(
        childUri,
        ["python", "-c", "import imagespec_base_pkg as b, imagespec_runtime_pkg as r; print(b.VALUE, r.VALUE, open('/child-ok').read().strip())"],
        {
          network: "host",
          env: { PIP_INDEX_URL: index.url },
        },
      ),
    );
    expect(output).toBe("base runtime child-ok");
    // Without the package index the wrapper's install fails, and the container says so.
    await expect(runImage(childUri, ["true"], { env: { PIP_INDEX_URL: "http://127.0.0.1:9/simple", PIP_RETRIES: "0", PIP_TIMEOUT: "2" } })).rejects.toThrow(
      /imagespec-runtime-pkg/,
    );

    expect(await engine.existence(child)).toMatchObject({ status: "present" });
    const again = await buildOne(child);
    expect(again.status).toBe("skipped");
  });
});

describe("failures", () => {
  it("name the layer, the command and the tail of its log", async () => {
    const image = Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, name: "builder-docker-test/fails" })
      .withEnvVars({ A: "1" })
      .withCommands(["echo fine", "echo some output; echo the reason >&2; exit 3", "echo never"]);
    const outcome = await timed("failing build", () => buildOne(image, { force: true }));
    expect(outcome.status).toBe("failed");
    const error = outcome.error as DockerBuildError;
    expect(isImageSpecError(error) && error.code).toBe("BUILD_FAILED");
    expect(error.layerIndex).toBe(1);
    expect(error.layerKind).toBe("commands");
    expect(error.command).toBe("echo some output; echo the reason >&2; exit 3");
    // stdout and stderr are separate streams in BuildKit's log, so their relative order is not guaranteed.
    expect([...error.logTail].sort()).toEqual(["some output", "the reason"]);
    expect(error.message).toContain("a step of layers[1] (commands) failed");
    expect(error.message).toContain("exit code: 3");
    expect(error.log).toContain("fine");
  });

  it("stop at the start when the base has another Python than the image states", async () => {
    const image = Image.fromBase(env.baseImage, { pythonVersion: "3.12", root, name: "builder-docker-test/wrong-python" }).withPipPackages("imagespec-demo", {
      indexUrl: index.url,
    });
    const outcome = await buildOne(image, { force: true });
    expect(outcome.status).toBe("failed");
    expect(outcome.reason).toContain("the image states pythonVersion 3.12, but the base image has Python 3.11");
  });

  it("say how to start Docker when no engine answers", async () => {
    const image = Image.fromBase(env.baseImage, { root, name: "builder-docker-test/no-engine" });
    const identity = await image.identity();
    const context: BuildContext = {
      uri: identity.uri,
      identity,
      push: false,
      baseUri: undefined,
      credentials: async () => undefined,
      config: {},
      signal: new AbortController().signal,
      report: () => {},
    };
    const builder = createDockerBuilder({ host: "unix:///tmp/imagespec-no-such-docker.sock" });
    await expect(builder.build(image, context)).rejects.toMatchObject({
      code: "ENVIRONMENT",
      message: expect.stringContaining("no Docker engine answers at unix:///tmp/imagespec-no-such-docker.sock"),
      hint: expect.stringContaining("Start Docker"),
    });
  });
});

describe("secrets, served by the build's own BuildKit session (no docker CLI)", () => {
  it("pip installs from an index whose password is only a secret, a command reads a file secret: neither value is in the image, its history, its config or the log", async () => {
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const token = `s3cr3t-${randomBytes(8).toString("hex")}`;
    const wheelDir = project({}, "imagespec-docker-private-wheels-");
    const privateIndex = await servePackageIndex(
      [
        await buildWheel(wheelDir, {
          name: "imagespec-private-pkg",
          version: "1.0.0",
          modules: { "imagespec_private_pkg/__init__.py": 'VALUE = "private"\n' },
        }),
      ],
      { basicAuth: { username: "imagespec", password } },
    );
    const secretDir = project({ "token.txt": token });
    process.env.IMAGESPEC_TEST_INDEX_URL = privateIndex.url.replace("http://", `http://imagespec:${password}@`);
    const sha = (value: string) => execFileSync("sha256sum", { input: value, encoding: "utf8" }).split(" ")[0];
    const image = Image.fromBase(env.baseImage, { pythonVersion: "3.11", root, name: "builder-docker-test/secrets", builderConfig: { noCache: true } })
      .withPipPackages("imagespec-private-pkg", { secretMounts: [{ id: "index", env: "IMAGESPEC_TEST_INDEX_URL", asEnv: "PIP_INDEX_URL" }] })
      .withCommands(
        ['cat /run/secrets/token | sha256sum | cut -d" " -f1 > /token-file.sha', 'printf %s "$TOKEN" | sha256sum | cut -d" " -f1 > /token-env.sha'],
        {
          secretMounts: [{ id: "token", src: path.join(secretDir, "token.txt"), asEnv: "TOKEN" }],
        },
      );
    let outcome: BuildOutcome;
    try {
      outcome = await timed("secrets: build through the session", () => buildOne(image, { force: true }));
      expectBuilt(outcome);
    } finally {
      delete process.env.IMAGESPEC_TEST_INDEX_URL;
      await privateIndex.close();
    }
    // The index was reached with the credentials (a request without them gets 401 and pip fails).
    expect(privateIndex.requests).toContain("/simple/imagespec-private-pkg/");
    const uri = await image.uri();
    const inside = await inspectInside(
      uri,
      "import json, os, imagespec_private_pkg as s; print(json.dumps({'pkg': s.VALUE, 'file': open('/token-file.sha').read().strip(), 'env': open('/token-env.sha').read().strip(), 'secrets': os.path.exists('/run/secrets') and os.listdir('/run/secrets'), 'TOKEN': os.environ.get('TOKEN'), 'PIP_INDEX_URL': os.environ.get('PIP_INDEX_URL')}))",
    );
    expect(inside).toMatchObject({ pkg: "private", file: sha(token), env: sha(token), TOKEN: null, PIP_INDEX_URL: null });
    expect(inside.secrets || []).toEqual([]);
    expect(await docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}", uri])).toContain("sha256sum");
    for (const value of [password, token]) {
      const found = await occurrencesInImage(uri, value);
      expect(found.savedBytes).toBeGreaterThan(1_000_000);
      expect({ save: found.save, history: found.history, config: found.config }).toEqual({ save: 0, history: 0, config: 0 });
      expect(outcome.result?.log).not.toContain(value);
      expect(JSON.stringify(events)).not.toContain(value);
    }
    expect(outcome.result?.log).toContain("session: secret index: from the environment variable IMAGESPEC_TEST_INDEX_URL");
  });

  it("refuses a build whose secret has no value, before building", async () => {
    const image = Image.fromBase(env.baseImage, { root, name: "builder-docker-test/secret-missing" }).withCommands("true", {
      secretMounts: ["IMAGESPEC_TEST_UNSET_SECRET"],
    });
    const outcome = await buildOne(image, { force: true });
    expect(outcome.status).toBe("failed");
    expect(outcome.reason).toContain("the environment variable IMAGESPEC_TEST_UNSET_SECRET is not set");
    expect(isImageSpecError(outcome.error) && outcome.error.code).toBe("ENVIRONMENT");
  });
});

describe("package caches and concurrent builds", () => {
  it("a pip step does not wait for another build's pip step: each concurrent build gets a pip cache of its own", async () => {
    // An index that accepts and never answers while `holding`: build A's pip step stays running, its cache mount in use.
    const held = new Set<Socket>();
    let holding = true;
    let reached: () => void = () => {};
    const reachedA = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const hanging = createServer((socket) => {
      if (!holding) return socket.destroy();
      held.add(socket);
      socket.on("error", () => {});
      reached();
    });
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const port = (hanging.address() as AddressInfo).port;
    const run = randomBytes(6).toString("hex");
    const a = Image.fromDebianBase({ pythonVersion: "3.11", root, name: "builder-docker-test/cache-holder" })
      .withEnvVars({ RUN: run })
      .withPipPackages("imagespec-demo", { indexUrl: `http://127.0.0.1:${port}/simple`, extraArgs: ["--retries", "0", "--timeout", "90"] });
    const b = Image.fromDebianBase({ pythonVersion: "3.11", root, name: "builder-docker-test/cache-sharer" })
      .withEnvVars({ RUN: run })
      .withPipPackages("imagespec-demo", { indexUrl: index.url });
    try {
      let settledA = false;
      const buildingA = buildOne(a, { push: false, force: true }).finally(() => {
        settledA = true;
      });
      // Bounded: A's pip step is reached in seconds (its base and venv are cached by the tests above).
      await Promise.race([reachedA, buildingA.then((o) => Promise.reject(new Error(`build A ended before its pip step ran: ${o.status} ${o.reason}`)))]);
      const outcomeB = await buildOne(b, { push: false, force: true });
      // B built while A was still in its pip step, holding its cache. (Under sharing=locked, B's step waited until A's
      // pip gave up on the index after 90 s and A's build had failed.)
      expect(settledA, "build A still running when B finished").toBe(false);
      expectBuilt(outcomeB);
      expect(outcomeB.result?.log).toMatch(/Successfully installed imagespec-demo/);
      holding = false;
      for (const socket of held) socket.destroy();
      const outcomeA = await buildingA;
      expect(outcomeA.status).toBe("failed");
    } finally {
      holding = false;
      for (const socket of held) socket.destroy();
      hanging.close();
    }
  });
});

describe("an image from the user's own Dockerfile", () => {
  it("is built from that Dockerfile and its context, with the image id added", async () => {
    const image = Image.fromDockerfile("docker/Dockerfile", { root, name: "builder-docker-test/dockerfile" });
    const outcome = await timed("user Dockerfile: build", () => buildOne(image, { force: true }));
    expectBuilt(outcome);
    expect(await runImage(await image.uri(), ["sh", "-c", 'cat /hello.txt; echo "$IMAGESPEC_IMAGE_ID"'])).toBe(`hello from a Dockerfile\n${image.id}`);
  });
});
