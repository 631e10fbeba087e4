/**
 * Stress for the BuildKit session, as a user with a private base image meets it: the base is pushed to the
 * basic-auth registry, the credentials are in a Docker config file (DOCKER_CONFIG style), the base is not in the
 * engine's image store, and child images are built through the docker builder: 50 one after the other, then 8 at
 * once. Every build must pass. Prints each phase's count and timings; exits 1 when one failed.
 *
 *   pnpm --filter @imagespec/stress session                     # 50 sequential + 8 concurrent
 *   pnpm --filter @imagespec/stress session --sequential 10 --concurrent 4
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createDockerBuilder } from "@imagespec/builder-docker";
import { type BuildOutcome, Image, ImageBuildEngine } from "@imagespec/core";
import { createDockerConfigResolver } from "@imagespec/core/authoring";
import { docker, testEnv } from "@imagespec/test-env";
import setup from "@imagespec/test-env/global-setup";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} takes a whole number, not ${process.argv[at + 1]}`);
  return value;
}

const SEQUENTIAL = option("sequential", 50);
const CONCURRENT = option("concurrent", 8);
const RUN = `${Date.now().toString(36)}${process.pid}`;

function summary(name: string, outcomes: readonly BuildOutcome[], times: readonly number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  const passed = outcomes.filter((o) => o.status === "built").length;
  return `${name}: ${passed}/${outcomes.length} built; per build min ${(at(0) / 1000).toFixed(1)} s, median ${(at(0.5) / 1000).toFixed(1)} s, max ${(at(1) / 1000).toFixed(1)} s`;
}

await setup();
const env = testEnv();
const dir = mkdtempSync(path.join(tmpdir(), "imagespec-stress-"));
try {
  writeFileSync(
    path.join(dir, "config.json"),
    JSON.stringify({ auths: { [env.authRegistry]: { auth: Buffer.from(`${env.authUser}:${env.authPassword}`).toString("base64") } } }),
  );
  const credentials = createDockerConfigResolver({ configPath: path.join(dir, "config.json") });
  const engine = new ImageBuildEngine({ credentials }).register(createDockerBuilder(), { priority: 100 });

  const base = Image.fromBase(env.baseImage, { root: dir, registry: env.authRegistry, name: "i12-stress/private-base" }).withEnvVars({ STRESS_RUN: RUN });
  const [baseOutcome] = await engine.build(base, { force: true });
  if (baseOutcome?.status !== "built") throw new Error(`Cannot stress: the private base did not build: ${baseOutcome?.reason}`);
  // The engine must pull the base itself, with the session's credentials, as a user's engine would.
  await docker(["image", "rm", baseOutcome.uri]);
  console.log(`private base ${baseOutcome.uri} pushed to the basic-auth registry and removed from the engine`);

  const child = (n: number) =>
    Image.fromBase(base, { root: dir, name: `i12-stress/child-${n}` }).withCommands(`test "$STRESS_RUN" = ${RUN} && echo ${RUN}-${n} > /child`);
  const failures: string[] = [];
  const record = (outcome: BuildOutcome | undefined, n: number) => {
    if (outcome?.status !== "built") failures.push(`child ${n}: ${outcome?.status}: ${outcome?.reason}`);
  };

  const sequential: BuildOutcome[] = [];
  const sequentialTimes: number[] = [];
  for (let n = 0; n < SEQUENTIAL; n++) {
    const started = Date.now();
    const outcomes = await engine.build(child(n), { force: true });
    sequentialTimes.push(Date.now() - started);
    const outcome = outcomes.find((o) => o.uri.includes(`child-${n}:`));
    sequential.push(outcome!);
    record(outcome, n);
    if ((n + 1) % 10 === 0) console.log(`  sequential: ${n + 1}/${SEQUENTIAL} done, ${failures.length} failed`);
  }
  console.log(summary(`${SEQUENTIAL} in a row`, sequential, sequentialTimes));

  const started = Date.now();
  const children = Array.from({ length: CONCURRENT }, (_, i) => child(SEQUENTIAL + i));
  const concurrent = (await engine.build(children, { force: true, concurrency: CONCURRENT })).filter((o) => o.uri.includes("i12-stress/child-"));
  const wall = Date.now() - started;
  for (const [i, outcome] of concurrent.entries()) record(outcome, SEQUENTIAL + i);
  console.log(
    `${summary(
      `${CONCURRENT} at once`,
      concurrent,
      concurrent.map(() => wall),
    )} (wall time of the batch)`,
  );

  for (const outcome of [...sequential, ...concurrent]) if (outcome?.status === "built") await docker(["image", "rm", outcome.uri]).catch(() => {});
  if (failures.length > 0) {
    console.error(`${failures.length} build(s) failed:\n${failures.join("\n")}`);
    process.exitCode = 1;
  } else {
    console.log(`all ${SEQUENTIAL + CONCURRENT} child builds of the private base passed`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
