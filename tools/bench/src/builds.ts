/**
 * Sections that build images for real on the test engine, against the Docker CLI building the same Dockerfiles:
 *
 * - `fourimages`: one `imagespec build` of four independent images against four sequential `docker build`s;
 * - `edit`: one file of a 10k-file source folder edited, then `imagespec build` against `docker build`.
 *
 * The anchor is Debian's Docker CLI with BuildKit (`DOCKER_BUILDKIT=1`; the test environment names it in
 * IMAGESPEC_DOCKER_CLI), building the Dockerfile `imagespec dockerfile` prints for the same image. Every round
 * changes what is built the same way on both sides, so neither side replays the other's (or its own) layer cache.
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { servePackageIndex } from "@imagespec/test-env/package-index";
import { buildWheel } from "@imagespec/test-env/wheel";
import { benchProject, cliBin, compare, interleave, interleaveAsync, median, type Options, rows, run, runAsync, testEnvironment } from "./measure.js";
import { makeTree } from "./tree.js";

interface BuildEntry {
  readonly name: string;
  readonly uri: string;
  readonly status: string;
  readonly reason?: string;
}

function builtAll(stdout: string, expected: number, what: string): BuildEntry[] {
  const entries = JSON.parse(stdout) as BuildEntry[];
  const notBuilt = entries.filter((e) => e.status !== "built");
  if (entries.length !== expected || notBuilt.length > 0)
    throw new Error(
      `${what}: expected ${expected} images built, got ${entries.map((e) => `${e.name} ${e.status}${e.reason ? ` (${e.reason})` : ""}`).join(", ")}`,
    );
  return entries;
}

/** The Docker CLI that builds with BuildKit without buildx: Debian's, as the test environment names it. */
export function dockerCli(env: Readonly<Record<string, string>>): { cli: string; env: NodeJS.ProcessEnv } {
  return { cli: env.IMAGESPEC_DOCKER_CLI || "/usr/bin/docker", env: { ...process.env, ...env, DOCKER_BUILDKIT: "1" } };
}

/** Removes the images a section tagged (its layers go with them; the build cache stays). */
function removeImages(cli: string, env: NodeJS.ProcessEnv, refs: Iterable<string>): void {
  const list = [...new Set(refs)];
  if (list.length === 0) return;
  try {
    run(cli, ["image", "rm", "--force", ...list], { env });
  } catch (error) {
    // Only disk space is at stake: said, not a failure of the bench.
    console.error(`  warning: not every image of this section was removed: ${(error as Error).message.split("\n").slice(-3).join(" ")}`);
  }
}

/** A module of a generated wheel: plain functions, about 3 KB, different in every module. */
function moduleSource(pkg: string, m: number): string {
  const lines = [`"""${pkg}, module ${m}: generated for the bench."""`, ""];
  for (let f = 0; f < 40; f++) lines.push(`def f${f}(x, y=${m}):`, `    return (x * ${f + 1} + y) % ${997 + m}`, "");
  return lines.join("\n");
}

const FOUR = [1, 2, 3, 4] as const;

/**
 * Four independent images, each: a unique ENV value per round (the cache buster, before every install), a virtual
 * environment and a pip install of a 200-module wheel from a package index served here, then a step that
 * byte-compiles that package again and imports it. One `imagespec build` (default concurrency 3, and again with
 * `--concurrency 4`) against four `docker build`s one after another, of the Dockerfiles `imagespec dockerfile`
 * prints for the same images.
 */
export async function fourImages(options: Options): Promise<void> {
  console.error("four independent images: one `imagespec build` vs four sequential `docker build`s");
  const env = testEnvironment();
  const docker = dockerCli(env);
  const project = path.join(options.dir, "four-project");
  const wheels = path.join(project, "wheels");
  rmSync(wheels, { recursive: true, force: true });
  const files = await Promise.all(
    FOUR.map((n) => {
      const pkg = `bench_four_${n}`;
      const modules: Record<string, string> = { [`${pkg}/__init__.py`]: `VALUE = ${n}\n` };
      for (let m = 0; m < 200; m++) modules[`${pkg}/m${m}.py`] = moduleSource(pkg, m);
      return buildWheel(wheels, { name: `bench-four-${n}`, version: "1.0.0", modules });
    }),
  );
  // Reachable from build steps through the host's network (builderConfig network "host", docker build --network host).
  const index = await servePackageIndex(files);
  const images = FOUR.map(
    (n) => `export const four${n} = Image.fromBase(base, { name: "i14-bench/four-${n}", registry, builderConfig: { network: "host" } })
  .withEnvVars({ BENCH_ROUND: \`\${round}-${n}\` })
  .withPipPackages("bench-four-${n}", { indexUrl })
  .withCommands(${JSON.stringify(`python -O -c "import compileall, os, bench_four_${n} as p; compileall.compile_dir(os.path.dirname(p.__file__), force=True, quiet=1)"`)});
`,
  ).join("");
  benchProject(project, {
    "images.ts": `import { Image } from "@imagespec/core";
const base = ${JSON.stringify(env.IMAGESPEC_TEST_BASE_IMAGE)};
const registry = ${JSON.stringify(env.IMAGESPEC_TEST_REGISTRY)};
// The bench sets both: a new BENCH_ROUND for every build, so every build installs for real. Each image adds its own
// number, so the four share no step but the base (a shared venv step would be built once and reused by the others).
const round = process.env.BENCH_ROUND ?? "0";
const indexUrl = process.env.BENCH_INDEX_URL ?? "http://127.0.0.1:9/simple";
${images}`,
  });
  const cacheDir = path.join(options.dir, "four-cache");
  const stamp = Date.now().toString(36);
  const envFor = (round: string): NodeJS.ProcessEnv => ({
    ...process.env,
    ...env,
    IMAGESPEC_CACHE_DIR: cacheDir,
    NO_COLOR: "1",
    BENCH_ROUND: `${stamp}-${round}`,
    BENCH_INDEX_URL: index.url,
  });
  const tagged: string[] = [];
  const imagespecBuild = async (round: string, concurrency?: number): Promise<number> => {
    const args = [cliBin, "build", "images.ts", "--no-push", "--json", ...(concurrency ? ["--concurrency", String(concurrency)] : [])];
    const result = await runAsync(options.node, args, { cwd: project, env: envFor(`i${concurrency ?? ""}${round}`) });
    tagged.push(...builtAll(result.stdout, 4, `imagespec build, round ${round}`).map((e) => e.uri));
    return result.ms;
  };
  const dockerBuilds = async (round: string): Promise<number> => {
    // The Dockerfiles of this round's images (a new BENCH_ROUND is a new Dockerfile), rendered before the clock starts.
    for (const n of FOUR) {
      const dockerfile = run(options.node, [cliBin, "dockerfile", "images.ts", `four${n}`], { cwd: project, env: envFor(`d${round}`) }).stdout;
      mkdirSync(path.join(project, "anchor", `four-${n}`), { recursive: true });
      writeFileSync(path.join(project, "anchor", `four-${n}`, "Dockerfile"), dockerfile);
    }
    let ms = 0;
    for (const n of FOUR) {
      const tag = `i14-bench-four-${n}:anchor`;
      tagged.push(tag);
      ms += (
        await runAsync(docker.cli, ["build", "--progress", "plain", "--network", "host", "-t", tag, "."], {
          cwd: path.join(project, "anchor", `four-${n}`),
          env: docker.env,
        })
      ).ms;
    }
    return ms;
  };
  try {
    // A first round of each, not timed: the base image pulled, the wheels fetched once, both paths known to work.
    await imagespecBuild("warm");
    await dockerBuilds("warm");
    const medians = await interleaveAsync(options.rounds, {
      imagespec: (round) => imagespecBuild(String(round)),
      docker: (round) => dockerBuilds(String(round)),
      // The default runs 3 images at once; the fourth waits for a slot. All four at once, for comparison.
      concurrency4: (round) => imagespecBuild(String(round), 4),
    });
    compare("4 independent images: one `imagespec build` vs 4 sequential `docker build`s", medians.imagespec!, [["4× docker build", medians.docker!]], {
      max: 0.8,
      against: "4× docker build",
    });
    compare("the same, `imagespec build --concurrency 4`", medians.concurrency4!, [["4× docker build", medians.docker!]], {
      max: 0.8,
      against: "4× docker build",
    });
  } finally {
    await index.close();
    removeImages(docker.cli, docker.env, tagged);
  }
}

/** go-units sizes as BuildKit's progress prints them: `640.12kB`, `49.3MB`, `2B` (powers of 1000). */
function parseSize(text: string): number {
  const match = /^([\d.]+)\s*([kMGT]?)B$/.exec(text);
  if (!match) return Number.NaN;
  return Number(match[1]) * 1000 ** " kMGT".indexOf(match[2] || " ");
}

/** Bytes the Docker CLI sent as context: the last `transferring context` figure of each step, added up. */
function dockerContextBytes(log: string): number {
  const perStep = new Map<string, number>();
  for (const match of log.matchAll(/^#(\d+) transferring context: ([\d.]+[kMGT]?B)/gm)) perStep.set(match[1]!, parseSize(match[2]!));
  return [...perStep.values()].reduce((a, b) => a + b, 0);
}

/** imagespec's own account of the context (its build log, printed with --debug). */
function imagespecContextBytes(log: string): { asked: number; sent: number } {
  const match = /the engine asked for (\d+) of them \((\d+) bytes\); (\d+) bytes sent in all/.exec(log);
  if (!match) return { asked: Number.NaN, sent: Number.NaN };
  return { asked: Number(match[1]), sent: Number(match[3]) };
}

const megabytes = (bytes: number): string => (Number.isNaN(bytes) ? "not reported" : `${(bytes / 1e6).toFixed(2)} MB`);

/**
 * A project whose image copies a 10k-file source folder: one file edited (new bytes each time), then a build. Both
 * sides build the Dockerfile `imagespec dockerfile` prints, the anchor with the folder named in place of imagespec's
 * context path, from the same project folder.
 */
export function edit(options: Options): void {
  console.error("edit one file of a 10k-file folder, rebuild: `imagespec build` vs `docker build`");
  const env = testEnvironment();
  const docker = dockerCli(env);
  const project = path.join(options.dir, "edit-project");
  makeTree(path.join(project, "src"), 10_000);
  benchProject(project, {
    "images.ts": `import { Image } from "@imagespec/core";
export const edit = Image.fromBase(${JSON.stringify(env.IMAGESPEC_TEST_BASE_IMAGE)}, { name: "i14-bench/edit", registry: ${JSON.stringify(env.IMAGESPEC_TEST_REGISTRY)} })
  .withSourceFolder("src", "/app")
  .withEntrypoint(["python", "-c", "print('ok')"]);
`,
    ".dockerignore": "node_modules\nimages.ts\npackage.json\nDockerfile\n.dockerignore\n",
  });
  const base = { ...process.env, ...env, IMAGESPEC_CACHE_DIR: path.join(options.dir, "edit-cache"), NO_COLOR: "1" };
  const rendered = run(options.node, [cliBin, "dockerfile", "images.ts", "edit"], { cwd: project, env: base }).stdout;
  if (!rendered.includes('COPY ["layers/0/","/app"]')) throw new Error(`imagespec dockerfile no longer copies the folder as layers/0/:\n${rendered}`);
  writeFileSync(path.join(project, "Dockerfile"), rendered.replace('COPY ["layers/0/","/app"]', 'COPY ["src/","/app"]'));

  const edited = path.join(project, "src/pkg0/mod0/sub0/f0.py");
  const original = readFileSync(edited, "utf8").split("\n").slice(1).join("\n");
  let edits = 0;
  const editOne = () => writeFileSync(edited, `# file 0, edit ${Date.now()}-${edits++}\n${original}`);
  const tagged = ["i14-bench-edit:anchor"];
  const imagespecSent: number[] = [];
  const imagespecAsked: number[] = [];
  const dockerSent: number[] = [];
  const imagespecBuild = (): number => {
    editOne();
    // --debug prints the build log (as docker's plain progress does), which holds the context's byte count.
    const result = run(options.node, [cliBin, "build", "images.ts", "--no-push", "--json", "--debug"], { cwd: project, env: base });
    tagged.push(...builtAll(result.stdout, 1, "imagespec build after an edit").map((e) => e.uri));
    const bytes = imagespecContextBytes(result.stderr);
    imagespecSent.push(bytes.sent);
    imagespecAsked.push(bytes.asked);
    return result.ms;
  };
  const dockerBuild = (): number => {
    editOne();
    const result = run(docker.cli, ["build", "--progress", "plain", "-t", "i14-bench-edit:anchor", "."], { cwd: project, env: docker.env });
    dockerSent.push(dockerContextBytes(result.stderr));
    return result.ms;
  };
  try {
    // Not timed: the first build of each sends the whole folder and fills the engine's caches.
    imagespecBuild();
    dockerBuild();
    imagespecSent.length = imagespecAsked.length = dockerSent.length = 0;
    const medians = interleave(options.rounds, { imagespec: imagespecBuild, docker: dockerBuild });
    compare("edit one file of a 10k-file folder, rebuild", medians.imagespec!, [["docker build", medians.docker!]], { max: 1.3, against: "docker build" });
    const mine = median(imagespecSent);
    const theirs = median(dockerSent);
    rows.push({
      what: "bytes sent to the engine after a one-file edit (10k-file folder)",
      imagespec: `${megabytes(mine)} (${median(imagespecAsked)} file(s) asked for)`,
      anchor: `docker CLI ${megabytes(theirs)}`,
      ratio: Number.isNaN(mine) || Number.isNaN(theirs) || theirs === 0 ? "—" : `${(mine / theirs).toFixed(2)}×`,
      target: "",
      met: undefined,
    });
    console.error(`  bytes sent after the edit: imagespec ${rows.at(-1)!.imagespec} | ${rows.at(-1)!.anchor}`);
  } finally {
    removeImages(docker.cli, docker.env, tagged);
  }
}
