/**
 * PEP 440 versions and specifier sets, as `packaging` implements them: enough to check a Python version against
 * `requires-python` and to compare specifiers written by different tools (pyproject.toml and a lock file).
 */

export interface Version {
  readonly epoch: number;
  readonly release: readonly number[];
  readonly pre: readonly [string, number] | undefined;
  readonly post: number | undefined;
  readonly dev: number | undefined;
  readonly local: readonly (string | number)[] | undefined;
}

const VERSION_RE =
  /^\s*v?(?:(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\.[0-9]+)*)(?<pre>[-_.]?(?<preL>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preN>[0-9]+)?)?(?<post>(?:-(?<postN1>[0-9]+))|(?:[-_.]?(?<postL>post|rev|r)[-_.]?(?<postN2>[0-9]+)?))?(?<dev>[-_.]?(?<devL>dev)[-_.]?(?<devN>[0-9]+)?)?)(?:\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i;

/** Parses a PEP 440 version, or returns undefined. */
export function parseVersion(text: string): Version | undefined {
  const m = VERSION_RE.exec(text);
  if (!m?.groups) return undefined;
  const g = m.groups;
  const preLabel = g.preL?.toLowerCase();
  const pre: [string, number] | undefined =
    preLabel === undefined
      ? undefined
      : [preLabel === "alpha" ? "a" : preLabel === "beta" ? "b" : ["c", "pre", "preview"].includes(preLabel) ? "rc" : preLabel, Number(g.preN ?? 0)];
  const post = g.post === undefined ? undefined : Number(g.postN1 ?? g.postN2 ?? 0);
  const dev = g.dev === undefined ? undefined : Number(g.devN ?? 0);
  const local = g.local?.split(/[-_.]/).map((part) => (/^[0-9]+$/.test(part) ? Number(part) : part.toLowerCase()));
  return { epoch: Number(g.epoch ?? 0), release: g.release!.split(".").map(Number), pre, post, dev, local };
}

export function formatVersion(v: Version): string {
  let out = v.epoch ? `${v.epoch}!` : "";
  out += v.release.join(".");
  if (v.pre) out += `${v.pre[0]}${v.pre[1]}`;
  if (v.post !== undefined) out += `.post${v.post}`;
  if (v.dev !== undefined) out += `.dev${v.dev}`;
  if (v.local) out += `+${v.local.join(".")}`;
  return out;
}

function compareNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

const PRE_RANK: Record<string, number> = { a: 0, b: 1, rc: 2 };

/** PEP 440 ordering (packaging's `_cmpkey`). */
export function compareVersions(a: Version, b: Version): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const release = compareNumbers(a.release, b.release);
  if (release !== 0) return release;
  // A dev release without pre or post sorts before every pre-release of the same release.
  const preKey = (v: Version): [number, number] =>
    v.pre ? [PRE_RANK[v.pre[0]]!, v.pre[1]] : v.post === undefined && v.dev !== undefined ? [-Infinity, 0] : [Infinity, 0];
  const [pa, pb] = [preKey(a), preKey(b)];
  if (pa[0] !== pb[0]) return pa[0] < pb[0] ? -1 : 1;
  if (pa[1] !== pb[1]) return pa[1] < pb[1] ? -1 : 1;
  const post = (v: Version) => (v.post === undefined ? -Infinity : v.post);
  if (post(a) !== post(b)) return post(a) < post(b) ? -1 : 1;
  const dev = (v: Version) => (v.dev === undefined ? Infinity : v.dev);
  if (dev(a) !== dev(b)) return dev(a) < dev(b) ? -1 : 1;
  return compareLocal(a.local, b.local);
}

function compareLocal(a: Version["local"], b: Version["local"]): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x !== typeof y) return typeof x === "number" ? 1 : -1; // numbers sort after strings
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const publicOf = (v: Version): Version => ({ ...v, local: undefined });
const isPrerelease = (v: Version) => v.pre !== undefined || v.dev !== undefined;

// -------------------------------------------------------------------------------------------------------- specifiers

export type Operator = "~=" | "==" | "!=" | "<=" | ">=" | "<" | ">" | "===";

export interface Specifier {
  readonly operator: Operator;
  /** As written, without the operator (may end in `.*` for == and !=). */
  readonly version: string;
}

const SPECIFIER_RE = /^\s*(~=|===|==|!=|<=|>=|<|>)\s*([^,;\s]+)\s*$/;

/** Why a specifier set is invalid, or its specifiers. An empty string is the empty set (anything). */
export function parseSpecifierSet(text: string): Specifier[] | string {
  if (text.trim() === "") return [];
  const out: Specifier[] = [];
  for (const part of text.split(",")) {
    const m = SPECIFIER_RE.exec(part);
    if (!m) return `${JSON.stringify(part.trim())} is not a version specifier (an operator ==, !=, <=, >=, <, >, ~= or === and a version)`;
    const operator = m[1] as Operator;
    const version = m[2]!;
    if (operator !== "===") {
      const wildcard = version.endsWith(".*");
      if (wildcard && operator !== "==" && operator !== "!=") return `${JSON.stringify(part.trim())}: only == and != take a .* wildcard`;
      const parsed = parseVersion(wildcard ? version.slice(0, -2) : version);
      if (!parsed) return `${JSON.stringify(version)} in ${JSON.stringify(part.trim())} is not a PEP 440 version`;
      if (operator === "~=" && parsed.release.length < 2) return `${JSON.stringify(part.trim())}: ~= needs a version with at least two parts, e.g. ~=3.11`;
      if (wildcard && (parsed.local || parsed.dev !== undefined || parsed.post !== undefined || parsed.pre)) {
        return `${JSON.stringify(part.trim())}: a .* wildcard follows a release number only`;
      }
    }
    out.push({ operator, version });
  }
  return out;
}

/** True when `version` is allowed by every specifier (pre-releases are allowed: the question here is which interpreter fits). */
export function satisfies(version: Version, specifiers: readonly Specifier[]): boolean {
  return specifiers.every((s) => satisfiesOne(version, s));
}

function satisfiesOne(candidate: Version, spec: Specifier): boolean {
  const { operator } = spec;
  if (operator === "===") return formatVersion(candidate).toLowerCase() === spec.version.toLowerCase();
  if (operator === "==" || operator === "!=") {
    const equal = spec.version.endsWith(".*")
      ? prefixMatch(candidate, parseVersion(spec.version.slice(0, -2))!)
      : exactMatch(candidate, parseVersion(spec.version)!);
    return operator === "==" ? equal : !equal;
  }
  const v = parseVersion(spec.version)!;
  const pub = publicOf(candidate);
  switch (operator) {
    case "~=": {
      const prefix: Version = { epoch: v.epoch, release: v.release.slice(0, -1), pre: undefined, post: undefined, dev: undefined, local: undefined };
      return compareVersions(pub, v) >= 0 && prefixMatch(candidate, prefix);
    }
    case "<=":
      return compareVersions(pub, v) <= 0;
    case ">=":
      return compareVersions(pub, v) >= 0;
    case "<":
      if (compareVersions(pub, v) >= 0) return false;
      // `<3.12` does not allow 3.12.0rc1: a pre-release of the bound itself, unless the bound is one.
      return !(!isPrerelease(v) && isPrerelease(candidate) && compareNumbers(candidate.release, v.release) === 0 && candidate.epoch === v.epoch);
    case ">":
      if (compareVersions(pub, v) <= 0) return false;
      // `>3.11` does not allow 3.11.post1, unless the bound is a post-release.
      if (v.post === undefined && candidate.post !== undefined && compareNumbers(candidate.release, v.release) === 0 && candidate.epoch === v.epoch)
        return false;
      return true;
  }
}

function exactMatch(candidate: Version, v: Version): boolean {
  const c = v.local === undefined ? publicOf(candidate) : candidate;
  return compareVersions(c, v) === 0;
}

/** `==3.11.*`: the release starts with 3.11 (padded with zeros), same epoch. */
function prefixMatch(candidate: Version, prefix: Version): boolean {
  if (candidate.epoch !== prefix.epoch) return false;
  return prefix.release.every((n, i) => (candidate.release[i] ?? 0) === n);
}

function trimZeros(release: readonly number[]): number[] {
  const out = [...release];
  while (out.length > 1 && out.at(-1) === 0) out.pop();
  return out;
}

/** A specifier set written the same way whatever the tool: sorted, without spaces, versions normalized. */
export function normalizeSpecifierSet(text: string): string {
  const parsed = parseSpecifierSet(text);
  if (typeof parsed === "string") return text.replace(/\s+/g, "");
  return parsed
    .map((s) => {
      if (s.operator === "===") return `===${s.version}`;
      const wildcard = s.version.endsWith(".*");
      const v = parseVersion(wildcard ? s.version.slice(0, -2) : s.version)!;
      // Trailing zeros mean nothing to a comparison (>=2.31 is >=2.31.0), but they set the prefix of ~= and .*.
      const release = wildcard || s.operator === "~=" ? v.release : trimZeros(v.release);
      return `${s.operator}${formatVersion({ ...v, release })}${wildcard ? ".*" : ""}`;
    })
    .sort()
    .join(",");
}

/**
 * Whether a Python version as images state it (`3.11` or `3.11.4`) fits a specifier set: a minor version fits when
 * one of its releases does (requires-python `>=3.11.2` allows `3.11`: 3.11.2 and later exist).
 */
export function pythonFits(pythonVersion: string, specifiers: readonly Specifier[]): boolean {
  const v = parseVersion(pythonVersion);
  if (!v) return false;
  if (v.release.length >= 3) return satisfies(v, specifiers);
  for (let patch = 0; patch < 100; patch++) {
    if (satisfies({ ...v, release: [v.release[0] ?? 3, v.release[1] ?? 0, patch] }, specifiers)) return true;
  }
  return false;
}

// -------------------------------------------------------------------------------------------------------- poetry

/**
 * A poetry version constraint (`^3.11`, `~3.11`, `>=3.9,<4.0`, `3.11.*`, `>=3.9 || ^3.12`, `*`) as PEP 440 specifier
 * sets, one per `||` alternative; a string when it cannot be read.
 */
export function poetryConstraint(text: string): Specifier[][] | string {
  const alternatives: Specifier[][] = [];
  for (const alternative of text.split(/\|\|?/)) {
    const specs: Specifier[] = [];
    const parts = alternative
      .trim()
      .replace(/(~=|===|==|!=|<=|>=|<|>|=|\^|~)\s+/g, "$1")
      .split(/\s*,\s*|\s+/)
      .filter((p) => p !== "");
    for (const raw of parts) {
      const part = raw.replace(/\s+/g, "");
      if (part === "*" || part === "") continue;
      const caret = /^\^(.+)$/.exec(part);
      const tilde = /^~(?!=)(.+)$/.exec(part);
      if (caret || tilde) {
        const v = parseVersion((caret ?? tilde)![1]!);
        if (!v) return `${JSON.stringify(part)} is not a poetry version constraint`;
        const r = [...v.release];
        let upper: number[];
        if (caret) {
          const firstNonZero = r.findIndex((n) => n !== 0);
          const idx = firstNonZero === -1 ? r.length - 1 : Math.min(firstNonZero, r.length - 1);
          upper = [...r.slice(0, idx), (r[idx] ?? 0) + 1];
        } else {
          upper = r.length === 1 ? [r[0]! + 1] : [r[0]!, r[1]! + 1];
        }
        specs.push({ operator: ">=", version: formatVersion(v) }, { operator: "<", version: upper.join(".") });
        continue;
      }
      const withOperator = /^(~=|===|==|!=|<=|>=|<|>|=)?(.+)$/.exec(part)!;
      const operator = (withOperator[1] === "=" || withOperator[1] === undefined ? "==" : withOperator[1]) as Operator;
      const parsed = parseSpecifierSet(`${operator}${withOperator[2]}`);
      if (typeof parsed === "string") return `${JSON.stringify(part)} is not a poetry version constraint`;
      specs.push(...parsed);
    }
    alternatives.push(specs);
  }
  return alternatives;
}

export function pythonFitsPoetry(pythonVersion: string, alternatives: readonly Specifier[][]): boolean {
  return alternatives.some((specs) => pythonFits(pythonVersion, specs));
}
