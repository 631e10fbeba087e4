/**
 * `pnpm bench`: imagespec side by side with what users compare it with, on the same trees and images, in one run.
 * Every comparison is interleaved (A B A B ...) and reported as medians with the ratio imagespec / anchor.
 *
 *   pnpm bench                        # everything (needs the test environment: bash scripts/test-env up)
 *   pnpm --filter @imagespec/bench bench -- --only noop,hash --rounds 7
 *
 * Options: --only <noop,hash,cdk,rss,tar,edit,fourimages> (default all), --rounds <n> (default 5), --files <n> (the
 * large tree, default 50000), --dir <folder> (where trees and projects are kept between runs; default
 * $TMPDIR/imagespec-bench), --node <path> (the Node that runs imagespec and the `node -e 0` anchor, to compare Node
 * versions; default the one running the bench). Sections that need Docker (noop, edit, fourimages) start the shared test environment
 * through scripts/test-env first.
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { dockerCli, edit, fourImages } from "./builds.js";
import { cdk } from "./cdk.js";
import { benchProject, cliBin, compare, interleave, median, type Options, repoRoot, rows, run, testEnvironment } from "./measure.js";
import { makeTree } from "./tree.js";

const hashChild = path.join(import.meta.dirname, "hash-child.js");

const SECTIONS = ["noop", "hash", "cdk", "rss", "tar", "edit", "fourimages"];

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = new Set((value("only") ?? SECTIONS.join(",")).split(",").map((s) => s.trim()));
  for (const section of only)
    if (!SECTIONS.includes(section)) throw new Error(`Cannot run section ${JSON.stringify(section)}: the sections are ${SECTIONS.join(", ")}`);
  const rounds = Number(value("rounds") ?? 5);
  const files = Number(value("files") ?? 50_000);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`Cannot use --rounds ${value("rounds")}: a whole number, 1 or more`);
  if (!Number.isInteger(files) || files < 1_000) throw new Error(`Cannot use --files ${value("files")}: a whole number, 1000 or more`);
  const node = value("node") ?? process.execPath;
  if (!existsSync(node)) throw new Error(`Cannot use --node ${node}: there is no such file`);
  return { only, rounds, files, dir: value("dir") ?? path.join(tmpdir(), "imagespec-bench"), node };
}

// ---------------------------------------------------------------------------------------------------------------
// Sections

/** A no-op `imagespec build` (the tag exists) against a cached `docker build` of the same Dockerfile and files. */
function noop(options: Options): void {
  console.error("no-op build (every tag exists) vs a cached docker build");
  const env = testEnvironment();
  const project = path.join(options.dir, "noop-project");
  makeTree(path.join(project, "src"), 1_000);
  benchProject(project, {
    "images.ts": `import { Image } from "@imagespec/core";
export const app = Image.fromBase(${JSON.stringify(env.IMAGESPEC_TEST_BASE_IMAGE)}, { name: "i14-bench/noop", registry: ${JSON.stringify(env.IMAGESPEC_TEST_REGISTRY)} })
  .withSourceFolder("src", "/app")
  .withEntrypoint(["python", "-c", "print('ok')"]);
`,
    Dockerfile: `FROM ${env.IMAGESPEC_TEST_BASE_IMAGE}\nCOPY src /app\nENTRYPOINT ["python", "-c", "print('ok')"]\n`,
    ".dockerignore": "node_modules\nimages.ts\npackage.json\nDockerfile\n.dockerignore\n",
  });
  const cacheDir = path.join(options.dir, "noop-cache");
  const base = { ...process.env, ...env, IMAGESPEC_CACHE_DIR: cacheDir, NO_COLOR: "1" };
  const asked = { ...base, IMAGESPEC_EXISTENCE_TTL: "0" };
  // The first build pushes the tag; the first docker build fills its cache.
  const first = JSON.parse(run(options.node, [cliBin, "build", "images.ts", "--json"], { cwd: project, env: asked }).stdout) as { status: string }[];
  console.error(`  first imagespec build: ${first.map((r) => r.status).join(", ")}`);
  run("docker", ["build", "-q", "-t", "i14-bench-noop-anchor", "."], { cwd: project, env: base });
  // The issue's anchor is the CLI first on PATH, whose `docker build` (without buildx) is Docker's legacy builder; the
  // same cached build through BuildKit (Debian's client, as the edit section uses) is shown beside it.
  const buildkit = dockerCli(env);
  run(buildkit.cli, ["build", "-q", "-t", "i14-bench-noop-anchor-buildkit", "."], { cwd: project, env: { ...buildkit.env, ...base, DOCKER_BUILDKIT: "1" } });
  const skipped = JSON.parse(run(options.node, [cliBin, "build", "images.ts", "--json"], { cwd: project, env: asked }).stdout) as { status: string }[];
  if (skipped.some((r) => r.status !== "skipped")) throw new Error(`the second imagespec build was not a no-op: ${JSON.stringify(skipped)}`);

  const medians = interleave(options.rounds, {
    imagespec: () => run(options.node, [cliBin, "build", "images.ts"], { cwd: project, env: asked }).ms,
    remembered: () => run(options.node, [cliBin, "build", "images.ts"], { cwd: project, env: base }).ms,
    docker: () => run("docker", ["build", "-q", "-t", "i14-bench-noop-anchor", "."], { cwd: project, env: base }).ms,
    buildkit: () =>
      run(buildkit.cli, ["build", "-q", "-t", "i14-bench-noop-anchor-buildkit", "."], { cwd: project, env: { ...buildkit.env, ...base, DOCKER_BUILDKIT: "1" } })
        .ms,
    node: () => run(options.node, ["-e", "0"]).ms,
  });
  compare(
    "no-op `imagespec build` (registry asked) vs cached `docker build`",
    medians.imagespec!,
    [
      ["docker build", medians.docker!],
      ["node -e 0", medians.node!],
    ],
    { max: 0.5, against: "docker build" },
  );
  compare("no-op `imagespec build` (registry asked) vs cached `docker build` with BuildKit (Debian's client)", medians.imagespec!, [
    ["docker build (BuildKit)", medians.buildkit!],
  ]);
  compare("no-op `imagespec build` (registry asked) vs `node -e 0`", medians.imagespec!, [["node -e 0", medians.node!]], { max: 3, against: "node -e 0" });
  compare(
    "no-op `imagespec build` (answer remembered, within the TTL)",
    medians.remembered!,
    [
      ["docker build", medians.docker!],
      ["node -e 0", medians.node!],
    ],
    { max: 0.5, against: "docker build" },
  );
}

/** Cold and warm hashing of the large tree in a new process, against sha256sum -P2 and git status. */
function hash(options: Options): void {
  console.error(`hashing a tree of ${options.files} files`);
  const tree = path.join(options.dir, `tree-${options.files}`);
  const info = makeTree(tree, options.files);
  console.error(`  tree: ${info.files} files, ${(info.bytes / 1e6).toFixed(0)} MB`);
  // git needs an index of the tree for `git status`; made once.
  if (!existsSync(path.join(tree, ".git"))) {
    run("git", ["init", "-q"], { cwd: tree });
    run("git", ["-c", "core.autocrlf=false", "add", "-A"], { cwd: tree });
  }
  writeFileSync(path.join(tree, ".gitignore"), ".git\n.bench-tree.json\n.gitignore\n");
  const warmCache = path.join(options.dir, `warm-cache-${options.files}`);
  const coldCache = path.join(options.dir, "cold-cache");
  const hashOnce = (cache: string) => JSON.parse(run(options.node, [hashChild, tree, cache]).stdout) as { ms: number; maxRssKiB: number };
  hashOnce(warmCache);
  const sha256 = () => run("bash", ["-c", "find . -path ./.git -prune -o -type f -print0 | xargs -0 -n 500 -P 2 sha256sum > /dev/null"], { cwd: tree }).ms;
  const cold = interleave(
    options.rounds,
    {
      imagespec: () => run(options.node, [hashChild, tree, coldCache]).ms,
      sha256sum: sha256,
    },
    () => rmSync(coldCache, { recursive: true, force: true }),
  );
  compare(
    `cold hash, ${options.files} files / ${(info.bytes / 1e6).toFixed(0)} MB (new process, page cache warm)`,
    cold.imagespec!,
    [["sha256sum -P2", cold.sha256sum!]],
    { max: 2, against: "sha256sum -P2" },
  );
  const warm = interleave(options.rounds, {
    imagespec: () => run(options.node, [hashChild, tree, warmCache]).ms,
    git: () => run("git", ["status", "--porcelain"], { cwd: tree }).ms,
  });
  compare("warm re-hash, same tree", warm.imagespec!, [["git status", warm.git!]], { max: 2, against: "git status" });
}

/** Peak RSS of one hashing process at 1k, 10k and the large tree. */
function rss(options: Options): void {
  console.error("peak RSS of a hashing process");
  const sizes = [1_000, 10_000, options.files];
  const peaks = sizes.map((files) => {
    const tree = path.join(options.dir, `tree-${files}`);
    makeTree(tree, files);
    const cache = path.join(options.dir, "rss-cache");
    const values: number[] = [];
    for (let i = 0; i < Math.min(options.rounds, 3); i++) {
      rmSync(cache, { recursive: true, force: true });
      values.push((JSON.parse(run(options.node, [hashChild, tree, cache]).stdout) as { maxRssKiB: number }).maxRssKiB / 1024);
    }
    return median(values);
  });
  const ratio = peaks.at(-1)! / peaks[0]!;
  rows.push({
    what: `peak RSS, ${sizes.map((n) => `${n / 1000}k`).join(" → ")} files (cold hash)`,
    imagespec: peaks.map((mib) => `${Math.round(mib)}`).join(" → ") + " MiB",
    anchor: "",
    ratio: `${ratio.toFixed(2)}× the 1k RSS`,
    target: "≤ 1.5× the 1k RSS",
    met: ratio <= 1.5,
  });
  console.error(`  ${rows.at(-1)!.imagespec} (${rows.at(-1)!.ratio})`);
}

/** The build context of a 10k-file folder as a tar stream (read to its end), against GNU tar. */
function tarSection(options: Options): void {
  console.error("context tar of 10k files");
  const project = path.join(options.dir, "tar-project");
  makeTree(path.join(project, "src"), 10_000);
  const script = path.join(options.dir, "tar-child.mjs");
  writeFileSync(
    script,
    `import { Image } from ${JSON.stringify(path.join(repoRoot, "packages/core/dist/index.js"))};
import { renderDockerBuild } from ${JSON.stringify(path.join(repoRoot, "packages/docker-build/dist/index.js"))};
import { contextTar } from ${JSON.stringify(path.join(repoRoot, "packages/docker-build/dist/engine.js"))};
const image = Image.fromBase("debian:bookworm-slim", { name: "i14-bench/tar" }).withSourceFolder(${JSON.stringify(path.join(project, "src"))}, "/app");
const identity = await image.identity();
const plan = await renderDockerBuild(image);
const started = performance.now();
const tar = contextTar(plan.context, { image, identity });
let bytes = 0;
const ended = new Promise((resolve) => tar.stream.on("end", resolve));
tar.stream.on("data", (chunk) => { bytes += chunk.length; });
const stats = await tar.done;
await ended;
console.log(JSON.stringify({ ms: performance.now() - started, bytes, files: stats.files }));
`,
  );
  const medians = interleave(options.rounds, {
    imagespec: () =>
      (
        JSON.parse(run(options.node, [script], { env: { ...process.env, IMAGESPEC_CACHE_DIR: path.join(options.dir, "tar-cache") } }).stdout) as {
          ms: number;
        }
      ).ms,
    tar: () => run("bash", ["-c", "tar -cf - src | wc -c > /dev/null"], { cwd: project }).ms,
  });
  compare("context tar of 10k files (streamed to its end; tag already computed)", medians.imagespec!, [["GNU tar", medians.tar!]]);
}

// ---------------------------------------------------------------------------------------------------------------

const options = parseOptions(process.argv.slice(2));
mkdirSync(options.dir, { recursive: true });
if (!existsSync(cliBin)) throw new Error(`Cannot find the CLI at ${cliBin}: build first (pnpm exec turbo run build)`);
console.error(`imagespec bench: ${options.rounds} interleaved rounds, medians; trees in ${options.dir}`);
const sections: Record<string, (o: Options) => void | Promise<void>> = { noop, hash, cdk, rss, tar: tarSection, edit, fourimages: fourImages };
for (const name of SECTIONS) if (options.only.has(name)) await sections[name]!(options);

const table = [
  "| what | imagespec | anchor | ratio | target |",
  "|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.what} | ${r.imagespec} | ${r.anchor} | ${r.ratio} | ${r.target}${r.met === undefined ? "" : r.met ? " ✓" : " ✗"} |`),
];
console.log(table.join("\n"));
let engine = "no Docker engine";
try {
  engine = `docker engine ${execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).trim()}`;
} catch {
  // Only the sections that need Docker need it.
}
console.log(`\nnode ${execFileSync(options.node, ["--version"], { encoding: "utf8" }).trim()}, ${engine}, ${new Date().toISOString()}`);
