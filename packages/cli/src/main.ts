/**
 * Dispatch: parse the command line against the command table, print help, run the command's module (imported
 * only now), and turn whatever it throws into a message and an exit code. Nothing here imports @imagespec/core
 * eagerly, so `imagespec --help` stays fast.
 */

import { readFileSync } from "node:fs";
import { parseCommandArgs, UsageError } from "./args.js";
import { COMMAND_LIST, type CommandName, type Commands, findCommand, isCommandName, type OptionSpecs, type OptionsOf } from "./commands.js";
import { EXIT, errorJson, exitCodeFor, isCoreError } from "./exit.js";
import { commandHelp, generalHelp } from "./help.js";
import { Output, type Streams } from "./output.js";
import { mark, timings } from "./timings.js";

/** What every command receives: its own options, typed from the command table. */
export interface Invocation<N extends CommandName = CommandName> {
  readonly command: Commands[N];
  readonly options: OptionsOf<N>;
  readonly positionals: readonly string[];
  readonly out: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

type CommandModule<N extends CommandName> = { run(invocation: Invocation<N>): Promise<number> };

/** Each command's module, imported only when it runs; the types tie each module to its own command's options. */
const loaders: { readonly [N in CommandName]: () => Promise<CommandModule<N>> } = {
  build: () => import("./commands/build.js"),
  tag: () => import("./commands/tag.js"),
  dockerfile: () => import("./commands/dockerfile.js"),
  explain: () => import("./commands/explain.js"),
  exists: () => import("./commands/exists.js"),
  builders: () => import("./commands/builders.js"),
};

const ALL_FLAGS: ReadonlySet<string> = new Set(COMMAND_LIST.flatMap((c) => Object.values(c.options).map((o) => o.flag)));

/** Where `main` writes and runs: the process's own by default; a test runs it in-process with its own. */
export interface MainContext extends Partial<Streams> {
  readonly cwd?: string;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, context: MainContext = {}): Promise<number> {
  mark("node and the cli");
  const wantsJson = argv.includes("--json");
  const wantsDebug = argv.includes("--debug");
  const streams: Streams = { stdout: context.stdout ?? process.stdout, stderr: context.stderr ?? process.stderr };
  let out = new Output({ env, json: wantsJson, debug: wantsDebug, streams });
  try {
    // Options before the command (`imagespec --debug build ...`) count as if written after it.
    const leading: string[] = [];
    let i = 0;
    for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
      const arg = argv[i]!;
      if (arg === "--version" || arg === "-V") {
        out.out(version());
        return EXIT.ok;
      }
      if (arg === "--help" || arg === "-h") {
        out.out(generalHelp());
        return EXIT.ok;
      }
      leading.push(arg);
      if (arg === "--config" && i + 1 < argv.length) leading.push(argv[++i]!);
    }
    const name = argv[i];
    if (name === undefined) {
      out.err(generalHelp());
      return EXIT.usage;
    }
    if (name === "help") {
      const topic = argv[i + 1];
      if (topic === undefined) {
        out.out(generalHelp());
        return EXIT.ok;
      }
      const command = findCommand(topic);
      if (!command) throw unknownCommand(topic);
      out.out(commandHelp(command));
      return EXIT.ok;
    }
    if (!isCommandName(name)) throw unknownCommand(name);
    const code = await runCommand(name, [...leading, ...argv.slice(i + 1)], env, context.cwd ?? process.cwd(), streams, (next) => {
      out = next;
    });
    if (out.debug) out.err(out.style.dim(`timings: ${timings()}`));
    return code;
  } catch (error) {
    await report(error, out);
    return exitCodeFor(error);
  }
}

async function runCommand<N extends CommandName>(
  name: N,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  streams: Streams,
  setOutput: (out: Output) => void,
): Promise<number> {
  const command = findCommand(name) as Commands[N];
  const { options, positionals } = parseCommandArgs<OptionSpecs>(command, args, ALL_FLAGS);
  const out = new Output({ env, json: options.json === true, debug: options.debug === true, streams });
  setOutput(out);
  if (options.help === true) {
    out.out(commandHelp(command));
    return EXIT.ok;
  }
  const module = await loaders[name]();
  mark("command and core");
  return module.run({ command, options: options as OptionsOf<N>, positionals, out, env, cwd });
}

function unknownCommand(name: string): UsageError {
  if (name.startsWith("-")) return new UsageError(`unknown option ${name}; options go after the command, e.g. imagespec build --help`);
  return new UsageError(`unknown command ${JSON.stringify(name)}`, { unknown: name, suggestFrom: COMMAND_LIST.map((c) => c.name) });
}

async function report(error: unknown, out: Output): Promise<void> {
  const { style } = out;
  if (error instanceof UsageError) {
    let message = error.message;
    if (error.unknown !== undefined && error.suggestFrom.length > 0) {
      // Loading core costs a few hundred milliseconds; a typo can afford it, `--help` cannot.
      const { closestMatch } = await import("@imagespec/core");
      const suggestion = closestMatch(error.unknown, error.suggestFrom);
      if (suggestion) message += `; did you mean ${error.command !== undefined ? `--${suggestion}` : suggestion}?`;
    }
    out.err(`${style.red("error:")} ${message}`);
    out.err(error.command ? `Run "imagespec ${error.command} --help" for its usage.` : `Run "imagespec --help" for the list of commands.`);
    if (out.json) out.outJson({ error: { code: "USAGE", message } });
    return;
  }
  if (isCoreError(error)) {
    out.err(`${style.red("error:")} ${error.message}`);
    if (error.hint) out.err(`${style.dim("hint:")} ${error.hint}`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    out.err(`${style.red("error:")} ${message}`);
    if (!out.debug) out.err(style.dim("Run with --debug for the stack trace."));
  }
  if (out.debug) out.err(stackOf(error));
  if (out.json) out.outJson({ error: errorJson(error) });
}

function stackOf(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(depth === 0 ? String((e as Error).stack ?? e) : `Caused by: ${String((e as Error).stack ?? e)}`);
  }
  return parts.join("\n");
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}
