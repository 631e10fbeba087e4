/**
 * envd's version, from `envd version`. Older envd releases read a different io.copy syntax and lack fixes the
 * rendered file relies on, so the builder refuses anything below MIN_ENVD_VERSION.
 */

export interface EnvdVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** `rc.1` in `v0.3.45-rc.1`; a pre-release sorts before its release. */
  readonly prerelease: string | undefined;
  /** As envd printed it, e.g. `v0.3.45`. */
  readonly text: string;
}

export const MIN_ENVD_VERSION = "0.3.39";

const NUMBERS = String.raw`(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?`;

/**
 * Reads the version from `envd version` output (`envd: v0.3.45` followed by build details). Falls back to the
 * first `vX.Y.Z` anywhere, for outputs that label it differently. Undefined when there is none.
 */
export function parseEnvdVersion(output: string): EnvdVersion | undefined {
  const labelled = new RegExp(String.raw`^\s*envd(?:\s+version)?\s*:?\s*(v?${NUMBERS})\s*$`, "im").exec(output);
  const match = labelled ?? new RegExp(String.raw`(?:^|\s)(v${NUMBERS})(?=\s|$)`, "m").exec(output);
  if (!match) return undefined;
  const [, text, major, minor, patch, prerelease] = match;
  return { major: Number(major), minor: Number(minor), patch: Number(patch), prerelease, text: text! };
}

/** Negative when a < b, 0 when equal, positive when a > b (semver precedence, build metadata ignored). */
export function compareEnvdVersions(a: EnvdVersion, b: EnvdVersion): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return core;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === undefined) return 1;
  if (b.prerelease === undefined) return -1;
  return comparePrerelease(a.prerelease, b.prerelease);
}

function comparePrerelease(a: string, b: string): number {
  const left = a.split(".");
  const right = b.split(".");
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i];
    const y = right[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (xn !== yn) return xn ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** True when envd `version` is MIN_ENVD_VERSION or newer. */
export function isSupportedEnvdVersion(version: EnvdVersion): boolean {
  return compareEnvdVersions(version, parseEnvdVersion(`v${MIN_ENVD_VERSION}`)!) >= 0;
}
