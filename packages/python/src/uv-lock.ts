/**
 * uv.lock (lock format `version = 1`): parsing, the staleness check `uv sync --locked` would fail on (run here, before
 * any build), and the export of the locked packages as a pip requirements file (`installer: "pip"`).
 */

import { ImageSpecError } from "@imagespec/core/authoring";
import { normalizeSpecifierSet, parseSpecifierSet, parseVersion, satisfies, type Specifier } from "./pep440.js";
import { markerExtra, normalizeName, splitRequirement } from "./names.js";
import { isTable, parseToml, stringList, table, type TomlTable } from "./toml.js";

export interface UvLockDependency {
  readonly name: string;
  readonly version?: string;
  readonly source?: TomlTable;
  readonly marker?: string;
  readonly extra: readonly string[];
}

export interface UvLockArtifact {
  readonly url?: string;
  readonly path?: string;
  readonly hash?: string;
}

/** A requirement as the lock recorded it from the project's metadata (`[package.metadata] requires-dist`). */
export interface UvLockRequirement {
  readonly name: string;
  readonly specifier?: string;
  readonly extras: readonly string[];
  readonly marker?: string;
  /** Set when a `[tool.uv.sources]` entry (git, url, path, editable, ...) pins where it comes from. */
  readonly sourceKind?: string;
}

export interface UvLockPackage {
  readonly name: string;
  readonly version: string | undefined;
  readonly source: TomlTable;
  readonly dependencies: readonly UvLockDependency[];
  readonly optionalDependencies: Readonly<Record<string, readonly UvLockDependency[]>>;
  readonly sdist: UvLockArtifact | undefined;
  readonly wheels: readonly UvLockArtifact[];
  readonly requiresDist: readonly UvLockRequirement[] | undefined;
  readonly requiresDev: Readonly<Record<string, readonly UvLockRequirement[]>> | undefined;
}

export interface UvLock {
  readonly version: number;
  readonly revision: number | undefined;
  readonly requiresPython: string | undefined;
  readonly members: readonly string[];
  readonly packages: readonly UvLockPackage[];
}

const num = (v: unknown) => (typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : undefined);
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** Parses uv.lock text; `file` names it in errors. */
export function parseUvLock(text: string, file: string): UvLock {
  const data = parseToml(text, `the uv lock ${file}`, { field: "lock" });
  const bad = (why: string) =>
    new ImageSpecError("INVALID_SPEC", `Cannot read the uv lock ${file}: ${why}`, { field: "lock", value: file, hint: "Regenerate it with `uv lock`." });
  const version = num(data.version);
  if (version === undefined) throw bad("it has no `version`; is it a uv.lock?");
  if (version !== 1) throw bad(`it is lock format version ${version}, and this package reads version 1 (written by uv 0.4 and later)`);
  const packages = data.package ?? [];
  if (!Array.isArray(packages)) throw bad("`package` is not an array of tables");
  return {
    version,
    revision: num(data.revision),
    requiresPython: str(data["requires-python"]),
    members: stringList(table(data.manifest)?.members) ?? [],
    packages: packages.map((p, i) => {
      if (!isTable(p) || typeof p.name !== "string") throw bad(`package[${i}] has no name`);
      const metadata = table(p.metadata);
      const requiresDev = table(metadata?.["requires-dev"]);
      return {
        name: normalizeName(p.name),
        version: str(p.version),
        source: table(p.source) ?? {},
        dependencies: dependencyList(p.dependencies),
        optionalDependencies: Object.fromEntries(
          Object.entries(table(p["optional-dependencies"]) ?? {}).map(([k, v]) => [normalizeName(k), dependencyList(v)]),
        ),
        sdist: artifact(p.sdist),
        wheels: (Array.isArray(p.wheels) ? p.wheels : []).map(artifact).filter((a): a is UvLockArtifact => a !== undefined),
        requiresDist: metadata ? requirementList(metadata["requires-dist"]) : undefined,
        requiresDev: requiresDev ? Object.fromEntries(Object.entries(requiresDev).map(([k, v]) => [normalizeName(k), requirementList(v)])) : undefined,
      };
    }),
  };
}

function dependencyList(value: unknown): UvLockDependency[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isTable).map((d) => ({
    name: normalizeName(String(d.name)),
    ...(typeof d.version === "string" && { version: d.version }),
    ...(isTable(d.source) && { source: d.source }),
    ...(typeof d.marker === "string" && { marker: d.marker }),
    extra: (stringList(d.extra) ?? []).map(normalizeName),
  }));
}

const SOURCE_KEYS = ["git", "url", "path", "directory", "editable", "virtual", "workspace"];

function requirementList(value: unknown): UvLockRequirement[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isTable).map((r) => ({
    name: normalizeName(String(r.name)),
    ...(typeof r.specifier === "string" && { specifier: r.specifier }),
    extras: (stringList(r.extras) ?? []).map(normalizeName).sort(),
    ...(typeof r.marker === "string" && { marker: r.marker }),
    ...(SOURCE_KEYS.some((k) => k in r) && { sourceKind: SOURCE_KEYS.find((k) => k in r) }),
  }));
}

function artifact(value: unknown): UvLockArtifact | undefined {
  if (!isTable(value)) return undefined;
  return {
    ...(typeof value.url === "string" && { url: value.url }),
    ...(typeof value.path === "string" && { path: value.path }),
    ...(typeof value.hash === "string" && { hash: value.hash }),
  };
}

// ------------------------------------------------------------------------------------------------------- staleness

/** The package of the project itself: its source is the lock's own folder (`editable`, `virtual` or `directory` "."). */
export function rootPackage(lock: UvLock, projectName: string): UvLockPackage | undefined {
  const name = normalizeName(projectName);
  return (
    lock.packages.find((p) => p.name === name && ["editable", "virtual", "directory"].some((k) => p.source[k] === ".")) ??
    lock.packages.find((p) => p.name === name && (p.source.editable !== undefined || p.source.virtual !== undefined))
  );
}

interface Comparable {
  readonly key: string;
  readonly text: string;
}

/** One requirement as a comparable key: name, extras, specifier, and the extra it belongs to. Other marker details are not compared. */
function keyOf(name: string, extras: readonly string[], specifier: string | undefined, extra: string | undefined, pinnedSource: boolean): string {
  const spec = pinnedSource ? "" : normalizeSpecifierSet(specifier ?? "");
  return `${name}[${extras.join(",")}]${spec}${extra ? ` (extra ${extra})` : ""}`;
}

function fromPyproject(requirement: string, extra: string | undefined, pinned: ReadonlySet<string>): Comparable {
  const parts = splitRequirement(requirement);
  const forExtra = extra ?? markerExtra(parts.marker);
  const isPinned = pinned.has(parts.name) || parts.url !== undefined;
  return { key: keyOf(parts.name, parts.extras, parts.specifier, forExtra, isPinned), text: requirement + (extra ? ` (extra ${extra})` : "") };
}

function fromLock(r: UvLockRequirement, pinned: ReadonlySet<string>): Comparable {
  const extra = markerExtra(r.marker);
  const isPinned = r.sourceKind !== undefined || pinned.has(r.name);
  return {
    key: keyOf(r.name, r.extras, r.specifier, extra, isPinned),
    text: `${r.name}${r.extras.length ? `[${r.extras.join(",")}]` : ""}${r.specifier ?? ""}${extra ? ` (extra ${extra})` : ""}`,
  };
}

function diff(label: string, want: readonly Comparable[], have: readonly Comparable[]): string[] {
  const haveKeys = new Set(have.map((c) => c.key));
  const wantKeys = new Set(want.map((c) => c.key));
  const out: string[] = [];
  for (const c of want) if (!haveKeys.has(c.key)) out.push(`${label}: pyproject.toml asks for ${c.text}, which the lock does not record`);
  for (const c of have) if (!wantKeys.has(c.key)) out.push(`${label}: the lock records ${c.text}, which pyproject.toml no longer asks for`);
  return out;
}

/** Whether two requires-python specifier sets allow the same Python versions (uv rewrites them, e.g. `~=3.11` as `>=3.11, <4`). */
export function sameRequiresPython(a: string, b: string): boolean {
  const sa = parseSpecifierSet(a);
  const sb = parseSpecifierSet(b);
  if (typeof sa === "string" || typeof sb === "string") return normalizeSpecifierSet(a) === normalizeSpecifierSet(b);
  for (let major = 2; major <= 4; major++) {
    for (let minor = 0; minor <= 40; minor++) {
      for (let patch = 0; patch <= 25; patch++) {
        const v = parseVersion(`${major}.${minor}.${patch}`)!;
        if (satisfies(v, sa as Specifier[]) !== satisfies(v, sb as Specifier[])) return false;
      }
    }
  }
  return true;
}

/**
 * Every way the lock no longer matches pyproject.toml, as `uv sync --locked` would see it: the project's
 * requirements (dependencies, optional dependencies, dependency groups) against what the lock recorded from them
 * (`[package.metadata]`), and requires-python. An empty list: the lock is fresh.
 */
export function uvLockStaleness(pyproject: TomlTable, lock: UvLock): string[] {
  const project = table(pyproject.project)!;
  const name = String(project.name);
  const root = rootPackage(lock, name);
  if (!root) return [`the lock has no entry for the project ${JSON.stringify(name)} (was it made for another project?)`];
  const problems: string[] = [];
  const pinned = new Set(Object.keys(table(table(table(pyproject.tool)?.uv)?.sources) ?? {}).map(normalizeName));

  const want: Comparable[] = (stringList(project.dependencies) ?? []).map((r) => fromPyproject(r, undefined, pinned));
  for (const [extra, list] of Object.entries(table(project["optional-dependencies"]) ?? {})) {
    for (const r of stringList(list) ?? []) want.push(fromPyproject(r, normalizeName(extra), pinned));
  }
  if (root.requiresDist === undefined) {
    if (want.length > 0) problems.push("the lock records no requirements for the project, but pyproject.toml has dependencies");
  } else {
    problems.push(
      ...diff(
        "dependencies",
        want,
        root.requiresDist.map((r) => fromLock(r, pinned)),
      ),
    );
  }

  const groups = dependencyGroups(pyproject);
  const locked = root.requiresDev ?? {};
  for (const group of new Set([...Object.keys(groups), ...Object.keys(locked)])) {
    const wantGroup = (groups[group] ?? []).map((r) => fromPyproject(r, undefined, pinned));
    const haveGroup = (locked[group] ?? []).map((r) => fromLock(r, pinned));
    problems.push(...diff(`dependency group ${group}`, wantGroup, haveGroup));
  }

  const requiresPython = typeof project["requires-python"] === "string" ? project["requires-python"] : undefined;
  if (requiresPython !== undefined && lock.requiresPython !== undefined && !sameRequiresPython(requiresPython, lock.requiresPython)) {
    problems.push(`requires-python: pyproject.toml has ${JSON.stringify(requiresPython)}, the lock was made for ${JSON.stringify(lock.requiresPython)}`);
  }
  return problems;
}

/** `[dependency-groups]` (PEP 735; `{include-group}` entries left out) and uv's legacy `tool.uv.dev-dependencies` as group `dev`. */
function dependencyGroups(pyproject: TomlTable): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [group, list] of Object.entries(table(pyproject["dependency-groups"]) ?? {})) {
    out[normalizeName(group)] = Array.isArray(list) ? list.filter((r): r is string => typeof r === "string") : [];
  }
  const legacy = stringList(table(table(pyproject.tool)?.uv)?.["dev-dependencies"]);
  if (legacy) out.dev = [...(out.dev ?? []), ...legacy];
  return out;
}

// ------------------------------------------------------------------------------------------------------- export

export interface ExportedRequirements {
  /** requirements.txt content. */
  readonly text: string;
  /** Number of packages. */
  readonly count: number;
  /** Whether every line carries hashes (then pip runs with --require-hashes). */
  readonly hashes: boolean;
  /** Package indexes the packages come from, in a stable order; `https://pypi.org/simple` is pip's default. */
  readonly indexes: readonly string[];
}

type Conjunction = readonly string[];

/**
 * The packages `uv sync --no-dev` installs, pinned, as a requirements file for `pip install --no-deps`: walked from the
 * project's dependencies (and the extras they ask for), each with the environment marker of the paths that reach it.
 * Local path sources cannot be exported and are an error.
 */
export function exportRequirements(lock: UvLock, root: UvLockPackage, file: string): ExportedRequirements {
  const byName = new Map<string, UvLockPackage[]>();
  for (const p of lock.packages) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const resolve = (dep: UvLockDependency): UvLockPackage => {
    let candidates = byName.get(dep.name) ?? [];
    if (dep.version !== undefined) candidates = candidates.filter((p) => p.version === dep.version);
    if (dep.source !== undefined && candidates.length > 1)
      candidates = candidates.filter((p) => JSON.stringify(sortKeys(p.source)) === JSON.stringify(sortKeys(dep.source)));
    if (candidates.length !== 1) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot export the uv lock ${file}: the dependency ${dep.name}${dep.version ? ` ${dep.version}` : ""} ${candidates.length === 0 ? "has no package entry" : "matches several package entries"}`,
        {
          field: "lock",
          value: file,
          hint: "Regenerate the lock with `uv lock`.",
        },
      );
    }
    return candidates[0]!;
  };
  const id = (p: UvLockPackage) => `${p.name} ${p.version ?? ""} ${JSON.stringify(sortKeys(p.source))}`;

  // For every package: the minimal sets of edge markers (each set and-ed, the sets or-ed) under which it is needed.
  const markers = new Map<string, { pkg: UvLockPackage; sets: Conjunction[] }>();
  const queue: [UvLockPackage, Conjunction][] = [];
  const reach = (pkg: UvLockPackage, set: Conjunction) => {
    const entry = markers.get(id(pkg)) ?? { pkg, sets: [] };
    markers.set(id(pkg), entry);
    if (entry.sets.some((s) => s.every((m) => set.includes(m)))) return; // already needed under a weaker condition
    entry.sets = [...entry.sets.filter((s) => !set.every((m) => s.includes(m))), set];
    queue.push([pkg, set]);
  };
  const edges = (pkg: UvLockPackage, extras: readonly string[]) => [...pkg.dependencies, ...extras.flatMap((e) => pkg.optionalDependencies[e] ?? [])];
  const follow = (pkg: UvLockPackage, set: Conjunction, extras: readonly string[]) => {
    for (const dep of edges(pkg, extras)) {
      const target = resolve(dep);
      const next = dep.marker ? [...new Set([...set, dep.marker])].sort() : set;
      reach(target, next);
      if (dep.extra.length > 0) {
        // The target's extras add edges from the target under the same condition.
        follow(target, next, dep.extra);
      }
    }
  };
  follow(root, [], []);
  for (let steps = 0; queue.length > 0; steps++) {
    if (steps > 100_000)
      throw new ImageSpecError("INVALID_SPEC", `Cannot export the uv lock ${file}: its dependency graph does not settle`, { field: "lock", value: file });
    const [pkg, set] = queue.shift()!;
    follow(pkg, set, []);
  }

  const lines: { name: string; line: string; hashes: string[] }[] = [];
  const indexes = new Set<string>();
  for (const { pkg, sets } of markers.values()) {
    if (pkg === root) continue;
    const marker = sets.some((s) => s.length === 0) ? undefined : sets.map((s) => (s.length === 1 ? s[0]! : s.map((m) => `(${m})`).join(" and "))).join(" or ");
    const { requirement, hashes } = pinnedRequirement(pkg, file);
    if (typeof pkg.source.registry === "string") indexes.add(pkg.source.registry);
    lines.push({ name: pkg.name, line: marker === undefined ? requirement : `${requirement} ; ${marker}`, hashes });
  }
  lines.sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
  const withHashes = lines.length > 0 && lines.every((l) => l.hashes.length > 0);
  const text = lines.map((l) => (withHashes ? `${l.line} ${l.hashes.map((h) => `--hash=${h}`).join(" ")}` : l.line)).join("\n");
  const pypi = "https://pypi.org/simple";
  const sortedIndexes = [...indexes].sort((a, b) => (a === pypi ? -1 : b === pypi ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return { text: text === "" ? "" : `${text}\n`, count: lines.length, hashes: withHashes, indexes: sortedIndexes };
}

function pinnedRequirement(pkg: UvLockPackage, file: string): { requirement: string; hashes: string[] } {
  const hashes = [...(pkg.sdist?.hash ? [pkg.sdist.hash] : []), ...pkg.wheels.flatMap((w) => (w.hash ? [w.hash] : []))];
  const source = pkg.source;
  if (typeof source.registry === "string") {
    if (pkg.version === undefined) throw unexportable(pkg, file, "it has no version");
    return { requirement: `${pkg.name}==${pkg.version}`, hashes };
  }
  if (typeof source.git === "string") {
    const url = new URL(source.git);
    const commit = url.hash.slice(1);
    const subdirectory = url.searchParams.get("subdirectory");
    url.hash = "";
    url.search = "";
    if (!commit) throw unexportable(pkg, file, "its git source records no commit");
    return { requirement: `${pkg.name} @ git+${url.toString()}@${commit}${subdirectory ? `#subdirectory=${subdirectory}` : ""}`, hashes: [] };
  }
  if (typeof source.url === "string") {
    const artifactUrl = pkg.wheels[0]?.url ?? pkg.sdist?.url ?? source.url;
    return { requirement: `${pkg.name} @ ${artifactUrl}`, hashes };
  }
  const kind = Object.keys(source)[0] ?? "unknown";
  throw unexportable(pkg, file, `it comes from a local ${kind} (${JSON.stringify(source[kind])}), which is not in the image`);
}

function unexportable(pkg: UvLockPackage, file: string, why: string): ImageSpecError {
  return new ImageSpecError("INVALID_SPEC", `Cannot install ${pkg.name} from the uv lock ${file} with pip: ${why}`, {
    field: "installer",
    value: "pip",
    hint: 'Use installer: "uv", or depend on a released version of it.',
  });
}

function sortKeys(value: unknown): unknown {
  if (!isTable(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys(value[k])]),
  );
}
