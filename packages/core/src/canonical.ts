/**
 * Canonical JSON and the short hash text. JSON quotes and escapes every string and names every field, so no two
 * different definitions can run together into the same bytes; sorting keys makes the text independent of the order
 * fields were written in. `undefined` fields are dropped, so an absent optional field and a missing one agree.
 */

import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value, "$"));
}

function canonicalize(value: unknown, where: string): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`Cannot hash ${where}: ${value} is not a finite number`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => (item === undefined ? null : canonicalize(item, `${where}[${i}]`)));
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      throw new TypeError(`Cannot hash ${where}: only plain objects, arrays, strings, numbers and booleans can be hashed`);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v, `${where}.${key}`);
    }
    return out;
  }
  throw new TypeError(`Cannot hash ${where}: a ${typeof value} cannot be part of a definition`);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * The first 130 bits of a sha256, as 26 characters of lowercase RFC 4648 base32: a valid tag by itself
 * (`[a-z2-7]`, never starting with `.` or `-`) and short enough to read.
 */
export function shortHash(hexDigest: string): string {
  const bytes = Buffer.from(hexDigest, "hex");
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
      if (out.length === 26) return out;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}
