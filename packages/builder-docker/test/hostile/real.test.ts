/**
 * Issue 19's attack, against the real engine (scripts/test-env): the two injections refused before anything builds,
 * a build carrying more than a hundred hostile-but-valid values read back byte for byte, links that leave the root
 * (held against `docker build`'s own COPY), credentials from the image's registryConfig on every path, and pushes
 * through a fault proxy in front of the real registry.
 */

import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BuildOutcome, type EngineEvent, Image, ImageBuildEngine, ImageSpec, parseImageSpecYaml } from "@imagespec/core";
import { createDockerConfigResolver, isImageSpecError, RegistryClient, shellQuote } from "@imagespec/core/authoring";
import { docker, type FaultProxy, HOSTILE_PAYLOADS, runImage, startFaultProxy, testEnv } from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBuilder } from "../../src/index.js";

const env = testEnv();
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const madeImages: string[] = [];

function newEngine(config: Record<string, unknown> = {}, options: ConstructorParameters<typeof ImageBuildEngine>[0] = {}): ImageBuildEngine {
  return new ImageBuildEngine({ env: {}, ...options }).register(createDockerBuilder(config), { priority: 100 });
}

async function buildOne(
  engine: ImageBuildEngine,
  image: Image,
  options: Parameters<ImageBuildEngine["build"]>[1] = {},
  events: EngineEvent[] = [],
): Promise<BuildOutcome> {
  const [outcome] = await engine.build(image, { ...options, onEvent: (e) => events.push(e) });
  if (outcome === undefined) throw new Error("no outcome");
  if (outcome.status === "built" && !image.registry) madeImages.push(outcome.uri);
  return outcome;
}

function expectBuilt(outcome: BuildOutcome): void {
  if (outcome.status !== "built")
    throw new Error(
      `expected ${outcome.uri} to be built, got ${outcome.status}: ${outcome.reason}\n${(outcome.error as { log?: string } | undefined)?.log ?? ""}`,
    );
}

async function imageHasNo(uri: string, file: string): Promise<boolean> {
  return (await runImage(uri, ["-c", `test -e ${shellQuote(file)} && echo present || echo absent`], { entrypoint: "/bin/sh" })).trim() === "absent";
}

async function engineHas(reference: string): Promise<boolean> {
  return docker(["image", "inspect", reference]).then(
    () => true,
    () => false,
  );
}

beforeAll(() => {
  process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = `${env.registry}/imagespec/python:{python_version}-slim-bookworm`;
});

afterAll(async () => {
  for (const uri of madeImages) await docker(["rmi", "--no-prune", uri]).catch(() => undefined);
});

describe("HIGH 1: a secret mount target cannot inject a command", () => {
  it("the engine really reads --mount flags byte by byte: the old rendering of the issue's target ran `touch /pwned`", async () => {
    // What imagespec wrote before (tmpfs instead of a secret, so no session is needed): à is C3 A0, and A0 ends the flag.
    const dir = mkdtempSync(path.join(tmpdir(), "i19-flag-oracle-"));
    const tag = `i19-flag-oracle:${RUN}`;
    writeFileSync(
      path.join(dir, "Dockerfile"),
      `FROM ${env.baseImage}\nRUN --mount=type=tmpfs,target=/a\u00e0touch\${IFS}/pwned;# ["/bin/sh","-c","echo intended > /intended"]\n`,
    );
    await docker(["build", "--quiet", "--tag", tag, dir]);
    madeImages.push(tag);
    expect(await imageHasNo(tag, "/pwned")).toBe(false);
    expect(await imageHasNo(tag, "/intended")).toBe(true);
  });

  it("refuses the issue's target at every front door before anything builds, naming the field", async () => {
    const target = `/a\u00e0touch$${"{IFS}"}/pwned;#`;
    const attempts: [() => unknown, string][] = [
      [
        () =>
          Image.fromDebianBase({ pythonVersion: "3.11" }).withCommands(["echo intended > /intended"], { secretMounts: [{ id: "s1", env: "HOME", target }] }),
        "secretMounts[0].target",
      ],
      [() => new ImageSpec({ pythonVersion: "3.11", packages: ["six"], pipSecretMounts: [{ id: "s1", env: "HOME", target }] }), "pipSecretMounts[0].target"],
      [() => new ImageSpec({ pythonVersion: "3.11", packages: ["six"], pipSecretMounts: [["/etc/hostname", target]] }), "pipSecretMounts[0][1]"],
      [
        () =>
          parseImageSpecYaml(`python_version: "3.11"\ncommands: [echo hi]\npackages: [six]\npip_secret_mounts: [{id: s1, env: HOME, target: "${target}"}]\n`, {
            root: tmpdir(),
          }),
        "pip_secret_mounts[0].target",
      ],
    ];
    for (const [attempt, field] of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(isImageSpecError(error), `${field} was accepted`).toBe(true);
      expect(error).toMatchObject({ code: "INVALID_SPEC", field });
    }
  });

  it("mounts a hostile-but-readable target (spaces, commas, ;, #, &, |, <, >, =) exactly there, and runs only the command asked for", async () => {
    const target = "/run/my secret,dir;#x=1 & y|z <a> !%@";
    process.env.I19_SECRET = `secret-${RUN}`;
    const image = Image.fromDebianBase({ pythonVersion: "3.11", name: "i19-secret-target" })
      .withEnvVars({ RUN })
      .withCommands([`cat ${shellQuote(target)} > /intended`], { secretMounts: [{ id: "i19s", env: "I19_SECRET", target }] });
    const outcome = await buildOne(newEngine(), image);
    expectBuilt(outcome);
    expect(await runImage(outcome.uri, ["/intended"], { entrypoint: "cat" })).toBe(`secret-${RUN}`);
    expect(await imageHasNo(outcome.uri, "/pwned")).toBe(true);
    // The secret is never in the image, only at the target for that one step.
    expect(await imageHasNo(outcome.uri, target)).toBe(true);
  });
});

describe("HIGH 2: a CUDA base template cannot add an instruction, and enters the tag", () => {
  const injected = "nvidia/cuda:{cuda}-runtime-ubuntu22.04\nRUN touch /pwned";

  it("refuses it as a builder option before anything builds, naming builderOptions.cudaImage; nothing reaches the engine", async () => {
    const image = Image.fromDebianBase({ pythonVersion: "3.11", name: "i19-cuda", builderOptions: { cudaImage: injected } }).withCuda({ cuda: "12.4.1" });
    const events: EngineEvent[] = [];
    const error = await newEngine()
      .build(image, { onEvent: (e) => events.push(e) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: "NO_BUILDER", message: expect.stringContaining("builderOptions.cudaImage") });
    expect(events.filter((e) => e.type === "image" && e.status === "building")).toEqual([]);
    expect(await engineHas(await image.uri())).toBe(false);
  });

  it("refuses it from a YAML builder_config (carried into builderOptions, so into the tag), and as an Image's builderConfig", async () => {
    const spec = parseImageSpecYaml(
      `python_version: "3.11"\nname: i19-cuda-config\ncuda: "12.4.1"\nbuilder_config:\n  cudaImage: ${JSON.stringify(injected)}\n`,
      { root: tmpdir() },
    );
    expect(spec.toImage().builderOptions).toEqual({ cudaImage: injected });
    await expect(newEngine().build(spec)).rejects.toMatchObject({ code: "NO_BUILDER", message: expect.stringContaining("builderOptions.cudaImage") });
    expect(await engineHas(await spec.uri())).toBe(false);
    // As builderConfig (how a builder runs, outside the tag) it is refused, saying where it belongs.
    const image = Image.fromDebianBase({ pythonVersion: "3.11", name: "i19-cuda-config", builderConfig: { cudaImage: injected } }).withCuda({ cuda: "12.4.1" });
    const outcome = await buildOne(newEngine(), image);
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toMatchObject({
      code: "CONFIG_ERROR",
      message: expect.stringMatching(/cudaImage: changes what is built, so it is a builder option/),
    });
    expect(await engineHas(outcome.uri)).toBe(false);
  });

  it("renders the legitimate form onto a FROM line the engine builds from", async () => {
    // No NVIDIA image (nor micromamba, which a CUDA image's Python comes from) is reachable here: the seeded base
    // stands in for a CUDA base, written as a template with {cuda}; the engine builds from the FROM line rendered.
    const template = `${env.baseImage.replace(/:[^:/]+$/, "")}:{cuda}-slim-bookworm`;
    const image = Image.fromDebianBase({ pythonVersion: "3.11", name: "i19-cuda-legit", builderOptions: { cudaImage: template } }).withCuda({ cuda: "3.11" });
    const rendered = await createDockerBuilder().render!(image, { identity: await image.identity(), baseUri: undefined, config: {} });
    const from = rendered.content.split("\n").filter((line) => line.startsWith("FROM ") && !line.includes(" AS "));
    expect(from).toEqual([`FROM ${env.baseImage}`]);
    // Built by the engine through this builder (Engine API + BuildKit session), from the seeded base in the test
    // registry: bounded and offline, and no docker CLI build (which needs buildx for --output).
    const fromLine = Image.fromBase(from[0]!.slice("FROM ".length), { name: "i19-cuda-from" })
      .withCommands(["python3 --version > /version"])
      .withEnvVars({ RUN });
    const outcome = await buildOne(newEngine(), fromLine);
    expectBuilt(outcome);
    expect(await runImage(outcome.uri, ["-c", "cat /version"], { entrypoint: "/bin/sh" })).toMatch(/^Python 3\.11\./);
    expect(await imageHasNo(outcome.uri, "/pwned")).toBe(true);
  });

  it("gives two different CUDA bases two different tags", async () => {
    const withBase = (cudaImage?: string) =>
      Image.fromDebianBase({ pythonVersion: "3.11", ...(cudaImage && { builderOptions: { cudaImage } }) }).withCuda({ cuda: "12.4.1" });
    expect(await withBase("mirror.example.com/cuda:{cuda}-runtime").tag()).not.toBe(await withBase().tag());
  });
});

describe("one build carrying more than a hundred hostile-but-valid values, read back byte for byte", () => {
  let uri: string;
  const values = HOSTILE_PAYLOADS;
  const fileNames = values.filter((v) => v !== "" && v !== "." && v !== ".." && !v.includes("/") && Buffer.byteLength(v) <= 255);
  const workdir = `/w/a "b" $HOME 'c' \\d é\u202e`;
  const destination = `/hostile/dst "q" $HOME 'x' \\y/`;

  beforeAll(async () => {
    const root = mkdtempSync(path.join(tmpdir(), "i19-hostile-build-"));
    mkdirSync(path.join(root, "names"));
    for (const [i, name] of fileNames.entries()) writeFileSync(path.join(root, "names", name), `${i}:${name}`);
    writeFileSync(path.join(root, "one.txt"), "one\n");
    const image = Image.fromDebianBase({ pythonVersion: "3.11", root, name: "i19-hostile-values" })
      .withSourceFolder("names", "/hostile/names")
      .withSourceFile("one.txt", destination)
      .withEnvVars(Object.fromEntries(values.map((v, i) => [`H${i}`, v])))
      .withCommands(["mkdir -p /hostile/cmd", ...values.map((v, i) => `printf '%s' ${shellQuote(v)} > /hostile/cmd/${i}`)])
      .withWorkdir(workdir)
      .withEntrypoint(["/bin/true", ...values]);
    const outcome = await buildOne(newEngine(), image);
    expectBuilt(outcome);
    uri = outcome.uri;
  });

  it(`carries ${HOSTILE_PAYLOADS.length * 3 + 2} values and ${fileNames.length} file names`, () => {
    expect(values.length * 3 + fileNames.length + 2).toBeGreaterThanOrEqual(100);
  });

  it("env values, the entrypoint and the working directory, from the image's config", async () => {
    const config = JSON.parse(await docker(["image", "inspect", uri, "--format", "{{json .Config}}"])) as {
      Env: string[];
      Entrypoint: string[];
      WorkingDir: string;
    };
    const imageEnv = new Map(config.Env.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
    for (const [i, v] of values.entries()) expect(imageEnv.get(`H${i}`), `H${i}`).toBe(v);
    expect(config.Entrypoint).toEqual(["/bin/true", ...values]);
    expect(config.WorkingDir).toBe(workdir);
  });

  it("what the commands wrote, file names and contents, the copy destination; and no /pwned", async () => {
    const dump = await runImage(
      uri,
      [
        "-c",
        "cd /hostile/cmd && for f in $(ls | sort -n); do cat \"$f\"; printf '\\0'; done; printf '\\001END\\001'; cd /hostile/names && for f in *; do printf '%s\\0' \"$f\"; cat -- \"$f\"; printf '\\0'; done",
      ],
      { entrypoint: "/bin/sh" },
    );
    const [commands, names] = dump.split("\u0001END\u0001");
    expect(commands!.split("\0").slice(0, -1)).toEqual([...values]);
    const found = names!.split("\0").slice(0, -1);
    const pairs = new Map<string, string>();
    for (let i = 0; i < found.length; i += 2) pairs.set(found[i]!, found[i + 1]!);
    expect([...pairs.keys()].sort()).toEqual([...fileNames].sort());
    for (const [i, name] of fileNames.entries()) expect(pairs.get(name)).toBe(`${i}:${name}`);
    expect(await runImage(uri, [`${destination}one.txt`], { entrypoint: "cat" })).toBe("one");
    expect(await imageHasNo(uri, "/pwned")).toBe(true);
  });
});

describe("links that leave the root, held against docker build's COPY", () => {
  const tree = mkdtempSync(path.join(tmpdir(), "i19-links-"));
  const outside = path.join(tree, "outside");
  const root = path.join(tree, "project");

  beforeAll(() => {
    mkdirSync(outside);
    mkdirSync(path.join(root, "app"), { recursive: true });
    writeFileSync(path.join(outside, "secret.txt"), "host secret\n");
    writeFileSync(path.join(root, "inside.txt"), "inside\n");
    writeFileSync(path.join(root, "app", "main.py"), "print(1)\n");
    symlinkSync(path.join(outside, "secret.txt"), path.join(root, "app", "escape.txt"));
    symlinkSync(path.join(outside, "secret.txt"), path.join(root, "secret-link.txt"));
    symlinkSync(outside, path.join(root, "outside-dir"));
    symlinkSync("inside.txt", path.join(root, "inside-link.txt"));
  });

  async function dockerCopy(source: string): Promise<{ out: string } | { error: string }> {
    const dir = mkdtempSync(path.join(tmpdir(), "i19-links-oracle-"));
    writeFileSync(path.join(dir, "Dockerfile"), `FROM scratch\nCOPY ${source} /copied/\n`);
    const out = path.join(dir, "out");
    return docker(["build", "--quiet", "--file", path.join(dir, "Dockerfile"), "--output", `type=local,dest=${out}`, root]).then(
      () => ({ out: path.join(out, "copied") }),
      (error: Error) => ({ error: error.message }),
    );
  }

  it("a link inside a copied folder arrives as the same link, as with docker build; the host file never does", async () => {
    const oracle = await dockerCopy("app");
    if (!("out" in oracle)) throw new Error(oracle.error);
    expect(lstatSync(path.join(oracle.out, "escape.txt")).isSymbolicLink()).toBe(true);
    const outcome = await buildOne(
      newEngine(),
      new ImageSpec({ root, pythonVersion: "3.11", name: "i19-links", copy: ["app", "inside-link.txt"], env: { RUN } }).toImage(),
    );
    expectBuilt(outcome);
    const listing = await runImage(
      outcome.uri,
      ["-c", "readlink /root/app/escape.txt; cat /root/inside-link.txt; grep -rs 'host secret' /root || echo no-host-file"],
      { entrypoint: "/bin/sh" },
    );
    expect(listing.split("\n")).toEqual([readlinkSync(path.join(oracle.out, "escape.txt")), "inside", "no-host-file"]);
    // A link to a file inside the root is read through, as docker build's COPY reads it.
    const inside = await dockerCopy("inside-link.txt");
    if (!("out" in inside)) throw new Error(inside.error);
    expect(readFileSync(path.join(inside.out, "inside-link.txt"), "utf8")).toBe("inside\n");
  });

  it("a named link that leaves the root is refused before anything builds; docker build cannot copy it either", async () => {
    const oracle = await dockerCopy("secret-link.txt");
    expect(oracle).toEqual({ error: expect.stringMatching(/not found/) });
    for (const copy of ["secret-link.txt", "outside-dir"]) {
      const error = await newEngine()
        .build(new ImageSpec({ root, pythonVersion: "3.11", name: "i19-links-out", copy: [copy] }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toMatchObject({ code: "INVALID_SPEC", field: "layers[0].copy.src", message: expect.stringContaining("leads outside the root") });
    }
    expect(existsSync(path.join(outside, "secret.txt"))).toBe(true);
  });
});

describe("registryConfig is the credential source of every step of a build", () => {
  it("builds and pushes to the basic-auth registry with only the image's registryConfig (the engine's Docker config is empty)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "i19-registry-config-"));
    mkdirSync(path.join(dir, "empty-docker-config"));
    writeFileSync(
      path.join(dir, "creds.json"),
      JSON.stringify({ auths: { [env.authRegistry]: { auth: Buffer.from(`${env.authUser}:${env.authPassword}`).toString("base64") } } }),
    );
    const engine = newEngine({}, { credentials: createDockerConfigResolver({ env: { DOCKER_CONFIG: path.join(dir, "empty-docker-config") } }) });
    const image = Image.fromBase(env.baseImage, {
      root: dir,
      registry: env.authRegistry,
      name: "i19/registry-config",
      registryConfig: "creds.json",
    }).withEnvVars({ RUN });
    const outcome = await buildOne(engine, image);
    expectBuilt(outcome);
    expect(outcome.pushed).toBe(true);
    const client = new RegistryClient({ credentials: createDockerConfigResolver({ configPath: path.join(dir, "creds.json") }) });
    expect(await client.manifestExists(outcome.uri)).toMatchObject({ status: "present" });
    expect((await buildOne(engine, image)).status).toBe("skipped");
  });
});

describe("pushes through a fault proxy in front of the real registry", () => {
  let proxy: FaultProxy;
  let image: Image;
  const manifestPut = (r: { method: string; url: string }) => r.method === "PUT" && r.url.includes("/manifests/");

  beforeAll(async () => {
    proxy = await startFaultProxy(env.registry);
    image = Image.fromBase(env.baseImage, { registry: proxy.host, name: `i19/push-faults-${RUN}` }).withEnvVars({ RUN });
  });
  afterAll(() => proxy?.close());

  async function push(): Promise<BuildOutcome> {
    return buildOne(newEngine({ pushIdleTimeoutMs: 3_000 }), image, { force: true });
  }

  it("pushes when nothing is broken, and when the registry is slow but answers", async () => {
    proxy.setFault(() => undefined);
    expect((await push()).pushed).toBe(true);
    proxy.setFault((r) => (manifestPut(r) ? { kind: "slow", delayMs: 1_000 } : undefined));
    expect((await push()).pushed).toBe(true);
  });

  it.each([
    ["500", { kind: "status", status: 500 }, "REGISTRY_ERROR"],
    ["507", { kind: "status", status: 507 }, "REGISTRY_ERROR"],
    ["429 + Retry-After", { kind: "status", status: 429, headers: { "Retry-After": "30" } }, "REGISTRY_ERROR"],
    ["401", { kind: "status", status: 401, body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}' }, "AUTH_ERROR"],
    ["a reset connection", { kind: "reset" }, "REGISTRY_ERROR"],
  ] as const)("fails clearly on %s for the manifest upload, naming the registry", async (_name, fault, code) => {
    proxy.setFault((r) => (manifestPut(r) ? fault : undefined));
    const outcome = await push();
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toMatchObject({ code, message: expect.stringContaining(proxy.host) });
  });

  it("gives up on a registry that hangs on the manifest upload, within the bound, saying so", async () => {
    proxy.setFault((r) => (manifestPut(r) ? { kind: "hang" } : undefined));
    const started = Date.now();
    const outcome = await push();
    expect(outcome.status).toBe("failed");
    expect(outcome.error).toMatchObject({
      code: "REGISTRY_ERROR",
      message: expect.stringMatching(new RegExp(`${proxy.host.replace(".", "\\.")} stopped answering; the engine reported nothing for 3 s`)),
    });
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it("does not call a 200 that is not the registry's answer a pushed image", async () => {
    proxy.setFault((r) => (manifestPut(r) ? { kind: "html" } : undefined));
    const outcome = await push();
    if (outcome.status === "built") {
      // The engine took the page for a success: the engine's digest must then be checked against the registry.
      proxy.setFault(() => undefined);
      expect(await new RegistryClient().manifestExists(outcome.uri)).toMatchObject({ status: "present", digest: outcome.digest });
    } else {
      expect(outcome.error).toMatchObject({ code: "REGISTRY_ERROR" });
    }
  });
});
