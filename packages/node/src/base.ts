/**
 * `fromNodeBase`: an image that starts from a Node.js base, like `Image.fromDebianBase` does for Python. The base is
 * the official `node:<version>-bookworm-slim` unless `IMAGESPEC_NODE_BASE_IMAGE` (a template with `{node_version}`)
 * points elsewhere, e.g. at a mirror; the version is checked in the image when it is built, so a template that
 * ignores the version cannot hand a service the wrong Node silently.
 */

import { Image, type ImageOptions } from "@imagespec/core";
import { defineLayer, type DockerLayerRenderer, ImageSpecError, normalizeImageReference, shellQuote, z } from "@imagespec/core/authoring";

/** The Node.js version `fromNodeBase` uses when none is given: the active LTS line. */
export const DEFAULT_NODE_VERSION = "22";
/** The official Node.js image on Debian bookworm, slim. `IMAGESPEC_NODE_BASE_IMAGE` overrides it. */
export const DEFAULT_NODE_BASE_TEMPLATE = "node:{node_version}-bookworm-slim";
export const NODE_BASE_IMAGE_ENV = "IMAGESPEC_NODE_BASE_IMAGE";

const NODE_VERSION = /^[0-9]{1,3}(\.[0-9]{1,4}){0,2}$/;

export function checkNodeVersion(value: string): string | undefined {
  return NODE_VERSION.test(value) ? undefined : 'a Node.js version is <major>[.<minor>[.<patch>]], e.g. "22" or "20.18.1"';
}

/** The base reference for a Node.js version: `IMAGESPEC_NODE_BASE_IMAGE`'s template, else `node:<version>-bookworm-slim`. */
export function nodeBaseImage(nodeVersion: string): string {
  const template = process.env[NODE_BASE_IMAGE_ENV] || DEFAULT_NODE_BASE_TEMPLATE;
  const uri = template.replaceAll("{node_version}", nodeVersion);
  if (normalizeImageReference(uri) === undefined) {
    throw new ImageSpecError(
      "CONFIG_ERROR",
      `Cannot resolve the Node.js base image: ${NODE_BASE_IMAGE_ENV} gives ${JSON.stringify(uri)}, which is not an image reference`,
      {
        field: NODE_BASE_IMAGE_ENV,
        value: template,
        hint: "Set it to a reference template such as registry.example.com/node:{node_version}-bookworm-slim.",
      },
    );
  }
  return uri;
}

export interface NodeVersionFields {
  readonly version: string;
}

const renderNodeVersion: DockerLayerRenderer<NodeVersionFields> = (layer, ctx) => {
  const version = layer.version;
  const missing = `imagespec: the image states Node.js ${version}, but its base has no node on PATH; use a Node.js base image (fromNodeBase) or install Node.js in it`;
  const program = [
    "const want = process.argv[1];",
    "const have = process.versions.node;",
    'if (have !== want && !have.startsWith(want + ".")) {',
    '  console.error("imagespec: the image states Node.js " + want + ", but its base image has Node.js " + have + " (" + process.execPath + "); set nodeVersion to " + have.split(".")[0] + " or use a base image with Node.js " + want);',
    "  process.exit(1);",
    "}",
  ].join(" ");
  return [
    ctx.run(`command -v node >/dev/null 2>&1 || { echo ${shellQuote(missing)} >&2; exit 1; }; node -e ${shellQuote(program)} ${shellQuote(version)}`, {
      description: `check that the base image has Node.js ${version}`,
    }),
  ];
};

/**
 * `nodeVersion`: the Node.js version the image runs. `fromNodeBase` adds it first; it checks the base at build time
 * and tells the Node layers which version to check `engines.node` against.
 */
export const nodeVersionLayer = defineLayer<"nodeVersion", NodeVersionFields>({
  specificationVersion: "v1",
  kind: "nodeVersion",
  description: "The Node.js version the image runs: checked against the base image's node when the image is built.",
  schema: z
    .object({
      version: z.string().superRefine((value, ctx) => {
        const problem = checkNodeVersion(value);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      }),
    })
    .strict(),
  renderers: { docker: renderNodeVersion },
});

export interface NodeBaseOptions extends Omit<ImageOptions, "pythonVersion" | "pythonExec"> {
  /** `<major>[.<minor>[.<patch>]]`. Default `22`. */
  nodeVersion?: string;
}

/**
 * An image on a Node.js base: `node:<nodeVersion>-bookworm-slim`, or the `IMAGESPEC_NODE_BASE_IMAGE` template with
 * `{node_version}` replaced. The reference and the version enter the tag; the version is checked when it builds.
 */
export function fromNodeBase(options: NodeBaseOptions = {}): Image {
  const { nodeVersion, ...rest } = options;
  const version = nodeVersion ?? DEFAULT_NODE_VERSION;
  const problem = typeof version === "string" ? checkNodeVersion(version) : "a Node.js version is a string";
  if (problem !== undefined) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot create an image from the Node.js base: nodeVersion = ${JSON.stringify(version)}: ${problem}`, {
      field: "nodeVersion",
      value: version,
      hint: 'Write it as a string, e.g. nodeVersion: "22".',
    });
  }
  return Image.fromBase(nodeBaseImage(version), rest).withLayer(nodeVersionLayer, { version });
}

/** The Node.js version an image states (its last `nodeVersion` layer, here or in its Image bases), if any. */
export function statedNodeVersion(image: Image): string | undefined {
  for (let current: Image | undefined = image; current !== undefined; current = current.base.type === "image" ? current.base.image : undefined) {
    const layer = [...current.layers].reverse().find((l) => l.kind === "nodeVersion");
    if (layer !== undefined) return layer.version as string;
  }
  return undefined;
}
