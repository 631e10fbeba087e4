/**
 * OCI annotations as image labels: where the source is (`source`), which commit (`revision`) and when
 * (`created`, only from SOURCE_DATE_EPOCH so builds stay reproducible). They are passed to the build, not written
 * in the Dockerfile, and never enter the tag.
 */

import type { Image } from "@imagespec/core";
import { execa } from "execa";

/** A git remote as a browsable https URL, without credentials; undefined for anything else (a local path). */
export function publicSourceUrl(remote: string): string | undefined {
  const trimmed = remote.trim();
  const scp = /^(?:[\w.-]+@)?([\w.-]+):(?!\/\/)(.+)$/.exec(trimmed);
  let url: URL;
  try {
    url = scp ? new URL(`https://${scp[1]}/${scp[2]}`) : new URL(trimmed);
  } catch {
    return undefined;
  }
  if (!["https:", "http:", "ssh:", "git:"].includes(url.protocol)) return undefined;
  const pathname = url.pathname.replace(/\.git$/, "").replace(/\/+$/, "");
  if (!url.hostname || !pathname) return undefined;
  return `https://${url.hostname}${pathname}`;
}

async function git(root: string, args: string[]): Promise<string | undefined> {
  const result = await execa("git", args, { cwd: root, reject: false, timeout: 10_000, stdin: "ignore" });
  return result.exitCode === 0 ? String(result.stdout).trim() || undefined : undefined;
}

export async function ociLabels(
  image: Image,
  extra: Readonly<Record<string, string>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const labels: Record<string, string> = {};
  const [remote, revision] = await Promise.all([git(image.root, ["remote", "get-url", "origin"]), git(image.root, ["rev-parse", "HEAD"])]);
  const source = remote === undefined ? undefined : publicSourceUrl(remote);
  if (source !== undefined) labels["org.opencontainers.image.source"] = source;
  if (revision !== undefined && /^[0-9a-f]{40,64}$/.test(revision)) labels["org.opencontainers.image.revision"] = revision;
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) labels["org.opencontainers.image.created"] = new Date(Number(epoch) * 1000).toISOString();
  return { ...labels, ...extra };
}
