/**
 * SSH host key checking against an OpenSSH known_hosts file, as `ssh` does with StrictHostKeyChecking: an engine whose
 * host key is not listed, or differs, is refused (every ssh:// engine, whichever builder connects). Understands plain and hashed (`|1|salt|hash`) host names,
 * `[host]:port`, patterns with `*`, `?` and `!`, and `@revoked` lines; `@cert-authority` lines are not used.
 */

import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";

export interface HostVerifier {
  (key: Buffer): boolean;
  /** Why the last key was refused. */
  refusal: string | undefined;
}

/** ssh's name for a host in known_hosts: `host`, or `[host]:port` for another port than 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcard(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return regex.test(name);
}

function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith("|1|")) {
    const [, , salt, hash] = patterns.split("|");
    if (salt === undefined || hash === undefined) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(",")) {
    if (pattern.startsWith("!")) {
      if (wildcard(pattern.slice(1), name)) return false;
    } else if (wildcard(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** A host verifier for ssh2 that accepts exactly the keys known_hosts lists for the host. */
export async function knownHostsVerifier(file: string, host: string, port: number): Promise<HostVerifier> {
  const name = knownHostsName(host, port);
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error)));
  const known: string[] = [];
  const revoked: string[] = [];
  for (const raw of (text ?? "").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
    const [patterns, , key] = fields;
    if (patterns === undefined || key === undefined) continue;
    if (marker === "@revoked") revoked.push(key);
    else if (marker === undefined && hostMatches(patterns, name)) known.push(key);
  }
  const addHint = `add it with \`ssh-keyscan${port === 22 ? "" : ` -p ${port}`} ${host} >> ${file}\` (after checking its fingerprint), or connect once with ssh`;
  const verifier = ((key: Buffer) => {
    const presented = key.toString("base64");
    if (revoked.includes(presented)) verifier.refusal = `its SSH host key is marked @revoked in ${file}`;
    else if (known.includes(presented)) verifier.refusal = undefined;
    else if (text === undefined) verifier.refusal = `its SSH host key cannot be checked: ${file} does not exist; ${addHint}`;
    else if (known.length === 0) verifier.refusal = `its SSH host key is not in ${file} (no entry for ${name}); ${addHint}`;
    else verifier.refusal = `its SSH host key does not match the one ${file} lists for ${name}: the host changed its key, or someone is in the middle`;
    return verifier.refusal === undefined;
  }) as HostVerifier;
  verifier.refusal = undefined;
  return verifier;
}
