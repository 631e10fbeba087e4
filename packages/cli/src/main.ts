/**
 * Dispatch: parse the command line against the command table, print help, run the command's module (imported
 * only now), and turn whatever it throws into a message and an exit code. Nothing here imports @imagespec/core
 * eagerly, so `imagespec --help` stays fast.
 */

import { readFileSync } from "node:fs";
import { type OptionValues, parseArgs, UsageError } from "./args.js";
import { COMMANDS, type CommandSpec, findCommand, type OptionSpec } from "./commands.js";
import { EXIT, errorJson, exitCodeFor, isCoreError } from "./exit.js";
import { commandHelp, generalHelp } from "./help.js";
import { Output } from "./output.js";
import { mark, timings } from "./timings.js";

/** What every command receives. */
export interface Invocation {
  readonly command: CommandSpec;
  readonly options: OptionValues;
  readonly positionals: readonly string[];
  readonly out: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

type CommandModule = { run(invocation: Invocation): Promise<number> };

const loaders: Readonly<Record<string, () => Promise<CommandModule>>> = {
  build: () => import("./commands/build.js"),
  tag: () => import("./commands/tag.js"),
  dockerfile: () => import("./commands/dockerfile.js"),
  explain: () => import("./commands/explain.js"),
  exists: () => import("./commands/exists.js"),
  builders: () => import("./commands/builders.js"),
};

const ALL_OPTIONS: readonly OptionSpec[] = [...new Map(COMMANDS.flatMap((c) => c.options).map((o) => [o.name, o])).values()];

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  mark("node and the cli");
  const wantsJson = argv.includes("--json");
  const wantsDebug = argv.includes("--debug");
  let out = new Output({ env, json: wantsJson, debug: wantsDebug });
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
    const command = findCommand(name);
    if (!command) throw unknownCommand(name);
    const { options, positionals } = parseArgs(command, [...leading, ...argv.slice(i + 1)], ALL_OPTIONS);
    if (options.help) {
      out.out(commandHelp(command));
      return EXIT.ok;
    }
    out = new Output({ env, json: options.json === true, debug: options.debug === true });
    const module = await loaders[command.name]!();
    mark("command and core");
    const code = await module.run({ command, options, positionals, out, env, cwd: process.cwd() });
    if (out.debug) out.err(out.style.dim(`timings: ${timings()}`));
    return code;
  } catch (error) {
    await report(error, out);
    return exitCodeFor(error);
  }
}

function unknownCommand(name: string): UsageError {
  if (name.startsWith("-")) return new UsageError(`unknown option ${name}; options go after the command, e.g. imagespec build --help`);
  return new UsageError(`unknown command ${JSON.stringify(name)}`, { unknown: name, suggestFrom: COMMANDS.map((c) => c.name) });
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
