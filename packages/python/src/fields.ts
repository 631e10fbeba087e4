/** Field schemas shared by the layer kinds, built on core's grammars so values are checked the way core checks its own. */

import path from "node:path";
import { grammar, ImageSpecError, type SecretMount, type SshMount } from "@imagespec/core";
import { z } from "zod";

export function grammarString(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });
}

export const localPath = grammarString(grammar.checkImagePath);
export const imagePath = grammarString(grammar.checkImagePath);
export const shellArgument = grammarString(grammar.checkShellArgument);
export const indexUrl = grammarString(grammar.checkIndexUrl);
export const pep508 = grammarString(grammar.checkPep508);
/** A helper image (where uv comes from): Docker's reference grammar, as core checks every image reference. */
export const imageReference = grammarString(grammar.checkImageReference);

/** Core's secret mount: an id (value from the local variable of that name), or `{ id, src | env, target?, asEnv? }`. */
export const secretMountSchema = z.union([
  grammarString(grammar.checkSecretId).transform((id): SecretMount => ({ id, env: id })),
  z
    .object({
      id: grammarString(grammar.checkSecretId),
      src: localPath.optional(),
      env: grammarString(grammar.checkEnvName).optional(),
      target: grammarString(grammar.checkMountTarget).optional(),
      asEnv: grammarString(grammar.checkEnvName).optional(),
    })
    .strict()
    .refine((m) => !(m.src !== undefined && m.env !== undefined), { message: "a secret comes from either src (a file) or env (a variable), not both" }),
]);

/** What enters the hash for secret mounts: how the secret appears in the build, never where its value comes from. */
export function secretIdentity(mounts: readonly SecretMount[] | undefined) {
  if (!mounts) return undefined;
  return [...mounts].map((m) => ({ id: m.id, target: m.target, asEnv: m.asEnv })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Core's SSH mount: an id (the agent at SSH_AUTH_SOCK), or `{ id?, keys?, target? }` (`id` defaults to `default`). */
export const sshMountSchema = z.union([
  grammarString(grammar.checkSshId).transform((id): SshMount => ({ id })),
  z
    .object({ id: grammarString(grammar.checkSshId).optional(), keys: z.array(localPath).min(1).optional(), target: imagePath.optional() })
    .strict()
    .transform((m): SshMount => ({ ...m, id: m.id ?? "default" })),
]);

/** What enters the hash for SSH mounts: how the agent appears in the step (id, socket path), never which keys it holds. */
export function sshIdentity(mounts: readonly SshMount[] | undefined) {
  if (!mounts) return undefined;
  return [...mounts].map((m) => ({ id: m.id, target: m.target })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export const installModeSchema = z.enum(["dependencies", "project"]);
export const installerSchema = z.enum(["uv", "pip"]);

/** A local path as layers store it: relative to the image root, with `/` separators. */
export function relativeTo(root: string, file: unknown, field: string): string {
  if (typeof file !== "string" || file.length === 0 || /[\0\r\n]/.test(file)) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot use path ${JSON.stringify(file)}: ${field} must be a non-empty path without newlines`, { field, value: file });
  }
  const rel = path.relative(root, path.resolve(root, file)).split(path.sep).join("/");
  return rel === "" ? "." : rel;
}

/** The folder a relative file is in (`.` for the root). */
export function folderOf(rel: string): string {
  return path.posix.dirname(rel);
}
