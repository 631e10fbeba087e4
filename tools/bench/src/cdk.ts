/**
 * `cdk`: imagespec's cold and warm hash of the large tree against AWS CDK's `FileSystem.fingerprint` (aws-cdk-lib, a
 * dev dependency of the bench), each in a new process, interleaved. Cold: imagespec's stat cache and CDK's
 * fingerprint cache emptied before every run; warm: both left as the previous run wrote them.
 */

import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { compare, interleave, median, type Options, rows, run } from "./measure.js";
import { makeTree } from "./tree.js";

const hashChild = path.join(import.meta.dirname, "hash-child.js");
const cdkChild = path.join(import.meta.dirname, "cdk-child.js");

interface ChildResult {
  readonly ms: number;
}

export function cdk(options: Options): void {
  console.error(`hashing a tree of ${options.files} files: imagespec vs AWS CDK's FileSystem.fingerprint`);
  const tree = path.join(options.dir, `tree-${options.files}`);
  const info = makeTree(tree, options.files);
  // As in the hash section: imagespec's walk leaves out what this .gitignore names; CDK is told the same.
  if (!existsSync(path.join(tree, ".gitignore"))) writeFileSync(path.join(tree, ".gitignore"), ".git\n.bench-tree.json\n.gitignore\n");
  const coldCache = path.join(options.dir, "cdk-cold-cache");
  const warmCache = path.join(options.dir, `cdk-warm-cache-${options.files}`);
  const cdkHome = (which: string) => path.join(options.dir, `cdk-home-${which}`);
  const cdkEnv = (which: string): NodeJS.ProcessEnv => ({ ...process.env, HOME: cdkHome(which) });
  mkdirSync(cdkHome("cold"), { recursive: true });
  mkdirSync(cdkHome("warm"), { recursive: true });

  const inProcess: Record<string, number[]> = { imagespecCold: [], cdkCold: [], imagespecWarm: [], cdkWarm: [] };
  const timed = (key: string, command: string, args: string[], env?: NodeJS.ProcessEnv): number => {
    const result = run(command, args, env ? { env } : {});
    inProcess[key]!.push((JSON.parse(result.stdout) as ChildResult).ms);
    return result.ms;
  };
  const label = `${options.files / 1000}k files / ${(info.bytes / 1e6).toFixed(0)} MB`;
  const cold = interleave(
    options.rounds,
    {
      imagespec: () => timed("imagespecCold", options.node, [hashChild, tree, coldCache]),
      cdk: () => timed("cdkCold", options.node, [cdkChild, tree], cdkEnv("cold")),
    },
    () => {
      rmSync(coldCache, { recursive: true, force: true });
      rmSync(path.join(cdkHome("cold"), ".cdk"), { recursive: true, force: true });
    },
  );
  compare(`cold hash, ${label} (new process) vs AWS CDK`, cold.imagespec!, [["CDK FileSystem.fingerprint", cold.cdk!]], {
    max: 1,
    against: "CDK FileSystem.fingerprint",
  });
  // Each warm cache filled once, then every run finds it as the previous run left it.
  run(options.node, [hashChild, tree, warmCache]);
  run(options.node, [cdkChild, tree], { env: cdkEnv("warm") });
  const warm = interleave(options.rounds, {
    imagespec: () => timed("imagespecWarm", options.node, [hashChild, tree, warmCache]),
    cdk: () => timed("cdkWarm", options.node, [cdkChild, tree], cdkEnv("warm")),
  });
  compare(`warm re-hash, ${label} (new process) vs AWS CDK`, warm.imagespec!, [["CDK FileSystem.fingerprint", warm.cdk!]]);
  const m = (key: string) => median(inProcess[key]!);
  rows.push({
    what: "the same, in process (without Node's start and module loading): cold; warm",
    imagespec: `${Math.round(m("imagespecCold"))} ms; ${Math.round(m("imagespecWarm"))} ms`,
    anchor: `CDK ${Math.round(m("cdkCold"))} ms; ${Math.round(m("cdkWarm"))} ms`,
    ratio: `${(m("imagespecCold") / m("cdkCold")).toFixed(2)}×; ${(m("imagespecWarm") / m("cdkWarm")).toFixed(2)}×`,
    target: "",
    met: undefined,
  });
  console.error(`  in process: imagespec ${rows.at(-1)!.imagespec} | ${rows.at(-1)!.anchor}`);
}
