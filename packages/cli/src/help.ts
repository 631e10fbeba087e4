/** Help text, rendered from the command table. */

import { EXIT, EXIT_BY_ERROR_CODE } from "./exit.js";
import { COMMAND_LIST, type CommandSpec, type OptionSpec } from "./commands.js";

/** The error codes (`error.code` in --json) that end with this exit code, from exit.ts's table. */
const codesFor = (exit: number) =>
  Object.entries(EXIT_BY_ERROR_CODE)
    .filter(([, code]) => code === exit)
    .map(([name]) => name)
    .join(", ");

const EXIT_CODES = [
  "  0    success (an image that already exists counts: it was skipped)",
  `  1    a build failed (for exists: the tag is absent): ${codesFor(EXIT.failed)}`,
  `  2    usage error or invalid definition (the message names the field and the value): USAGE, ${codesFor(EXIT.usage)}`,
  `  3    environment problem: no Docker engine, registry unreachable when it must be reached: ${codesFor(EXIT.environment)}`,
  `  130  cancelled (Ctrl-C): ${codesFor(EXIT.cancelled)}`,
];

const ENVIRONMENT = [
  "  IMAGESPEC_REGISTRY           registry for images that name none",
  "  IMAGESPEC_BUILDER            builder type for images that name none",
  "  IMAGESPEC_PUSH=false         never push",
  "  IMAGESPEC_FORCE_PUSH=true    build and push even when the tag exists",
  "  IMAGESPEC_DEBIAN_BASE_IMAGE  Debian Python base template, e.g. mirror/python:{python_version}-slim-bookworm",
  "  NO_COLOR, CI                 no colours; plain progress lines instead of a live display",
];

export function generalHelp(): string {
  const width = Math.max(...COMMAND_LIST.map((c) => c.name.length));
  return [
    "imagespec: container images defined in TypeScript, tagged by content, built only when the tag is new.",
    "",
    "Usage: imagespec <command> [arguments] [options]",
    "",
    "Commands:",
    ...COMMAND_LIST.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options for every command:",
    "  --json           print one JSON document on stdout (build, tag, explain, exists, builders)",
    "  --debug          show stack traces and every build log line",
    "  --config <file>  use this config file instead of the nearest imagespec.config.ts",
    "  -h, --help       show help (imagespec <command> --help for a command's own)",
    "  -V, --version    print the version",
    "",
    "Exit codes:",
    ...EXIT_CODES,
    "",
    "Environment:",
    ...ENVIRONMENT,
    "",
    "Examples:",
    "  imagespec build images.ts",
    "  imagespec tag images.ts app",
    "  imagespec explain images.ts app --against main",
    "",
  ].join("\n");
}

export function commandHelp(command: CommandSpec): string {
  const label = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : ""}--${o.flag}${o.value ? ` ${o.value}` : ""}`;
  const options: OptionSpec[] = Object.values(command.options);
  const width = Math.max(...options.map((o) => label(o).length));
  return [
    `imagespec ${command.name}: ${command.summary}`,
    "",
    "Usage:",
    ...command.usage.map((u) => `  ${u}`),
    "",
    ...wrap(command.description, 100),
    "",
    "Options:",
    ...options.map((o) => `  ${label(o).padEnd(width)}  ${o.description}`),
    "",
    "Examples:",
    ...command.examples.map((e) => `  ${e}`),
    "",
    "Exit codes:",
    ...(command.name === "exists"
      ? [
          "  0    present",
          "  1    absent",
          "  2    usage error or invalid definition",
          "  3    unknown (registry unreachable, credentials refused); the reason is printed",
        ]
      : EXIT_CODES),
    "",
  ].join("\n");
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
