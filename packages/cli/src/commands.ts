/**
 * The command surface as data: names, arguments, options and examples. `main` parses against it (Node's
 * `util.parseArgs`) and renders help from it; each command's code lives in its own module, imported only when that
 * command runs, and receives its options typed from this table (`OptionValues`): `options.dryRun`, not a string key.
 */

export interface OptionSpec {
  /** The flag as written, without the dashes: `dry-run`. The property it is read from is its camelCase: `dryRun`. */
  readonly flag: string;
  readonly type: "boolean" | "string";
  /** Placeholder for an option that takes a value, e.g. `<type>`. */
  readonly value?: string;
  /** May be given several times; comma-separated values are split too. */
  readonly multiple?: boolean;
  readonly short?: string;
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed options of a command, typed from its table: a flag is a boolean, a value a string, a repeatable one a list. */
export type OptionValues<O extends OptionSpecs> = {
  readonly [K in keyof O]?: O[K] extends { readonly multiple: true } ? string[] : O[K] extends { readonly type: "string" } ? string : boolean;
};

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  readonly summary: string;
  readonly usage: readonly string[];
  readonly description: string;
  readonly options: O;
  readonly examples: readonly string[];
  /** Positional arguments: at least `min`, at most `max` (Infinity for any number). */
  readonly positionals: { readonly min: number; readonly max: number };
}

/** Keeps the option table's literal types, so each command's options are typed from it. */
function command<const O extends OptionSpecs>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

const json = { flag: "json", type: "boolean", description: "Print one JSON document on stdout (progress and warnings go to stderr)" } as const;
const debug = { flag: "debug", type: "boolean", description: "Show stack traces, every log line, what hashing read, and timings" } as const;
const config = {
  flag: "config",
  type: "string",
  value: "<file>",
  description: "Use this imagespec.config.ts instead of searching upwards from the current folder",
} as const;
const help = { flag: "help", type: "boolean", short: "h", description: "Show this help" } as const;
const image = {
  flag: "image",
  type: "string",
  value: "<spec.yaml>",
  multiple: true,
  description: "Also use this image spec YAML file (repeatable; a .yaml/.yml argument is one too)",
} as const;
const builder = { flag: "builder", type: "string", value: "<type>", description: "Builder type for images that name none (also IMAGESPEC_BUILDER)" } as const;
const fast = {
  flag: "fast",
  type: "boolean",
  description: "Fast mode: code bundles are shipped separately, so they are left out of the image and the tag",
} as const;
const platform = {
  flag: "platform",
  type: "string",
  value: "<os/arch|native>",
  multiple: true,
  description: "Build for these platforms instead of the images' own (repeat or comma-separate); native is the build engine's own",
} as const;

export const COMMANDS = {
  build: command({
    name: "build",
    summary: "Build images whose tag is not in their registry yet",
    usage: ["imagespec build <file> [name...] [<file> [name...]]... [options]", "imagespec build --image <spec.yaml> [options]"],
    description:
      "Loads TypeScript or JavaScript modules (no build step needed) and YAML specs, and builds every Image or ImageSpec a module exports " +
      "(a Promise of one is awaited), or only the export names that follow it. Several files make one run and one --json document. " +
      "Base images are built first, independent images concurrently. An image whose tag already exists in its registry is skipped. " +
      "With --json, stdout is one entry per image: name, uri, builder, status (built, skipped, failed, planned), pushed, digest, reason, " +
      "and error, which for a failed image holds its code, message and hint.",
    options: {
      image,
      builder,
      forcePush: { flag: "force-push", type: "boolean", description: "Build and push even when the tag already exists (also IMAGESPEC_FORCE_PUSH=true)" },
      noPush: { flag: "no-push", type: "boolean", description: "Build but do not push (also IMAGESPEC_PUSH=false)" },
      fast,
      platform,
      dryRun: { flag: "dry-run", type: "boolean", description: "Resolve, hash and check the registry, print the plan, build nothing" },
      noCache: {
        flag: "no-cache",
        type: "boolean",
        description: "Ask every registry whether the tags exist, even where it said so in the last few minutes (see IMAGESPEC_EXISTENCE_TTL)",
      },
      concurrency: {
        flag: "concurrency",
        type: "string",
        value: "<n>",
        description: "How many independent images build at once (default 3; also IMAGESPEC_CONCURRENCY)",
      },
      json,
      debug,
      config,
      help,
    },
    examples: [
      "imagespec build images.ts",
      "imagespec build images.ts app worker --no-push",
      "imagespec build images.ts specs/batch.yaml --json",
      "imagespec build --image spec.yaml --dry-run",
      "IMAGESPEC_REGISTRY=ghcr.io/acme imagespec build images.ts --json",
    ],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  }),
  tag: command({
    name: "tag",
    summary: "Print each image's URI without building",
    usage: ["imagespec tag <file> [name...] [<file> [name...]]... [options]", "imagespec tag --image <spec.yaml> [options]"],
    description:
      "Prints the URI (registry/name:tag) of every exported image, or of the named ones, one per line, in order, for every module and spec given. " +
      "The tag is a hash of the definition and every file it reads.",
    options: { image, fast, platform, json, debug, config, help },
    examples: ["imagespec tag images.ts app", "imagespec tag --image spec.yaml", "imagespec tag images.ts spec.yaml --json"],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  }),
  dockerfile: command({
    name: "dockerfile",
    summary: "Print what the chosen builder would build from",
    usage: ["imagespec dockerfile <file> [name] [options]", "imagespec dockerfile --image <spec.yaml> [options]"],
    description: "Prints the build file of one image as the builder that would build it renders it: the Dockerfile for docker, build.envd for envd.",
    options: { image, builder, fast, platform, debug, config, help },
    examples: ["imagespec dockerfile images.ts app", "imagespec dockerfile --image spec.yaml --builder envd"],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  }),
  explain: command({
    name: "explain",
    summary: "Show every input of an image's tag with its own digest",
    usage: [
      "imagespec explain <file> [name...] [<file> [name...]]... [--against <git-ref|file>]",
      "imagespec explain --image <spec.yaml> [--against <git-ref|spec.yaml>]",
    ],
    description:
      "Lists every input of the tag (fields, each file and folder, the base) with its digest, so you see why a tag is what it is. " +
      "With --against, computes the same image from a git revision (or, for one image, from another file) and shows exactly which inputs changed, " +
      "for folders which files, and for a changed base Image which of its own inputs. With --json and several images, an array.",
    options: {
      image,
      against: {
        flag: "against",
        type: "string",
        value: "<git-ref|file>",
        description: "Compare with the same image at a git revision, or in another module or spec file",
      },
      fast,
      platform,
      json,
      debug,
      config,
      help,
    },
    examples: [
      "imagespec explain images.ts app",
      "imagespec explain images.ts app --against HEAD~1",
      "imagespec explain --image spec.yaml --against old-spec.yaml",
    ],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  }),
  exists: command({
    name: "exists",
    summary: "Check whether an image's tag is already in its registry",
    usage: ["imagespec exists <file> [name...] [<file> [name...]]... [options]", "imagespec exists --image <spec.yaml> [options]"],
    description:
      "Exits 0 when every tag is present, 1 when one is absent, 3 when one cannot be told (registry unreachable, credentials refused), with the reason. " +
      "An image of several platforms is present only when its tag is an index that holds every one of them (each platform's digest is listed). " +
      "An image without a registry is looked up in the engine of the builder that would build it. With --json: an object for one image, an array for several.",
    options: { image, builder, fast, platform, json, debug, config, help },
    examples: ["imagespec exists images.ts app && echo cached", "imagespec exists --image spec.yaml --json", "imagespec exists images.ts spec.yaml"],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  }),
  builders: command({
    name: "builders",
    summary: "List the builders found and plugins that failed to load",
    usage: ["imagespec builders [options]"],
    description:
      "Lists the builders registered for this project (from the plugins your package.json declares and the ones imagespec.config.ts imports): " +
      "type, priority, package, version and where it was found, then every plugin that failed to load, with the reason.",
    options: { json, debug, config, help },
    examples: ["imagespec builders", "imagespec builders --json"],
    positionals: { min: 0, max: 0 },
  }),
} as const;

export type CommandName = keyof typeof COMMANDS;
export type Commands = typeof COMMANDS;
/** The typed options of one command. */
export type OptionsOf<N extends CommandName> = OptionValues<Commands[N]["options"]>;

export const COMMAND_LIST: readonly CommandSpec[] = Object.values(COMMANDS);

export function findCommand(name: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
}

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}
