/**
 * Against real engines: the test environment's second dockerd ("remote": 127.0.0.1:2376 and :2377, mutual TLS, its
 * own data root) builds; the local engine is made unreachable for the client while it does (DOCKER_HOST points at
 * nothing), and afterwards is only used to check that nothing reached it, then to pull and run what the remote engine
 * pushed. Misbehaving engines are real sockets: a closed port, a port that never answers, a TCP proxy in front of
 * the real engine that dies in the middle of a build.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type BuildOutcome, type EngineEvent, Image, ImageBuildEngine } from "@imagespec/core";
import { createDockerConfigResolver, isImageSpecError, RegistryClient } from "@imagespec/core/authoring";
import {
  buildWheel,
  docker,
  inspectRaw,
  occurrencesInImage,
  type PackageIndex,
  type RemoteTestEnv,
  remoteDocker,
  remoteTestEnv,
  runImage,
  servePackageIndex,
  stopwatch,
  type TestEnv,
  testEnv,
} from "@imagespec/test-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteBuilder, type RemoteBuilderConfig } from "../src/index.js";
import { closedPort, silentPort, tcpProxy } from "./support/net.js";
import { project } from "./support/project.js";

let env: TestEnv;
let remote: RemoteTestEnv;
let index: PackageIndex;
let root: string;
/** Makes every image of this run new: nothing can come from an earlier run's registry, engine or cache. */
const RUN = `${Date.now().toString(36)}${process.pid}`;
const { timed, print: printTimings } = stopwatch();

/** The local engine is unreachable for this process while `work` runs (dockerode and the docker CLI read DOCKER_HOST). */
async function withoutLocalDocker<T>(work: () => Promise<T>): Promise<T> {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock";
  try {
    return await work();
  } finally {
    process.env.DOCKER_HOST = saved;
  }
}

function tls(extra: RemoteBuilderConfig = {}): RemoteBuilderConfig {
  return { certPath: remote.remoteCertPath, network: "host", ...extra };
}

async function build(
  config: RemoteBuilderConfig,
  targets: Image | Image[],
  options: { events?: EngineEvent[]; concurrency?: number; engine?: ImageBuildEngine } = {},
): Promise<BuildOutcome[]> {
  const engine = options.engine ?? new ImageBuildEngine({ env: {} }).register(createRemoteBuilder(config, { env: {} }), { priority: 110 });
  return withoutLocalDocker(() => engine.build(targets, { force: true, concurrency: options.concurrency ?? 3, onEvent: (e) => options.events?.push(e) }));
}

function built(outcome: BuildOutcome | undefined): BuildOutcome {
  if (outcome?.status !== "built")
    throw new Error(`expected a build, got ${outcome?.status}: ${outcome?.reason}\n${(outcome?.error as { log?: string } | undefined)?.log ?? ""}`);
  return outcome;
}

const logLines = (events: readonly EngineEvent[]) => events.flatMap((e) => (e.type === "build" && e.event.type === "log" ? [e.event.line] : []));
const warnings = (events: readonly EngineEvent[]) => events.flatMap((e) => (e.type === "build" && e.event.type === "warning" ? [e.event.message] : []));

beforeAll(async () => {
  env = testEnv();
  remote = remoteTestEnv();
  const wheels = project({}, "imagespec-remote-wheels-");
  index = await servePackageIndex([
    await buildWheel(wheels, { name: "imagespec-remote-demo", version: "1.0.0", modules: { "imagespec_remote_demo/__init__.py": 'VALUE = "demo"\n' } }),
  ]);
  root = project({
    "app/main.py":
      'import os, imagespec_remote_demo\nprint("main ran in", os.getcwd(), "with", imagespec_remote_demo.VALUE, "built by", os.environ["BUILT_BY"])\n',
    "app/data/values.json": '{"answer": 42}\n',
    "app/debug.log": "left out by the ignore file\n",
    ".imagespecignore": "*.log\n",
  });
});

afterAll(async () => {
  await index?.close();
  printTimings("remote test");
});

describe("a build on the remote engine, with no local Docker", () => {
  let image: Image;
  let uri: string;
  let outcome: BuildOutcome;
  const events: EngineEvent[] = [];
  let startedAt: number;
  let finishedAt: number;

  beforeAll(async () => {
    image = Image.fromBase(env.baseImage, { root, pythonVersion: "3.11", registry: env.registry, name: "builder-remote-test/app" })
      .withPipPackages("imagespec-remote-demo==1.0.0", { indexUrl: index.url })
      .withDockerignore(".imagespecignore")
      .withSourceFolder("app", "/srv/app")
      .withEnvVars({ BUILT_BY: "the remote engine" })
      .withWorkdir("/srv/app")
      .withCommands(`echo ${RUN} > /run-id`)
      .withEntrypoint(["python3", "main.py"]);
    uri = await image.uri();
    startedAt = Math.floor(Date.now() / 1000) - 1;
    [outcome] = (await timed("remote build and push", () =>
      build(tls({ engines: [{ host: remote.remoteEngine, name: "tls-engine" }] }), image, { events }),
    )) as [BuildOutcome];
    finishedAt = Math.floor(Date.now() / 1000) + 1;
    built(outcome);
  });

  it("is pushed from the remote engine to the registry, with the digest in the result", async () => {
    expect(outcome.pushed).toBe(true);
    expect(outcome.result?.engine).toBe("tls-engine");
    expect(outcome.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await new RegistryClient().manifestExists(uri)).toEqual({ status: "present", digest: outcome.digest });
  });

  it("streams progress back: which engine, each step with its timing, the step output", () => {
    expect(logLines(events)[0]).toMatch(/^Building on remote engine tls-engine \(tcp:\/\/127\.0\.0\.1:\d+\): Docker \S+, API \S+, linux\/amd64$/);
    const steps = events.flatMap((e) => (e.type === "build" && e.event.type === "step" ? [e.event] : []));
    const pip = steps.find((s) => s.name.includes("pip install") && s.status === "done");
    expect(pip?.durationMs).toBeGreaterThanOrEqual(0);
    expect(logLines(events).some((l) => l.includes("Successfully installed imagespec-remote-demo-1.0.0"))).toBe(true);
    expect(outcome.result?.log).toContain("Pushing");
  });

  it("is on the remote engine and nowhere on the local one: no image, not one engine event", async () => {
    expect(await remoteDocker(["image", "inspect", "--format", "{{.Id}}", uri])).toMatch(/^sha256:/);
    await expect(docker(["image", "inspect", uri])).rejects.toThrow(/No such image/);
    const repository = uri.slice(0, uri.lastIndexOf(":"));
    const localEvents = await docker(["events", "--since", String(startedAt), "--until", String(finishedAt), "--format", "{{json .}}"]);
    expect(localEvents.split("\n").filter((line) => line.includes(repository) || line.includes(RUN))).toEqual([]);
  });

  it("runs on the local engine once pulled: the pip package, the copied folder without ignored files, the env, the entrypoint", async () => {
    await timed("local pull", () => docker(["pull", uri]));
    try {
      expect(await runImage(uri, [])).toBe("main ran in /srv/app with demo built by the remote engine");
      expect(
        await runImage(uri, ["-c", "import os; print(sorted(os.listdir('/srv/app')), open('/run-id').read().strip(), os.environ['IMAGESPEC_IMAGE_ID'])"], {
          entrypoint: "python3",
        }),
      ).toBe(`['data', 'main.py'] ${RUN} ${image.id}`);
    } finally {
      await docker(["image", "rm", uri]).catch(() => {});
    }
  });
});

describe("secrets on the remote engine, served by the session over TLS", () => {
  it("pip installs from an index whose password is only a secret, a command reads a file secret: neither value is in the image, its history, its config or the log", async () => {
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const token = `s3cr3t-${randomBytes(8).toString("hex")}`;
    const wheels = project({}, "imagespec-remote-private-wheels-");
    const privateIndex = await servePackageIndex(
      [
        await buildWheel(wheels, {
          name: "imagespec-remote-private",
          version: "1.0.0",
          modules: { "imagespec_remote_private/__init__.py": 'VALUE = "private"\n' },
        }),
      ],
      { basicAuth: { username: "imagespec", password } },
    );
    const secrets = project({ "token.txt": token });
    // Environment-variable secrets are read from the builder's environment (process.env unless given).
    const builder = createRemoteBuilder(tls({ engines: [remote.remoteEngine] }), {
      env: { IMAGESPEC_TEST_REMOTE_INDEX_URL: privateIndex.url.replace("http://", `http://imagespec:${password}@`) },
    });
    const engine = new ImageBuildEngine({ env: {} }).register(builder, { priority: 110 });
    // noCache: the pip step must ask the index (a cached step from an earlier run would not).
    const image = Image.fromBase(env.baseImage, {
      root,
      pythonVersion: "3.11",
      registry: env.registry,
      name: "builder-remote-test/secrets",
      builderConfig: { noCache: true },
    })
      .withPipPackages("imagespec-remote-private", { secretMounts: [{ id: "index", env: "IMAGESPEC_TEST_REMOTE_INDEX_URL", asEnv: "PIP_INDEX_URL" }] })
      .withCommands([`printf %s "$TOKEN" | sha256sum | cut -d" " -f1 > /token.sha # ${RUN}`], {
        secretMounts: [{ id: "token", src: path.join(secrets, "token.txt"), asEnv: "TOKEN" }],
      });
    const events: EngineEvent[] = [];
    let outcome: BuildOutcome | undefined;
    try {
      [outcome] = await timed("secrets on the remote engine", () => build(tls(), image, { events, engine }));
    } finally {
      await privateIndex.close();
    }
    built(outcome);
    expect(outcome?.result?.engine).toMatch(/^tcp:\/\/127\.0\.0\.1:2376/);
    expect(privateIndex.requests).toContain("/simple/imagespec-remote-private/");
    const uri = await image.uri();
    await docker(["pull", uri]);
    try {
      const sha = execFileSync("sha256sum", { input: token, encoding: "utf8" }).split(" ")[0];
      expect(
        await runImage(uri, [
          "sh",
          "-c",
          "cat /token.sha; ls /run/secrets 2>/dev/null | wc -l; python3 -c 'import imagespec_remote_private as p; print(p.VALUE)'",
        ]),
      ).toBe(`${sha}\n0\nprivate`);
      for (const value of [password, token]) {
        const found = await occurrencesInImage(uri, value);
        expect(found.savedBytes).toBeGreaterThan(1_000_000);
        expect({ save: found.save, history: found.history, config: found.config }).toEqual({ save: 0, history: 0, config: 0 });
        expect(await remoteDocker(["history", "--no-trunc", uri])).not.toContain(value);
        expect(outcome?.result?.log).not.toContain(value);
        expect(JSON.stringify(events)).not.toContain(value);
      }
    } finally {
      await docker(["image", "rm", uri]).catch(() => {});
    }
  });
});

describe("registry credentials, forwarded to the remote engine", () => {
  it("push to and pull a private base from the basic-auth registry; without them the push is refused", async () => {
    const configDir = project({
      "config.json": JSON.stringify({ auths: { [env.authRegistry]: { auth: Buffer.from(`${env.authUser}:${env.authPassword}`).toString("base64") } } }),
    });
    const credentials = createDockerConfigResolver({ configPath: path.join(configDir, "config.json") });
    const config = tls({ engines: [remote.remoteEngine] });
    const authed = new ImageBuildEngine({ credentials, env: {} }).register(createRemoteBuilder(config, { env: {} }), { priority: 110 });
    const base = Image.fromBase(env.baseImage, { root, registry: env.authRegistry, name: "builder-remote-test/private-base" }).withEnvVars({ PRIVATE: RUN });
    const child = Image.fromBase(base, { root, registry: env.authRegistry, name: "builder-remote-test/private-child" }).withCommands(
      `test "$PRIVATE" = ${RUN} && echo child > /child`,
    );
    const outcomes = await timed("auth registry: base and child", () => build(config, child, { engine: authed }));
    expect(outcomes.map((o) => [o.uri.split("/")[2]?.split(":")[0], o.status, o.pushed])).toEqual([
      ["private-base", "built", true],
      ["private-child", "built", true],
    ]);
    expect(await new RegistryClient({ credentials }).manifestExists(await child.uri())).toMatchObject({ status: "present", digest: outcomes[1]?.digest });

    // Without credentials the engine's push pre-flight refuses before anything is built, naming the registry.
    const anonymous = new ImageBuildEngine({ credentials: async () => undefined, env: {} }).register(createRemoteBuilder(config, { env: {} }), {
      priority: 110,
    });
    const refused = await build(config, base.withEnvVars({ AGAIN: "1" }), { engine: anonymous }).catch((error: unknown) => error);
    expect(isImageSpecError(refused) && refused.code).toBe("AUTH_ERROR");
    expect((refused as Error).message).toContain(
      `Cannot push to ${env.authRegistry}/builder-remote-test/private-base: ${env.authRegistry} requires credentials`,
    );
  });
});

describe("failover", () => {
  it("skips a closed port and an engine that never answers, and builds on the next; says why it skipped them", async () => {
    const silent = await silentPort();
    const closed = await closedPort();
    try {
      const events: EngineEvent[] = [];
      const config = tls({
        healthCheckTimeoutMs: 1500,
        engines: [`tcp://127.0.0.1:${closed}?name=closed`, `tcp://127.0.0.1:${silent.port}?name=silent`, `${remote.remoteEngine}?name=good`],
      });
      const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "builder-remote-test/failover" }).withEnvVars({ RUN });
      const [outcome] = await timed("failover: closed port, silent port, then the engine", () => build(config, image, { events }));
      expect(built(outcome).result?.engine).toBe("good");
      expect(warnings(events)).toEqual([
        `Skipped remote engine closed (tcp://127.0.0.1:${closed}): it refuses connections (nothing listens on that port)`,
        `Skipped remote engine silent (tcp://127.0.0.1:${silent.port}): it did not answer within 1.5 s`,
      ]);
    } finally {
      await silent.close();
    }
  });

  it("fails with every engine and its reason when none answers", async () => {
    const silent = await silentPort();
    const closed = await closedPort();
    try {
      const config = tls({ healthCheckTimeoutMs: 1000, engines: [`tcp://127.0.0.1:${closed}?name=closed`, `tcp://127.0.0.1:${silent.port}?name=silent`] });
      const [outcome] = await build(config, Image.fromBase(env.baseImage, { root, registry: env.registry, name: "builder-remote-test/nowhere" }));
      expect(outcome?.status).toBe("failed");
      expect(isImageSpecError(outcome?.error) && outcome.error.code).toBe("ENVIRONMENT");
      expect(outcome?.reason).toBe(
        `Cannot build builder-remote-test/nowhere: no remote engine can take the build:\n  - closed (tcp://127.0.0.1:${closed}): it refuses connections (nothing listens on that port)\n  - silent (tcp://127.0.0.1:${silent.port}): it did not answer within 1 s`,
      );
    } finally {
      await silent.close();
    }
  });

  it("uses IMAGESPEC_REMOTE_ENGINES and DOCKER_CERT_PATH when the configuration lists no engine", async () => {
    const builder = createRemoteBuilder(
      {},
      { env: { IMAGESPEC_REMOTE_ENGINES: `tcp://127.0.0.1:${await closedPort()},${remote.remoteEngine2}`, DOCKER_CERT_PATH: remote.remoteCertPath } },
    );
    const engine = new ImageBuildEngine({ env: {} }).register(builder, { priority: 110 });
    const [outcome] = await build(
      {},
      Image.fromBase(env.baseImage, { root, registry: env.registry, name: "builder-remote-test/from-env" }).withEnvVars({ RUN }),
      { engine },
    );
    expect(built(outcome).result?.engine).toBe(remote.remoteEngine2);
  });
});

describe("an engine that dies in the middle of a build", () => {
  const sleepy = (name: string, seconds: number) =>
    Image.fromBase(env.baseImage, { root, registry: env.registry, name: `builder-remote-test/${name}` }).withCommands(
      `echo ${RUN} ${name} && sleep ${seconds} && echo slept`,
    );
  const killOnSleep = (proxy: { kill(): void }, events: EngineEvent[]) => {
    let killed = false;
    return (e: EngineEvent) => {
      events.push(e);
      if (!killed && e.type === "build" && e.event.type === "step" && e.event.status === "started" && e.event.name.includes("sleep")) {
        killed = true;
        proxy.kill();
      }
    };
  };

  it("has its build retried once, on another engine", async () => {
    const proxy = await tcpProxy({ host: "127.0.0.1", port: Number(new URL(remote.remoteEngine).port) });
    try {
      const events: EngineEvent[] = [];
      const config = tls({ engines: [`tcp://127.0.0.1:${proxy.port}?name=flaky`, `${remote.remoteEngine2}?name=steady`] });
      const engine = new ImageBuildEngine({ env: {} }).register(createRemoteBuilder(config, { env: {} }), { priority: 110 });
      const image = sleepy("retried", 3);
      const [outcome] = await timed("engine dies mid-build: retried elsewhere", () =>
        withoutLocalDocker(() => engine.build(image, { force: true, onEvent: killOnSleep(proxy, events) })),
      );
      expect(built(outcome).result?.engine).toBe("steady");
      expect(
        logLines(events)
          .filter((l) => l.startsWith("Building on remote engine"))
          .map((l) => l.split(" ")[4]),
      ).toEqual(["flaky", "steady"]);
      const [lost] = warnings(events);
      expect(lost).toMatch(
        /^Cannot build builder-remote-test\/retried: the engine flaky went away while it built \(.+\); building it again on another engine \(once\)$/,
      );
      expect(logLines(events).filter((l) => l.includes("slept"))).toHaveLength(1);
      expect(await new RegistryClient().manifestExists(await image.uri())).toEqual({ status: "present", digest: outcome?.digest });
    } finally {
      await proxy.close();
    }
  });

  it("is not retried when the build itself fails", async () => {
    const proxy = await tcpProxy({ host: "127.0.0.1", port: Number(new URL(remote.remoteEngine).port) });
    try {
      const events: EngineEvent[] = [];
      const config = tls({ engines: [`tcp://127.0.0.1:${proxy.port}?name=first`, `${remote.remoteEngine2}?name=second`] });
      const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "builder-remote-test/fails" }).withCommands(
        `echo ${RUN}; echo the reason >&2; exit 3`,
      );
      const [outcome] = await build(config, image, { events });
      expect(outcome?.status).toBe("failed");
      expect(isImageSpecError(outcome?.error) && outcome.error.code).toBe("BUILD_FAILED");
      expect(outcome?.reason).toContain("a step of layers[0] (commands) failed");
      expect((outcome?.error as { logTail?: string[] } | undefined)?.logTail).toContain("the reason");
      expect(logLines(events).filter((l) => l.startsWith("Building on remote engine"))).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("fails with the reason when the pool has no other engine", async () => {
    const proxy = await tcpProxy({ host: "127.0.0.1", port: Number(new URL(remote.remoteEngine).port) });
    try {
      const events: EngineEvent[] = [];
      const config = tls({ engines: [`tcp://127.0.0.1:${proxy.port}?name=only`] });
      const engine = new ImageBuildEngine({ env: {} }).register(createRemoteBuilder(config, { env: {} }), { priority: 110 });
      const [outcome] = await withoutLocalDocker(() => engine.build(sleepy("lost", 3), { force: true, onEvent: killOnSleep(proxy, events) }));
      expect(outcome?.status).toBe("failed");
      expect(isImageSpecError(outcome?.error) && outcome.error.code).toBe("ENVIRONMENT");
      expect(outcome?.reason).toMatch(
        /^Cannot build builder-remote-test\/lost: the engine only went away while it built \(.+\) and the pool has no other engine$/,
      );
    } finally {
      await proxy.close();
    }
  });
});

describe("bad TLS material", () => {
  let foreign: string;

  beforeAll(() => {
    // Another CA, and a client certificate it signed: valid files, just not the ones the engine trusts.
    foreign = project({}, "imagespec-remote-foreign-ca-");
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: foreign, stdio: "ignore" });
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=someone else's CA");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "client.csr", "-subj", "/CN=stranger");
    writeFileSync(path.join(foreign, "client.ext"), "extendedKeyUsage=clientAuth\n");
    openssl(
      "x509",
      "-req",
      "-in",
      "client.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "client.ext",
      "-out",
      "cert.pem",
    );
  });

  async function failure(engine: RemoteBuilderConfig["engines"], extra: RemoteBuilderConfig = {}): Promise<{ code: string; reason: string }> {
    const image = Image.fromBase(env.baseImage, { root, registry: env.registry, name: "builder-remote-test/tls" }).withEnvVars({ RUN });
    const [outcome] = await build({ network: "host", engines: engine, ...extra }, image);
    expect(outcome?.status).toBe("failed");
    return { code: (outcome?.error as { code?: string } | undefined)?.code ?? "", reason: outcome?.reason ?? "" };
  }

  it("names the file that is missing, unreadable as PEM, or does not match", async () => {
    const certs = remote.remoteCertPath;
    const broken = project({ "ca.pem": "not a certificate\n" }, "imagespec-remote-broken-tls-");
    const garbledKey = project({ "key.pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, "imagespec-remote-garbled-key-");
    const missing = path.join(broken, "no-such-folder");
    const half = project({}, "imagespec-remote-half-pair-");
    execFileSync("cp", [`${certs}/ca.pem`, `${certs}/cert.pem`, half]);
    const cases: [RemoteBuilderConfig["engines"], RegExp][] = [
      [[{ host: remote.remoteEngine, certPath: missing }], new RegExp(`the TLS folder ${missing} does not exist`)],
      [[{ host: remote.remoteEngine, certPath: broken }], new RegExp(`the TLS CA certificate ${broken}/ca.pem is not a PEM certificate`)],
      [[{ host: remote.remoteEngine, certPath: half }], new RegExp(`cannot read the TLS client key ${half}/key.pem: it does not exist`)],
      [
        [{ host: remote.remoteEngine, certPath: certs, key: `${garbledKey}/key.pem` }],
        new RegExp(`the TLS client key ${garbledKey}/key.pem is not a PEM private key`),
      ],
      [
        [{ host: remote.remoteEngine, certPath: certs, key: `${foreign}/key.pem` }],
        new RegExp(`the TLS client key ${foreign}/key.pem does not belong to the certificate ${certs}/cert.pem`),
      ],
    ];
    for (const [engines, message] of cases) {
      const { code, reason } = await failure(engines);
      expect(code, reason).toBe("CONFIG_ERROR");
      expect(reason).toMatch(message);
    }
  });

  it("says when the engine's certificate is not signed by our CA, or the engine refuses our client certificate", async () => {
    const certs = remote.remoteCertPath;
    const wrongCa = await failure([{ host: remote.remoteEngine, ca: `${foreign}/ca.pem`, cert: `${certs}/cert.pem`, key: `${certs}/key.pem` }]);
    expect(wrongCa.code).toBe("ENVIRONMENT");
    expect(wrongCa.reason).toContain(`its TLS certificate is not signed by ${foreign}/ca.pem`);
    const strangerCert = await failure([{ host: remote.remoteEngine, ca: `${certs}/ca.pem`, cert: `${foreign}/cert.pem`, key: `${foreign}/key.pem` }]);
    expect(strangerCert.code).toBe("ENVIRONMENT");
    expect(strangerCert.reason).toContain("it refused our TLS client certificate");
  });
});

describe("several images through a pool of two engines", () => {
  it("spreads them over both, never running more than an engine's limit at once", async () => {
    const images = [0, 1, 2, 3].map((i) =>
      Image.fromBase(env.baseImage, { root, registry: env.registry, name: `builder-remote-test/pool-${i}` }).withCommands(
        // A command of its own for each image: the engines share one daemon, whose cache would otherwise run it once.
        `echo ${RUN} ${i}; date +%s.%N > /started; sleep 3; date +%s.%N > /finished`,
      ),
    );
    const events: EngineEvent[] = [];
    const config = tls({ maxBuilds: 1, engines: [`${remote.remoteEngine}?name=a`, `${remote.remoteEngine2}?name=b`] });
    const outcomes = await timed("pool: 4 images on 2 engines of 1 build each", () => build(config, images, { events, concurrency: 4 }));
    const runs: { engine: string; started: number; finished: number }[] = [];
    for (const outcome of outcomes) {
      const uri = built(outcome).uri;
      await docker(["pull", uri]);
      const [started, finished] = (await runImage(uri, ["cat", "/started", "/finished"])).split("\n").map(Number) as [number, number];
      runs.push({ engine: outcome.result?.engine ?? "", started, finished });
      await docker(["image", "rm", uri]).catch(() => {});
    }
    const byEngine = (name: string) => runs.filter((r) => r.engine === name).sort((x, y) => x.started - y.started);
    // Least busy first: the first two go one to each engine, the next two take whichever frees first.
    expect(byEngine("a")).toHaveLength(2);
    expect(byEngine("b")).toHaveLength(2);
    for (const name of ["a", "b"]) {
      const [first, second] = byEngine(name) as [(typeof runs)[0], (typeof runs)[0]];
      expect(second.started, `engine ${name} ran two builds at once`).toBeGreaterThanOrEqual(first.finished);
    }
    // And the two engines did work at the same time.
    const overlap = (x: (typeof runs)[0], y: (typeof runs)[0]) => x.started < y.finished && y.started < x.finished;
    expect(runs.some((x) => runs.some((y) => x !== y && x.engine !== y.engine && overlap(x, y)))).toBe(true);
  });
});

describe("an image of two platforms on a pool of two engines", () => {
  const twoPlatforms = (name: string) =>
    Image.fromBase(env.baseImage, { root, registry: env.registry, name: `i13-remote/${name}`, platform: ["linux/amd64", "linux/arm64"] }).withCommands(
      `echo ${RUN} ${name}; uname -m > /built-arch`,
    );
  const buildingLines = (events: readonly EngineEvent[]) =>
    logLines(events)
      .filter((l) => / Building linux\/\S+ on remote engine /.test(l))
      .map((l) => l.replace(/: Docker .*$/, ""));

  it("builds arm64 on the engine that declares it and amd64 on the other, and pushes one index of both", async () => {
    const events: EngineEvent[] = [];
    const config = tls({
      maxBuilds: 1,
      engines: [
        { host: remote.remoteEngine, name: "amd64-engine", platforms: ["linux/amd64"] },
        { host: remote.remoteEngine2, name: "arm64-engine", platforms: ["linux/arm64"] },
      ],
    });
    const image = twoPlatforms("declared");
    const [outcome] = await timed("two platforms on two engines", () => build(config, image, { events }));
    const result = built(outcome);
    expect(result.platforms?.map((p) => [p.platform, p.engine])).toEqual([
      ["linux/amd64", "amd64-engine"],
      ["linux/arm64", "arm64-engine"],
    ]);
    expect(buildingLines(events).sort()).toEqual([
      "[linux/amd64] Building linux/amd64 on remote engine amd64-engine (tcp://127.0.0.1:2376)",
      "[linux/arm64] Building linux/arm64 on remote engine arm64-engine (tcp://127.0.0.1:2377)",
    ]);
    const raw = await inspectRaw(result.uri);
    expect(raw.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(raw.manifests?.map((m) => [m.platform?.architecture, m.digest])).toEqual(
      result.platforms!.map((p) => [p.platform.slice("linux/".length), p.digest]),
    );
    // What ran in each build: the arm64 image's RUN step ran arm64 binaries.
    for (const [platform, arch] of [
      ["linux/arm64", "aarch64"],
      ["linux/amd64", "x86_64"],
    ] as const) {
      await docker(["pull", "--platform", platform, result.uri]);
      expect((await docker(["run", "--rm", "--platform", platform, result.uri, "cat", "/built-arch"])).trim()).toBe(arch);
    }
    await docker(["image", "rm", result.uri]).catch(() => {});
  });

  it("spreads the platforms over engines that declare nothing: one on each, never two on one", async () => {
    const events: EngineEvent[] = [];
    const config = tls({ maxBuilds: 1, engines: [`${remote.remoteEngine}?name=a`, `${remote.remoteEngine2}?name=b`] });
    const [outcome] = await build(config, twoPlatforms("spread"), { events });
    const engines = built(outcome).platforms?.map((p) => p.engine);
    expect(new Set(engines)).toEqual(new Set(["a", "b"]));
  });

  it("refuses a platform that no engine of the pool can run, before building anything", async () => {
    expect(existsSync("/proc/sys/fs/binfmt_misc/qemu-s390x")).toBe(false);
    const events: EngineEvent[] = [];
    const config = tls({ engines: [`${remote.remoteEngine}?name=a`, `${remote.remoteEngine2}?name=b`] });
    const image = Image.fromBase(env.baseImage, {
      root,
      registry: env.registry,
      name: "i13-remote/s390x",
      platform: ["linux/amd64", "linux/s390x"],
    }).withCommands(`echo ${RUN}`);
    const [outcome] = await build(config, image, { events });
    expect(outcome?.status).toBe("failed");
    expect(outcome?.error).toMatchObject({ code: "ENVIRONMENT", field: "platform", value: "linux/s390x" });
    expect(outcome?.reason).toMatch(
      /^Cannot build i13-remote\/s390x for linux\/s390x: no engine of the remote pool can run that platform \(a \(tcp:\/\/127\.0\.0\.1:2376\) builds for linux\/amd64, .*linux\/arm64.*; b \(tcp:\/\/127\.0\.0\.1:2377\) builds for .*\)$/,
    );
    expect(logLines(events).filter((l) => l.includes("Building"))).toEqual([]);
  });

  it("says which platform native is when every engine runs the same one, and refuses to guess when they differ", async () => {
    const same = createRemoteBuilder(tls({ engines: [`${remote.remoteEngine}?name=a`, `${remote.remoteEngine2}?name=b`] }), { env: {} });
    expect(await same.nativePlatform!({ signal: new AbortController().signal, config: {} })).toEqual({ platform: "linux/amd64", source: "remote a, b" });
    const mixed = createRemoteBuilder(
      tls({ engines: [`${remote.remoteEngine}?name=a`, { host: remote.remoteEngine2, name: "b", platforms: ["linux/arm64"] }] }),
      { env: {} },
    );
    await expect(mixed.nativePlatform!({ signal: new AbortController().signal, config: {} })).rejects.toMatchObject({
      code: "CONFIG_ERROR",
      message: 'Cannot resolve the platform "native": the remote pool runs several (linux/amd64 on a; linux/arm64 on b)',
    });
  });
});
