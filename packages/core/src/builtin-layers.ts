/**
 * The layer kinds core owns. Builders render these; layer packages add their own kinds with `defineLayer`.
 * Every schema is strict (misspelled fields are errors) and leaves optional fields absent rather than
 * defaulted, so that adding an optional field later does not change existing tags.
 */

import * as z from "zod";
import {
  checkAptPackage,
  checkCommand,
  checkCondaChannel,
  checkCondaPackage,
  checkCudaVersion,
  checkCudnnVersion,
  checkEnvName,
  checkEnvValue,
  checkImagePath,
  checkImageReference,
  checkIndexUrl,
  checkMountTarget,
  checkPep508,
  checkPipRequirement,
  checkSecretId,
  checkShellArgument,
  checkSshId,
} from "./grammar.js";
import { defineBuiltinLayer, hasBuiltinDefinition, type Layer } from "./layer.js";
import { grammarString } from "./validation.js";

// Field schemas for layer kinds (core's and layer packages', through @imagespec/core/authoring): each runs one of the
// real grammars, so a plugin's fields are checked exactly as core checks its own.
export const envName = grammarString(checkEnvName);
/** A path in the image. */
export const imagePath = grammarString(checkImagePath);
/** A path on the build machine, stored relative to the image root with `/` separators (see `relativeTo`). */
export const localPath = grammarString(checkImagePath);
export const pep508 = grammarString(checkPep508);
/** What pip installs: PEP 508, or a bare VCS / archive URL. */
export const pipRequirement = grammarString(checkPipRequirement);
/** A package index URL (pip's `--index-url`, uv's indexes). */
export const indexUrl = grammarString(checkIndexUrl);
/** One argument for an installer's command line. */
export const shellArgument = grammarString(checkShellArgument);
/** An image reference in Docker's grammar (a helper image a layer copies from). */
export const imageReference = grammarString(checkImageReference);

/**
 * A BuildKit secret made available to one RUN step. Its value comes from a local file (`src`) or a local
 * environment variable (`env`); it is mounted at `target` (default `/run/secrets/<id>`) or exposed as the
 * environment variable `asEnv` for that step only. Never an ARG or ENV, never in the hash, the log or a layer.
 */
export interface SecretMount {
  readonly id: string;
  readonly src?: string;
  readonly env?: string;
  readonly target?: string;
  readonly asEnv?: string;
}

export const secretMountSchema = z.union([
  grammarString(checkSecretId).transform((id): SecretMount => ({ id, env: id })),
  z
    .object({
      id: grammarString(checkSecretId),
      src: localPath.optional(),
      env: envName.optional(),
      target: grammarString(checkMountTarget).optional(),
      asEnv: envName.optional(),
    })
    .strict()
    .refine((m) => !(m.src !== undefined && m.env !== undefined), { message: "a secret comes from either src (a file) or env (a variable), not both" }),
]);

/** What enters the hash for secret mounts: how the secret appears in the build, never where its value comes from. */
export function secretIdentity(mounts: readonly SecretMount[] | undefined) {
  if (!mounts) return undefined;
  return [...mounts].map((m) => ({ id: m.id, target: m.target, asEnv: m.asEnv })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * An SSH agent forwarded to one RUN step (`RUN --mount=type=ssh`), e.g. for `git+ssh://` dependencies. The agent is
 * the one `SSH_AUTH_SOCK` names when the build runs, or one holding only the given key files (`keys`, paths on the
 * build machine). The step sees a socket at `target` (default BuildKit's, with `SSH_AUTH_SOCK` pointing at it); the
 * keys never reach the image, and where they come from never enters the tag.
 */
export interface SshMount {
  /** The forward's id; `default` when not given. */
  readonly id: string;
  readonly keys?: readonly string[];
  readonly target?: string;
}

/** BuildKit's id for an SSH mount that names none. */
export const DEFAULT_SSH_ID = "default";

export const sshMountSchema = z.union([
  grammarString(checkSshId).transform((id): SshMount => ({ id })),
  z
    .object({
      id: grammarString(checkSshId).optional(),
      keys: z.array(localPath).min(1).optional(),
      target: imagePath.optional(),
    })
    .strict()
    .transform((m): SshMount => ({ ...m, id: m.id ?? DEFAULT_SSH_ID })),
]);

/** What enters the hash for SSH mounts: how the agent appears in the step (id, socket path), never which keys it holds. */
export function sshIdentity(mounts: readonly SshMount[] | undefined) {
  if (!mounts) return undefined;
  return [...mounts].map((m) => ({ id: m.id, target: m.target })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const sorted = (list: readonly string[] | undefined) => (list ? [...list].sort() : undefined);

const pipOptionFields = {
  indexUrl: indexUrl.optional(),
  extraIndexUrls: z.array(indexUrl).optional(),
  pre: z.boolean().optional(),
  extraArgs: z.array(shellArgument).optional(),
  secretMounts: z.array(secretMountSchema).optional(),
  sshMounts: z.array(sshMountSchema).optional(),
};

export const pipPackagesLayer = defineBuiltinLayer({
  kind: "pipPackages",
  description: "Python packages installed with pip (PEP 508 specifiers, exactly as written).",
  schema: z.object({ packages: z.array(pipRequirement).min(1), ...pipOptionFields }).strict(),
  identity: (f) => ({ ...f, packages: sorted(f.packages), secretMounts: secretIdentity(f.secretMounts), sshMounts: sshIdentity(f.sshMounts) }),
});

export const requirementsLayer = defineBuiltinLayer({
  kind: "requirements",
  description: "A pip requirements file, installed with pip.",
  schema: z
    .object({
      file: localPath.refine((p) => p.toLowerCase().endsWith(".txt"), { message: "a requirements file must be a .txt file" }),
      ...pipOptionFields,
    })
    .strict(),
  inputs: (f) => [{ field: "file", path: f.file, type: "file", readOnly: true }],
  // Where the file comes from does not change the image: its contents (the input) do.
  identity: (f) => ({ ...f, file: undefined, secretMounts: secretIdentity(f.secretMounts), sshMounts: sshIdentity(f.sshMounts) }),
});

export const aptPackagesLayer = defineBuiltinLayer({
  kind: "aptPackages",
  description: "Debian packages installed with apt-get.",
  schema: z.object({ packages: z.array(grammarString(checkAptPackage)).min(1), secretMounts: z.array(secretMountSchema).optional() }).strict(),
  identity: (f) => ({ ...f, packages: sorted(f.packages), secretMounts: secretIdentity(f.secretMounts) }),
});

export const condaPackagesLayer = defineBuiltinLayer({
  kind: "condaPackages",
  description: "Conda packages, installed with micromamba from the given channels (channel order is priority order).",
  schema: z.object({ packages: z.array(grammarString(checkCondaPackage)).min(1), channels: z.array(grammarString(checkCondaChannel)).optional() }).strict(),
  identity: (f) => ({ ...f, packages: sorted(f.packages) }),
});

/** A COPY destination names a folder when it is `.` or ends with `/`: a file copied there keeps its own name. */
export function isFolderDestination(destination: string): boolean {
  return destination === "." || destination.endsWith("/") || destination.endsWith("/.");
}

export const copyLayer = defineBuiltinLayer({
  kind: "copy",
  description: "A file or folder copied into the image.",
  schema: z.object({ src: localPath, dst: imagePath, type: z.enum(["file", "folder", "auto"]) }).strict(),
  inputs: (f) => [{ field: "src", path: f.src, type: f.type, keepsName: isFolderDestination(f.dst) }],
  // What enters the image is the destination and the input's contents and modes, not where they come from.
  identity: (f) => ({ dst: f.dst }),
});

export const codeBundleLayer = defineBuiltinLayer({
  kind: "codeBundle",
  description: "The project's source, copied into the image, or shipped separately in fast mode.",
  codeBundle: true,
  schema: z.object({ src: localPath, dst: imagePath, select: z.enum(["all", "tracked"]) }).strict(),
  inputs: (f) => [{ field: "src", path: f.src, type: "folder", select: f.select }],
  identity: (f) => ({ dst: f.dst }),
});

export const dockerignoreLayer = defineBuiltinLayer({
  kind: "dockerignore",
  description: "An ignore file (.dockerignore syntax) applied to every folder this image copies.",
  schema: z.object({ file: localPath }).strict(),
  inputs: (f) => [{ field: "file", path: f.file, type: "file", readOnly: true }],
  identity: () => ({}),
});

export const envLayer = defineBuiltinLayer({
  kind: "env",
  description: "Environment variables set in the image, values exactly as written.",
  schema: z
    .object({ vars: z.record(envName, grammarString(checkEnvValue)).refine((v) => Object.keys(v).length > 0, { message: "expected at least one variable" }) })
    .strict(),
});

export const workdirLayer = defineBuiltinLayer({
  kind: "workdir",
  description: "The working directory for the following layers and for the container.",
  schema: z.object({ path: imagePath }).strict(),
});

export const commandsLayer = defineBuiltinLayer({
  kind: "commands",
  description: "Shell commands run in order, one step each.",
  schema: z
    .object({
      commands: z.array(grammarString(checkCommand)).min(1),
      secretMounts: z.array(secretMountSchema).optional(),
      sshMounts: z.array(sshMountSchema).optional(),
    })
    .strict(),
  identity: (f) => ({ ...f, secretMounts: secretIdentity(f.secretMounts), sshMounts: sshIdentity(f.sshMounts) }),
});

export const entrypointLayer = defineBuiltinLayer({
  kind: "entrypoint",
  description: "The container's entrypoint, in exec form; an empty list removes the base image's entrypoint.",
  schema: z.object({ command: z.array(z.string().refine((s) => !s.includes("\0"), { message: "cannot contain NUL" })) }).strict(),
});

export const runtimePackagesLayer = defineBuiltinLayer({
  kind: "runtimePackages",
  description: "Python packages installed with pip when the container starts (pip must be in the image).",
  schema: z.object({ packages: z.array(pipRequirement).min(1) }).strict(),
  identity: (f) => ({ ...f, packages: sorted(f.packages) }),
});

export const cudaLayer = defineBuiltinLayer({
  kind: "cuda",
  description: "CUDA (and optionally cuDNN) from an NVIDIA base.",
  schema: z.object({ cuda: grammarString(checkCudaVersion), cudnn: grammarString(checkCudnnVersion).optional() }).strict(),
});

/** Every kind core owns, by kind. */
export const builtinLayers = {
  pipPackages: pipPackagesLayer,
  requirements: requirementsLayer,
  aptPackages: aptPackagesLayer,
  condaPackages: condaPackagesLayer,
  copy: copyLayer,
  codeBundle: codeBundleLayer,
  dockerignore: dockerignoreLayer,
  env: envLayer,
  workdir: workdirLayer,
  commands: commandsLayer,
  entrypoint: entrypointLayer,
  runtimePackages: runtimePackagesLayer,
  cuda: cudaLayer,
} as const;

export type BuiltinLayerKind = keyof typeof builtinLayers;

/** The built-in kind a layer is, from whichever copy of core created it; undefined for a plugin's kind. */
export function builtinKindOf(layer: Layer): BuiltinLayerKind | undefined {
  return Object.hasOwn(builtinLayers, layer.kind) && hasBuiltinDefinition(layer) ? (layer.kind as BuiltinLayerKind) : undefined;
}

export type PipOptions = {
  indexUrl?: string;
  extraIndexUrls?: readonly string[];
  pre?: boolean;
  extraArgs?: readonly string[];
  secretMounts?: readonly SecretMountInput[];
  sshMounts?: readonly SshMountInput[];
};
/** An SSH mount as users write it: an id (the agent at SSH_AUTH_SOCK), or `{ id?, keys?, target? }`. */
export type SshMountInput = string | { id?: string; keys?: readonly string[]; target?: string };
/** A secret mount as users write it: an id (value from the local env var of that name) or the full form. */
export type SecretMountInput = string | { id: string; src?: string; env?: string; target?: string; asEnv?: string };
