/**
 * Identity, as docs/hashing.md specifies (hash contract v2):
 *
 * - `id`: sha256 of the canonical definition alone (base reference or base id, Python, platforms, builder
 *   options, every layer's hashed view). No file contents, no registry, no name.
 * - `tag`: sha256 over the list of tag inputs, each `[name, digest]`: the base's identity (a base Image's own
 *   spec hash, recursively), Python, platforms, builder options, every layer, and every file or folder a layer
 *   reads (by what enters the image: contents, modes, destination; never where they come from). Shortened to 26
 *   base32 characters and placed in `tagFormat`.
 * - `uri`: `<registry>/<name>:<tag>`.
 *
 * Keeping the tag a hash of named input digests is what lets `explain` show why a tag is what it is.
 */

import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { canonicalJson, sha256Hex, shortHash } from "./canonical.js";
import { ImageSpecError, showValue } from "./errors.js";
import { defaultFileHasher, type FileHasher, type FolderEntry, type FolderSelection, fileDigest, fileErrorReason, type IgnoreFile } from "./files.js";
import type { Image } from "./image.js";
import { type Layer, layerDefinition, layerFields } from "./layer.js";
import { NATIVE_PLATFORM } from "./platform.js";
import { normalizeImageReference } from "./reference.js";

/** Bump when the way tags are computed changes; it salts both hashes. */
export const HASH_CONTRACT_VERSION = 2;
const ID_SALT = `imagespec/id/v${HASH_CONTRACT_VERSION}`;
const TAG_SALT = `imagespec/tag/v${HASH_CONTRACT_VERSION}`;

export interface TagInput {
  /** `base`, `python`, `platforms`, `builderOptions`, `layers[2].pipPackages`, `layers[3].requirements.file`, ... */
  readonly name: string;
  /** sha256 (hex) of this input. */
  readonly digest: string;
  /** What it is, for people: a reference, a path, a summary. */
  readonly detail?: string;
  /** For folders and files: each selected file with its own digest, so a change can be pinned to one file. */
  readonly files?: readonly FolderEntry[];
  /** For folders and files: what was read, so a builder sends exactly `files` (see `hashedInput`). */
  readonly source?: HashedSource;
}

/** A file or folder a layer reads, as the identity read it. */
export interface HashedSource {
  /** POSIX path relative to the image root, as the layer names it. */
  readonly path: string;
  readonly type: "file" | "folder";
  /** For folders: which files were selected. */
  readonly select?: "all" | "tracked";
}

export interface ImageIdentity {
  readonly id: string;
  readonly tag: string;
  readonly uri: string;
  /** Full sha256 behind the tag; a child image's `base` input is its base's spec hash. */
  readonly specHash: string;
  readonly inputs: readonly TagInput[];
}

const ids = new WeakMap<Image, string>();
const identities = new WeakMap<Image, Promise<ImageIdentity>>();

/** The hashed view of a layer: its kind and what its definition says enters the hash. */
function layerView(layer: Layer): unknown {
  const definition = layerDefinition(layer);
  const fields = layerFields(layer);
  return { kind: layer.kind, fields: definition.identity ? definition.identity(fields) : fields };
}

function baseReference(uri: string): string {
  return normalizeImageReference(uri) ?? uri;
}

export function imageId(image: Image): string {
  let id = ids.get(image);
  if (id === undefined) {
    const base = image.base;
    const definition = {
      base:
        base.type === "image"
          ? { type: "image", id: base.image.id }
          : base.type === "dockerfile"
            ? { type: "dockerfile", dockerfile: base.dockerfile, context: base.context }
            : { type: "reference", uri: baseReference(base.uri) },
      python: pythonView(image),
      // As written: a definition with `native` keeps its id wherever it is built (isContainer compares it).
      platforms: [...image.declaredPlatforms].sort(),
      builderOptions: image.builderOptions,
      layers: image.layers.map(layerView),
    };
    id = shortHash(sha256Hex(canonicalJson({ salt: ID_SALT, definition })));
    ids.set(image, id);
  }
  return id;
}

function pythonView(image: Image): unknown {
  if (image.pythonVersion === undefined && image.pythonExec === undefined) return undefined;
  return { version: image.pythonVersion, exec: image.pythonExec };
}

const digestOf = (value: unknown) => sha256Hex(canonicalJson(value));

/** Computes (once per Image instance) every tag input, the tag and the URI. */
export function computeIdentity(image: Image, hasher: FileHasher = defaultFileHasher()): Promise<ImageIdentity> {
  let pending = identities.get(image);
  if (!pending) {
    pending = compute(image, hasher);
    identities.set(image, pending);
    // A failure (a missing file, say) must not stick: the next call retries after the user fixes it.
    pending.catch(() => identities.delete(image));
  }
  return pending;
}

async function compute(image: Image, hasher: FileHasher): Promise<ImageIdentity> {
  if (image.hasNativePlatform) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot compute the tag of ${image.name}: its platform "native" is the build engine's own, which is not resolved yet`,
      {
        field: "platform",
        value: NATIVE_PLATFORM,
        hint: "Let an ImageBuildEngine resolve it (imagespec build, tag, explain and exists do: engine.resolvePlatforms(image)), or name the platform, e.g. linux/arm64.",
      },
    );
  }
  const inputs: TagInput[] = [];
  const base = image.base;
  if (base.type === "image") {
    const parent = await computeIdentity(base.image, hasher);
    inputs.push({ name: "base", digest: parent.specHash, detail: parent.uri });
  } else if (base.type === "dockerfile") {
    const dockerfilePath = path.resolve(image.root, base.dockerfile);
    await assertInsideRoot(image.root, base.dockerfile, "dockerfile");
    await assertInsideRoot(image.root, base.context, "context");
    const dockerfile = await hasher.hashFile(dockerfilePath).catch((e) => rethrowMissing(e, "dockerfile", base.dockerfile, image.root));
    const context = await hasher
      .hashFolder(path.resolve(image.root, base.context), await dockerfileContextSelection(dockerfilePath, base.dockerfile))
      .catch((e) => rethrowMissing(e, "context", base.context, image.root));
    // The paths are part of the image id, which the image carries (IMAGESPEC_IMAGE_ID): so they count here too.
    inputs.push({
      name: "base",
      digest: digestOf({ type: "dockerfile", dockerfile: base.dockerfile, context: base.context }),
      detail: `${base.dockerfile} in ${base.context}`,
    });
    inputs.push({
      name: "base.dockerfile",
      digest: fileDigest(dockerfile.entries[0]!, { mode: false }),
      detail: base.dockerfile,
      files: dockerfile.entries,
      source: { path: base.dockerfile, type: "file" },
    });
    inputs.push({
      name: "base.context",
      digest: context.digest,
      detail: base.context,
      files: context.entries,
      source: { path: base.context, type: "folder", select: "all" },
    });
  } else {
    const uri = baseReference(base.uri);
    inputs.push({ name: "base", digest: digestOf({ uri }), detail: uri });
  }
  const python = pythonView(image);
  if (python !== undefined) inputs.push({ name: "python", digest: digestOf(python), detail: image.pythonVersion ?? image.pythonExec });
  const native = image.nativePlatform;
  inputs.push({
    name: "platforms",
    digest: digestOf([...image.platforms].sort()),
    detail: `${image.platforms.join(",")}${native ? ` (native: ${native.platform} of ${native.source})` : ""}`,
  });
  if (image.builderOptions !== undefined)
    inputs.push({ name: "builderOptions", digest: digestOf(image.builderOptions), detail: canonicalJson(image.builderOptions) });

  const ignoreFiles = await imageIgnoreFiles(image);
  const fileInputs = image.layers.map(async (layer, i) => {
    const name = `layers[${i}].${layer.kind}`;
    const own: TagInput = { name, digest: digestOf(layerView(layer)), detail: summarize(layer) };
    const files: TagInput[] = [];
    for (const input of layerDefinition(layer).inputs?.(layer) ?? []) {
      const abs = path.resolve(image.root, input.path);
      const field = `${name}.${input.field}`;
      await assertInsideRoot(image.root, input.path, field);
      const kind = input.type === "auto" ? await detectType(abs, field, input.path) : input.type;
      if (kind === "file") {
        const hashed = await hasher.hashFile(abs).catch((e) => rethrowMissing(e, field, input.path, image.root));
        // A copied file counts by its bytes and mode (and its name, where it keeps it); a file only read, by its bytes.
        const digest = fileDigest(hashed.entries[0]!, {
          mode: !input.readOnly,
          name: input.keepsName && !input.readOnly ? path.posix.basename(input.path) : undefined,
        });
        files.push({ name: field, digest, detail: input.path, files: hashed.entries, source: { path: input.path, type: "file" } });
      } else {
        const select = input.select ?? "all";
        // A layer's own exclusions (`exclude`) apply on top of the image's ignore files, as one more ignore list.
        const hashed = await hasher
          .hashFolder(abs, { select, ignoreFiles, ...(input.exclude?.length && { ignorePatterns: input.exclude }) })
          .catch((e) => rethrowMissing(e, field, input.path, image.root));
        files.push({ name: field, digest: hashed.digest, detail: input.path, files: hashed.entries, source: { path: input.path, type: "folder", select } });
      }
    }
    return [own, ...files];
  });
  for (const group of await Promise.all(fileInputs)) inputs.push(...group);
  await hasher.flush();

  const specHash = sha256Hex(canonicalJson({ salt: TAG_SALT, inputs: inputs.map((i) => [i.name, i.digest]) }));
  const tag = image.tagFormat.replaceAll("{spec_hash}", shortHash(specHash));
  const uri = image.registry ? `${image.registry}/${image.name}:${tag}` : `${image.name}:${tag}`;
  return Object.freeze({ id: image.id, tag, uri, specHash, inputs: Object.freeze(inputs) });
}

/**
 * Every `withDockerignore` file of the image, applied (each on its own) to each folder it copies. Builders never
 * apply them again: they send the entries the identity selected.
 */
export async function imageIgnoreFiles(image: Image): Promise<IgnoreFile[]> {
  const files: IgnoreFile[] = [];
  for (const [i, layer] of image.layers.entries()) {
    if (layer.kind !== "dockerignore") continue;
    const file = String(layer.file);
    try {
      await assertInsideRoot(image.root, file, `layers[${i}].dockerignore.file`);
      files.push({ name: file, text: await readFile(path.resolve(image.root, file), "utf8") });
    } catch (error) {
      rethrowMissing(error, `layers[${i}].dockerignore.file`, file, image.root);
    }
  }
  return files;
}

/** Patterns of every `withDockerignore` file of the image, in order (see `imageIgnoreFiles`). */
export async function imageIgnorePatterns(image: Image): Promise<string[]> {
  return (await imageIgnoreFiles(image)).flatMap((file) => file.text.split(/\r?\n/));
}

/**
 * A Dockerfile's context as BuildKit selects it: `<Dockerfile>.dockerignore` next to the Dockerfile, when it exists,
 * instead of the context's `.dockerignore`; no `.gitignore` (Docker does not read them).
 */
async function dockerfileContextSelection(dockerfilePath: string, dockerfile: string): Promise<FolderSelection> {
  const own = `${dockerfilePath}.dockerignore`;
  const text = await readFile(own, "utf8").catch(() => undefined);
  return { gitignore: false, ...(text !== undefined && { dockerignore: { name: `${dockerfile}.dockerignore`, text } }) };
}

/**
 * The hashed entries of a file or folder one of the image's layers reads: exactly what its tag was computed from, so
 * a builder sends those and nothing else (reading bytes through `readHashedFile`). `localPath` is relative to the image
 * root, as the layer names it. A path the layers did not declare as an input is refused: it would not be in the tag.
 */
export function hashedInput(
  image: Image,
  identity: ImageIdentity,
  localPath: string,
  options: { readonly type?: "file" | "folder"; readonly select?: "all" | "tracked" } = {},
): { readonly absolutePath: string; readonly type: "file" | "folder"; readonly entries: readonly FolderEntry[] } {
  const wanted = path.resolve(image.root, localPath);
  for (const input of identity.inputs) {
    const source = input.source;
    if (!source || !input.files || path.resolve(image.root, source.path) !== wanted) continue;
    if (options.type !== undefined && options.type !== source.type) continue;
    if (source.type === "folder" && (options.select ?? "all") !== (source.select ?? "all")) continue;
    return { absolutePath: wanted, type: source.type, entries: input.files };
  }
  throw new ImageSpecError(
    "PLUGIN_ERROR",
    `Cannot send ${JSON.stringify(localPath)} to the build of ${image.name}: no layer declares it as an input, so it is not part of the tag`,
    {
      value: localPath,
      hint: "A layer must list every file or folder it sends in its definition's inputs() (with the same select), so that its bytes enter the tag.",
    },
  );
}

async function detectType(abs: string, field: string, rel: string): Promise<"file" | "folder"> {
  try {
    return (await stat(abs)).isDirectory() ? "folder" : "file";
  } catch (error) {
    return rethrowMissing(error, field, rel, path.dirname(abs));
  }
}

function rethrowMissing(error: unknown, field: string, rel: string, root: string): never {
  const errno = (error as { code?: unknown } | undefined)?.code;
  const why = typeof errno === "string" && !(error instanceof ImageSpecError) ? fileErrorReason(errno) : undefined;
  if (why !== undefined) {
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot hash ${field} = ${showValue(rel)}: ${why}`, {
      field,
      value: rel,
      hint: `Relative paths are relative to ${root}.`,
      cause: error,
    });
  }
  if ((error as { code?: string })?.code === "FILE_NOT_FOUND") {
    const inner = error as ImageSpecError;
    throw new ImageSpecError("FILE_NOT_FOUND", `Cannot hash ${field} = ${JSON.stringify(rel)}: ${inner.message.replace(/^Cannot [^:]*: /, "")}`, {
      field,
      value: rel,
      hint: inner.hint ?? `Relative paths are relative to ${root}.`,
      cause: error,
    });
  }
  throw error;
}

/**
 * A definition reads only what is inside its root: a path a layer names, followed through symbolic links, must stay
 * in the root (for a path the fluent API names outside it with `..`, in the folder that holds that path). A link that
 * leads out is refused, never read through: building an untrusted checkout must not put the build machine's files into
 * an image. Links inside a copied folder are copied as links (never followed), as Docker's COPY copies them.
 */
async function assertInsideRoot(root: string, rel: string, field: string): Promise<void> {
  const abs = path.resolve(root, rel);
  const boundary = isInside(abs, root) ? root : path.dirname(abs);
  let real: string;
  let realBoundary: string;
  try {
    [real, realBoundary] = await Promise.all([realpath(abs), realpath(boundary)]);
  } catch {
    return; // missing: hashing says so, naming the field
  }
  if (isInside(real, realBoundary)) return;
  throw new ImageSpecError(
    "INVALID_SPEC",
    `Cannot read ${field} = ${showValue(rel)}: a symbolic link on its path leads outside ${boundary === root ? "the root" : showValue(boundary)}, to ${showValue(real)}`,
    {
      field,
      value: rel,
      hint:
        "imagespec never reads through a link that leaves the root (building an untrusted checkout must not copy the build machine's files into an image). " +
        "Put the files inside the root, or name their real location. Links inside a copied folder are copied as links, as Docker's COPY does.",
    },
  );
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel)) || (rel.startsWith("..") && !/^\.\.(?:[\\/]|$)/.test(rel));
}

function summarize(layer: Layer): string {
  const fields = layerFields(layer);
  const text = canonicalJson(fields);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
