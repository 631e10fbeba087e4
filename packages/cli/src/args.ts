/**
 * The command line of one command, split by Node's `util.parseArgs` (`--flag`, `--option value`, `--option=value`,
 * `-h`, `--` to end options) and checked against the command's table in commands.ts. parseArgs runs non-strict and
 * hands back its tokens, so that every mistake becomes a UsageError (exit 2) in our words that names the flag and
 * can suggest the right spelling. Built into Node: `imagespec --help` loads nothing else.
 */

import { parseArgs } from "node:util";
import type { CommandSpec, OptionSpec, OptionSpecs, OptionValues } from "./commands.js";

export interface ParsedArgs<O extends OptionSpecs = OptionSpecs> {
  readonly options: OptionValues<O>;
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

/** Parses `argv` (what follows the command name) against the command's options. `allFlags`: every command's flags, to say "not an option of this command". */
export function parseCommandArgs<O extends OptionSpecs>(command: CommandSpec<O>, argv: readonly string[], allFlags: ReadonlySet<string>): ParsedArgs<O> {
  const specs = Object.entries(command.options) as [string, OptionSpec][];
  const byFlag = new Map(specs.map(([key, spec]) => [spec.flag, { key, spec }]));
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(specs.map(([, o]) => [o.flag, { type: o.type, ...(o.short !== undefined && { short: o.short }) }])),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });

  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    const known = byFlag.get(token.name);
    if (known === undefined) throw unknownOption(command, token.rawName, allFlags);
    const { key, spec } = known;
    const flag = `--${spec.flag}`;
    if (spec.type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`${flag} does not take a value (got ${flag}=${token.value})`, { command: command.name });
      values[key] = true;
      continue;
    }
    // parseArgs takes the next argument as the value even when it is an option: `--builder --json` is a missing value.
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith("-") && value !== "-")) {
      throw new UsageError(`${flag} needs a value: ${flag} ${spec.value}`, { command: command.name });
    }
    if (value === "") throw new UsageError(`${flag} needs a non-empty value: ${flag} ${spec.value}`, { command: command.name });
    if (spec.multiple) {
      const list = (values[key] as string[] | undefined) ?? [];
      list.push(
        ...value
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean),
      );
      values[key] = list;
    } else {
      values[key] = value;
    }
  }

  const options = values as OptionValues<O>;
  if (values.help === true) return { options, positionals };
  const { min, max } = command.positionals;
  if (positionals.length > max) {
    const extra = positionals.slice(max);
    const looksLikeFlag = extra.find((p) => /^[a-z][a-z-]+$/.test(p) && byFlag.has(p));
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

function unknownOption(command: CommandSpec, option: string, allFlags: ReadonlySet<string>): UsageError {
  const name = option.replace(/^-+/, "").split("=")[0]!;
  if (option.startsWith("--") && allFlags.has(name)) {
    return new UsageError(`${option} is not an option of imagespec ${command.name}`, { command: command.name });
  }
  return new UsageError(`unknown option ${option} for imagespec ${command.name}`, {
    command: command.name,
    unknown: option.startsWith("--") ? name : option,
    suggestFrom: Object.values(command.options).map((o) => o.flag),
  });
}
