/**
 * The command surface as data: names, arguments, options and examples. `main` parses against it and renders
 * help from it; each command's code lives in its own module, imported only when that command runs.
 */

export interface OptionSpec {
  readonly name: string;
  /** Placeholder for an option that takes a value, e.g. `<type>`; absent for a flag. */
  readonly value?: string;
  /** May be given several times; comma-separated values are split too. */
  readonly repeatable?: boolean;
  readonly short?: string;
  readonly description: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: readonly string[];
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
  /** Positional arguments: at least `min`, at most `max` (Infinity for any number). */
  readonly positionals: { readonly min: number; readonly max: number };
}

const json: OptionSpec = { name: "json", description: "Print one JSON document on stdout (progress and warnings go to stderr)" };
const debug: OptionSpec = { name: "debug", description: "Show stack traces and every log line" };
const config: OptionSpec = { name: "config", value: "<file>", description: "Use this imagespec.config.ts instead of searching upwards from the current folder" };
const help: OptionSpec = { name: "help", short: "h", description: "Show this help" };
const image: OptionSpec = { name: "image", value: "<spec.yaml>", repeatable: true, description: "Also use this image spec YAML file (repeatable; a .yaml/.yml argument is one too)" };
const builder: OptionSpec = { name: "builder", value: "<type>", description: "Builder type for images that name none (also IMAGESPEC_BUILDER)" };
const fast: OptionSpec = { name: "fast", description: "Fast mode: code bundles are shipped separately, so they are left out of the image and the tag" };
const platform: OptionSpec = {
  name: "platform",
  value: "<os/arch|native>",
  repeatable: true,
  description: "Build for these platforms instead of the images' own (repeat or comma-separate); native is the build engine's own",
};

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "build",
    summary: "Build images whose tag is not in their registry yet",
    usage: ["imagespec build <file> [name...] [<file> [name...]]... [options]", "imagespec build --image <spec.yaml> [options]"],
    description:
      "Loads TypeScript or JavaScript modules (no build step needed) and YAML specs, and builds every Image or ImageSpec a module exports " +
      "(a Promise of one is awaited), or only the export names that follow it. Several files make one run and one --json document. " +
      "Base images are built first, independent images concurrently. An image whose tag already exists in its registry is skipped. " +
      "With --json, stdout is one entry per image: name, uri, builder, status (built, skipped, failed, planned), pushed, digest, reason, " +
      "and error, which for a failed image holds its code, message and hint.",
    options: [
      image,
      builder,
      { name: "force-push", description: "Build and push even when the tag already exists (also IMAGESPEC_FORCE_PUSH=true)" },
      { name: "no-push", description: "Build but do not push (also IMAGESPEC_PUSH=false)" },
      fast,
      platform,
      { name: "dry-run", description: "Resolve, hash and check the registry, print the plan, build nothing" },
      { name: "concurrency", value: "<n>", description: "How many independent images build at once (default 3; also IMAGESPEC_CONCURRENCY)" },
      json,
      debug,
      config,
      help,
    ],
    examples: [
      "imagespec build images.ts",
      "imagespec build images.ts app worker --no-push",
      "imagespec build images.ts specs/batch.yaml --json",
      "imagespec build --image spec.yaml --dry-run",
      "IMAGESPEC_REGISTRY=ghcr.io/acme imagespec build images.ts --json",
    ],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  },
  {
    name: "tag",
    summary: "Print each image's URI without building",
    usage: ["imagespec tag <file> [name...] [<file> [name...]]... [options]", "imagespec tag --image <spec.yaml> [options]"],
    description:
      "Prints the URI (registry/name:tag) of every exported image, or of the named ones, one per line, in order, for every module and spec given. " +
      "The tag is a hash of the definition and every file it reads.",
    options: [image, fast, platform, json, debug, config, help],
    examples: ["imagespec tag images.ts app", "imagespec tag --image spec.yaml", "imagespec tag images.ts spec.yaml --json"],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  },
  {
    name: "dockerfile",
    summary: "Print what the chosen builder would build from",
    usage: ["imagespec dockerfile <file> [name] [options]", "imagespec dockerfile --image <spec.yaml> [options]"],
    description: "Prints the build file of one image as the builder that would build it renders it: the Dockerfile for docker, build.envd for envd.",
    options: [image, builder, fast, platform, debug, config, help],
    examples: ["imagespec dockerfile images.ts app", "imagespec dockerfile --image spec.yaml --builder envd"],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  },
  {
    name: "explain",
    summary: "Show every input of an image's tag with its own digest",
    usage: ["imagespec explain <file> [name...] [<file> [name...]]... [--against <git-ref|file>]", "imagespec explain --image <spec.yaml> [--against <git-ref|spec.yaml>]"],
    description:
      "Lists every input of the tag (fields, each file and folder, the base) with its digest, so you see why a tag is what it is. " +
      "With --against, computes the same image from a git revision (or, for one image, from another file) and shows exactly which inputs changed, " +
      "for folders which files, and for a changed base Image which of its own inputs. With --json and several images, an array.",
    options: [image, { name: "against", value: "<git-ref|file>", description: "Compare with the same image at a git revision, or in another module or spec file" }, fast, platform, json, debug, config, help],
    examples: ["imagespec explain images.ts app", "imagespec explain images.ts app --against HEAD~1", "imagespec explain --image spec.yaml --against old-spec.yaml"],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  },
  {
    name: "exists",
    summary: "Check whether an image's tag is already in its registry",
    usage: ["imagespec exists <file> [name...] [<file> [name...]]... [options]", "imagespec exists --image <spec.yaml> [options]"],
    description:
      "Exits 0 when every tag is present, 1 when one is absent, 3 when one cannot be told (registry unreachable, credentials refused), with the reason. " +
      "An image of several platforms is present only when its tag is an index that holds every one of them (each platform's digest is listed). " +
      "An image without a registry is looked up in the engine of the builder that would build it. With --json: an object for one image, an array for several.",
    options: [image, builder, fast, platform, json, debug, config, help],
    examples: ["imagespec exists images.ts app && echo cached", "imagespec exists --image spec.yaml --json", "imagespec exists images.ts spec.yaml"],
    positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  },
  {
    name: "builders",
    summary: "List the builders found and plugins that failed to load",
    usage: ["imagespec builders [options]"],
    description:
      "Lists the builders registered for this project (from the plugins your package.json declares and the ones imagespec.config.ts imports): " +
      "type, priority, package, version and where it was found, then every plugin that failed to load, with the reason.",
    options: [json, debug, config, help],
    examples: ["imagespec builders", "imagespec builders --json"],
    positionals: { min: 0, max: 0 },
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
