/**
 * A small argument parser for the command table in commands.ts: `--flag`, `--option value`, `--option=value`,
 * `-h`, `--` to end options. Hand-rolled so that `imagespec --help` loads nothing else, and so that every usage
 * mistake becomes a UsageError (exit 2) that can suggest the right spelling.
 */

import type { CommandSpec, OptionSpec } from "./commands.js";

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  readonly options: OptionValues;
  readonly positionals: string[];
}

/** A mistake in how the command was called (exit 2). `suggestFrom` lists spellings to suggest from. */
export class UsageError extends Error {
  readonly command: string | undefined;
  readonly unknown: string | undefined;
  readonly suggestFrom: readonly string[];

  constructor(message: string, options: { command?: string; unknown?: string; suggestFrom?: readonly string[] } = {}) {
    super(message);
    this.name = "UsageError";
    this.command = options.command;
    this.unknown = options.unknown;
    this.suggestFrom = options.suggestFrom ?? [];
  }
}

export function parseArgs(command: CommandSpec, argv: readonly string[], allOptions: readonly OptionSpec[]): ParsedArgs {
  const options: OptionValues = {};
  const positionals: string[] = [];
  const byName = new Map(command.options.map((o) => [o.name, o]));
  const byShort = new Map(command.options.filter((o) => o.short).map((o) => [o.short!, o]));

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      spec = byName.get(name);
      if (!spec) throw unknownOption(command, `--${name}`, allOptions);
    } else {
      spec = byShort.get(arg.slice(1));
      if (!spec) throw unknownOption(command, arg, allOptions);
    }
    const flag = `--${spec.name}`;
    if (spec.value === undefined) {
      if (inline !== undefined) throw new UsageError(`${flag} does not take a value (got ${flag}=${inline})`, { command: command.name });
      options[spec.name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("-") && next !== "-")) {
        throw new UsageError(`${flag} needs a value: ${flag} ${spec.value}`, { command: command.name });
      }
      value = next;
      i++;
    }
    if (value === "") throw new UsageError(`${flag} needs a non-empty value: ${flag} ${spec.value}`, { command: command.name });
    if (spec.repeatable) {
      const list = (options[spec.name] as string[] | undefined) ?? [];
      list.push(...value.split(",").map((v) => v.trim()).filter(Boolean));
      options[spec.name] = list;
    } else {
      options[spec.name] = value;
    }
  }

  if (options.help) return { options, positionals };
  const { min, max } = command.positionals;
  if (positionals.length > max) {
    const extra = positionals.slice(max);
    const looksLikeFlag = extra.find((p) => /^[a-z][a-z-]+$/.test(p) && command.options.some((o) => o.name === p));
    throw new UsageError(
      max === 0
        ? `${command.name} takes no arguments (got ${extra.map((p) => JSON.stringify(p)).join(" ")})`
        : `${command.name} takes at most ${max} argument(s); unexpected ${extra.map((p) => JSON.stringify(p)).join(" ")}${looksLikeFlag ? ` (did you mean --${looksLikeFlag}?)` : ""}`,
      { command: command.name },
    );
  }
  if (positionals.length < min) throw new UsageError(`${command.name} needs at least ${min} argument(s)`, { command: command.name });
  return { options, positionals };
}

function unknownOption(command: CommandSpec, option: string, allOptions: readonly OptionSpec[]): UsageError {
  const name = option.replace(/^-+/, "").split("=")[0]!;
  const elsewhere = allOptions.find((o) => o.name === name);
  if (elsewhere && !command.options.includes(elsewhere)) {
    return new UsageError(`${option} is not an option of imagespec ${command.name}`, { command: command.name });
  }
  return new UsageError(`unknown option ${option} for imagespec ${command.name}`, {
    command: command.name,
    unknown: option.startsWith("--") ? name : option,
    suggestFrom: command.options.map((o) => o.name),
  });
}
