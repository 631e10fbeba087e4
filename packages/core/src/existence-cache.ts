/**
 * Remembered `present` answers: a registry said a tag exists (with its digest), so for a short while (the TTL) the
 * next `build` of the same URI does not ask again. A dev loop of builds then costs no registry round trip for the
 * images that did not change. Only `present` is remembered: `absent` and `unknown` are always asked again, so an
 * image is never skipped because of an old "no". The answers live in one small file in the cache folder, read once
 * and written once per engine run; a damaged or unwritable file costs a request, never correctness.
 */

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ImageSpecError } from "./errors.js";

/** How long a `present` answer is trusted by default: long enough for an edit-build loop, short enough to notice a deleted tag soon. */
export const DEFAULT_EXISTENCE_TTL_S = 300;
const FILE = "existence-v1.json";
/** Entries kept at most (the most recent). */
const MAX_ENTRIES = 2_000;

/** A multi-platform tag's answer keeps each platform's manifest (the outcome reports them). */
type Platforms = readonly { readonly platform: string; readonly digest: string }[];
type Entry = [digest: string | null, answeredAtMs: number, platforms?: Platforms];

export class ExistenceCache {
  readonly #file: string | undefined;
  readonly #ttlMs: number;
  #entries: Map<string, Entry> | undefined;
  #changed = false;

  constructor(options: { readonly dir: string | undefined; readonly ttlMs: number }) {
    this.#file = options.dir ? path.join(options.dir, FILE) : undefined;
    this.#ttlMs = options.ttlMs;
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  /** A `present` answer for `uri` no older than the TTL, with when it was given. */
  get(uri: string, now = Date.now()): { digest: string | undefined; platforms: Platforms | undefined; ageMs: number } | undefined {
    if (!this.enabled) return undefined;
    const entry = this.#load().get(uri);
    if (!entry) return undefined;
    const ageMs = now - entry[1];
    if (ageMs < 0 || ageMs >= this.#ttlMs) return undefined;
    return { digest: entry[0] ?? undefined, platforms: entry[2], ageMs };
  }

  /** Remembers that `uri` is present (the only answer ever remembered). */
  rememberPresent(uri: string, digest: string | undefined, platforms?: Platforms, now = Date.now()): void {
    if (!this.enabled) return;
    const entries = this.#load();
    entries.delete(uri);
    entries.set(
      uri,
      platforms && platforms.length > 0 ? [digest ?? null, now, platforms.map(({ platform, digest }) => ({ platform, digest }))] : [digest ?? null, now],
    );
    this.#changed = true;
  }

  /** Forgets `uri` (it was just found absent). */
  forget(uri: string): void {
    if (this.enabled && this.#load().delete(uri)) this.#changed = true;
  }

  /** Writes the file when something changed: expired entries dropped, at most MAX_ENTRIES kept. */
  flush(now = Date.now()): void {
    if (!this.#changed || !this.#file || !this.#entries) return;
    this.#changed = false;
    const kept = [...this.#entries].filter(([, [, at]]) => now - at < this.#ttlMs).slice(-MAX_ENTRIES);
    const tmp = `${this.#file}.${process.pid}.${Date.now()}.tmp`;
    try {
      mkdirSync(path.dirname(this.#file), { recursive: true });
      writeFileSync(tmp, JSON.stringify({ version: 1, present: Object.fromEntries(kept) }));
      renameSync(tmp, this.#file);
    } catch {
      rmSync(tmp, { force: true });
    }
  }

  #load(): Map<string, Entry> {
    if (this.#entries) return this.#entries;
    const entries = new Map<string, Entry>();
    if (this.#file) {
      try {
        const data = JSON.parse(readFileSync(this.#file, "utf8")) as { version?: unknown; present?: Record<string, unknown> };
        if (data.version === 1 && data.present && typeof data.present === "object") {
          for (const [uri, value] of Object.entries(data.present)) {
            if (!Array.isArray(value) || !(typeof value[0] === "string" || value[0] === null) || typeof value[1] !== "number") continue;
            const platforms = Array.isArray(value[2]) && value[2].every((p: unknown) => isPlatformManifest(p)) ? (value[2] as Platforms) : undefined;
            entries.set(uri, platforms ? [value[0], value[1], platforms] : [value[0], value[1]]);
          }
        }
      } catch {
        // No answers yet, or a damaged file: ask the registry.
      }
    }
    this.#entries = entries;
    return entries;
  }
}

function isPlatformManifest(value: unknown): boolean {
  const p = value as { platform?: unknown; digest?: unknown } | null;
  return typeof p === "object" && p !== null && typeof p.platform === "string" && typeof p.digest === "string";
}

/**
 * The TTL from `IMAGESPEC_EXISTENCE_TTL` (seconds; 0 turns remembering off), else the default. A value that is not a
 * whole number of seconds is a CONFIG_ERROR naming it.
 */
export function existenceTtlMs(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.IMAGESPEC_EXISTENCE_TTL;
  if (text === undefined || text.trim() === "") return DEFAULT_EXISTENCE_TTL_S * 1000;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new ImageSpecError("CONFIG_ERROR", `Cannot use IMAGESPEC_EXISTENCE_TTL=${JSON.stringify(text)}: it must be a whole number of seconds, 0 or more`, {
      field: "IMAGESPEC_EXISTENCE_TTL",
      value: text,
      hint: `How long a "tag exists" answer from a registry is remembered, e.g. ${DEFAULT_EXISTENCE_TTL_S} (the default); 0 asks the registry every time.`,
    });
  }
  return seconds * 1000;
}
