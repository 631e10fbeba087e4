/**
 * The real grammars of the values a definition carries. Each check returns undefined when the value is valid,
 * or a short sentence saying what is wrong and what was expected; the zod schemas turn that into a field error.
 */

import { DOCKERFILE_LINE_LIMIT, mountValueProblem } from "./quote.js";
import { isRegistryHost, parseImageReference, REGISTRY_RE, REPOSITORY_PATH_RE, TAG_RE } from "./reference.js";

// ---------------------------------------------------------------------------------------------------------------
// PEP 508 dependency specifiers: name [extras] (versionspec | @ url) [; markers]

const PEP508_NAME = /^([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9])/;
const VERSION_OPERATOR = /^(===|~=|==|!=|<=|>=|<|>)/;
const VERSION_VALUE = /^[A-Za-z0-9_.*+!-]+/;
const MARKER_VARIABLES = new Set([
  "python_version",
  "python_full_version",
  "os_name",
  "sys_platform",
  "platform_release",
  "platform_system",
  "platform_version",
  "platform_machine",
  "platform_python_implementation",
  "implementation_name",
  "implementation_version",
  "extra",
  "dependency_groups",
]);

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}
  skipSpace(): void {
    while (this.pos < this.text.length && (this.text[this.pos] === " " || this.text[this.pos] === "\t")) this.pos++;
  }
  match(re: RegExp): string | undefined {
    const m = re.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
  eat(literal: string): boolean {
    if (this.text.startsWith(literal, this.pos)) {
      this.pos += literal.length;
      return true;
    }
    return false;
  }
  get done(): boolean {
    return this.pos >= this.text.length;
  }
}

/**
 * One argument pip installs: a PEP 508 requirement, or a bare URL pip also takes on its command line, such as a VCS
 * checkout (`git+https://github.com/org/repo@<rev>#subdirectory=plugins/x`) or an archive (`https://host/pkg.whl`),
 * as flytekit's documentation installs flytekit from GitHub.
 */
export function checkPipRequirement(text: string): string | undefined {
  if (/^(?:(?:git|hg|svn|bzr)\+)?(?:https?|ssh|file|git):\/\//i.test(text.trim())) {
    if (/[\s\0]/.test(text.trim())) return "a URL requirement cannot contain spaces, newlines or NUL";
    return /^(?:(?:git|hg|svn|bzr)\+)?(?:https?|ssh|file|git):\/\/[^/?#\s]+/i.test(text.trim())
      ? undefined
      : "a URL requirement names a host: git+https://host/org/repo@rev";
  }
  return checkPep508(text);
}

/** Checks a PEP 508 requirement such as `pandas<2,>=1.5`, `requests[socks]>=2; python_version >= "3.8"`. */
export function checkPep508(text: string): string | undefined {
  if (/[\r\n\0]/.test(text)) return "a requirement cannot contain a newline or NUL";
  const s = new Scanner(text.trim());
  if (s.done) return "a requirement cannot be empty";
  const name = s.match(PEP508_NAME);
  if (!name) return "a requirement starts with a package name (letters, digits, '.', '_', '-')";
  s.skipSpace();
  if (s.eat("[")) {
    s.skipSpace();
    if (!s.eat("]")) {
      for (;;) {
        s.skipSpace();
        if (!s.match(PEP508_NAME)) return "extras are package-like names inside [ ], separated by commas";
        s.skipSpace();
        if (s.eat("]")) break;
        if (!s.eat(",")) return "extras are package-like names inside [ ], separated by commas";
      }
    }
    s.skipSpace();
  }
  if (s.eat("@")) {
    s.skipSpace();
    const url = s.match(/^[^\s;]+/);
    if (!url || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) return "a direct reference is `name @ <url>`";
    s.skipSpace();
    if (s.done) return undefined;
    // PEP 508: a URL must be followed by whitespace before the marker's `;`.
    if (!/\s$/.test(text.trim().slice(0, s.pos))) return "put a space between the URL and `;`";
  } else {
    const hadParen = s.eat("(");
    s.skipSpace();
    if (s.match(VERSION_OPERATOR) !== undefined) {
      s.skipSpace();
      if (!s.match(VERSION_VALUE)) return "a version comparison needs a version after the operator";
      for (;;) {
        s.skipSpace();
        if (!s.eat(",")) break;
        s.skipSpace();
        if (!s.match(VERSION_OPERATOR)) return "each comma-separated clause needs an operator (==, !=, <=, >=, <, >, ~=, ===)";
        s.skipSpace();
        if (!s.match(VERSION_VALUE)) return "a version comparison needs a version after the operator";
      }
    }
    s.skipSpace();
    if (hadParen && !s.eat(")")) return "an opening ( around the version needs a closing )";
    s.skipSpace();
  }
  if (s.done) return undefined;
  if (!s.eat(";")) return `unexpected ${JSON.stringify(text.trim().slice(s.pos))}; expected a version specifier (e.g. >=1.5,<2) or '; <marker>'`;
  const markerError = parseMarkerOr(s);
  if (markerError) return markerError;
  s.skipSpace();
  if (!s.done) return `unexpected ${JSON.stringify(text.trim().slice(s.pos))} in the environment marker`;
  return undefined;
}

function parseMarkerOr(s: Scanner): string | undefined {
  const e = parseMarkerAnd(s);
  if (e) return e;
  for (;;) {
    s.skipSpace();
    if (!s.match(/^or\b/)) return undefined;
    const next = parseMarkerAnd(s);
    if (next) return next;
  }
}

function parseMarkerAnd(s: Scanner): string | undefined {
  const e = parseMarkerAtom(s);
  if (e) return e;
  for (;;) {
    s.skipSpace();
    if (!s.match(/^and\b/)) return undefined;
    const next = parseMarkerAtom(s);
    if (next) return next;
  }
}

function parseMarkerAtom(s: Scanner): string | undefined {
  s.skipSpace();
  if (s.eat("(")) {
    const e = parseMarkerOr(s);
    if (e) return e;
    s.skipSpace();
    return s.eat(")") ? undefined : "an environment marker has an unclosed (";
  }
  const left = parseMarkerValue(s);
  if (left) return left;
  s.skipSpace();
  if (!s.match(/^(===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)/)) return "an environment marker compares with ==, !=, <, <=, >, >=, ~=, in or not in";
  return parseMarkerValue(s);
}

function parseMarkerValue(s: Scanner): string | undefined {
  s.skipSpace();
  const quoted = s.match(/^("[^"]*"|'[^']*')/);
  if (quoted !== undefined) return undefined;
  const variable = s.match(/^[a-z_]+/);
  if (variable === undefined) return "an environment marker value is a quoted string or a marker variable";
  return MARKER_VARIABLES.has(variable) ? undefined : `${JSON.stringify(variable)} is not a PEP 508 marker variable`;
}

// ---------------------------------------------------------------------------------------------------------------
// Debian package names (Debian Policy 5.6.1), with the `=version`, `:arch` and `/release` forms apt-get accepts.

const DEBIAN_NAME = "[a-z0-9][a-z0-9+.-]+";
const APT_PACKAGE_RE = new RegExp(`^${DEBIAN_NAME}(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:_-]+|/[A-Za-z0-9.+_-]+)?$`);

export function checkAptPackage(text: string): string | undefined {
  return APT_PACKAGE_RE.test(text)
    ? undefined
    : "a Debian package name is lowercase letters, digits, '+', '-', '.' (at least 2 characters, starting with a letter or digit), optionally followed by :arch and =version or /release";
}

// Conda match specs: `name`, `name=1.2`, `name>=1.2,<2`, `channel::name=1.2=build`.
// Spaces only between name and version: `\s` would let a newline (or a tab, NBSP, ...) through.
const CONDA_SPEC_RE =
  /^(?:[A-Za-z0-9_.-]+::)?[A-Za-z0-9_][A-Za-z0-9_.-]*(?: *(?:==?|>=?|<=?|!=|~=) *[A-Za-z0-9_.*+!,<>=|-]+| +[0-9*][A-Za-z0-9_.*+!,<>=|-]*)?(?:=[A-Za-z0-9_.*]+)?$/;
export function checkCondaPackage(text: string): string | undefined {
  return CONDA_SPEC_RE.test(text) ? undefined : "a conda package is a match spec such as `numpy`, `numpy=1.26` or `conda-forge::numpy>=1.26,<2`";
}

const CONDA_CHANNEL_RE = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*|https?:\/\/[^\s"'\\]+)$/;
export function checkCondaChannel(text: string): string | undefined {
  return CONDA_CHANNEL_RE.test(text) ? undefined : "a conda channel is a name such as `conda-forge` or an http(s) URL";
}

// ---------------------------------------------------------------------------------------------------------------
// Environment, paths, platforms, versions, URLs.

export function checkEnvName(text: string): string | undefined {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? undefined : "an environment variable name is letters, digits and '_', not starting with a digit";
}

/**
 * Longest environment value or command, in bytes as written into the Dockerfile (escapes included): each is one
 * Dockerfile line, which BuildKit refuses beyond DOCKERFILE_LINE_LIMIT; the rest of the limit is left for the
 * instruction, its flags and the variable's name.
 */
export const DOCKERFILE_VALUE_LIMIT = DOCKERFILE_LINE_LIMIT - 4_096;

/** Bytes a value takes in a Dockerfile line, quoted (a `dockerfileWord` or an exec-form JSON string). */
function dockerfileBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text).replace(/\$/g, "\\$"), "utf8");
}

export function checkEnvValue(text: string): string | undefined {
  if (text.includes("\0")) return "an environment value cannot contain NUL";
  const bytes = dockerfileBytes(text);
  if (bytes > DOCKERFILE_VALUE_LIMIT)
    return `an environment value is at most ${DOCKERFILE_VALUE_LIMIT} bytes as written in a Dockerfile (this one is ${bytes}); put long content in a file and copy it`;
  return undefined;
}

/** A path inside the image: any POSIX path without NUL or newlines (spaces and quotes are fine: they are quoted). */
export function checkImagePath(text: string): string | undefined {
  if (text.length === 0) return "a path cannot be empty";
  if (/[\0\r\n]/.test(text)) return "a path cannot contain NUL or newlines";
  return undefined;
}

/** Where a secret (or SSH agent) is mounted for one step: a path, and one `--mount` option value (printable ASCII, no `$`, quotes or `\`). */
export function checkMountTarget(text: string): string | undefined {
  const base = checkImagePath(text);
  if (base) return base;
  const problem = mountValueProblem(text);
  return problem === undefined ? undefined : `a mount target is written into a RUN --mount flag, and ${problem}`;
}

/**
 * A path on the user's machine relative to a root, that must stay inside it (no absolute paths, no `..`), written
 * with `/`: a backslash is refused rather than guessed at (a Windows separator, or part of a POSIX file name?).
 */
export function checkContainedRelativePath(text: string): string | undefined {
  const base = checkImagePath(text);
  if (base) return base;
  if (text.startsWith("/") || /^[A-Za-z]:[\\/]/.test(text)) return "must be a relative path (absolute paths are not allowed)";
  if (text.includes("\\")) return "separate folders with '/'; a backslash is not allowed here (copy the folder that holds a file whose name has one)";
  if (text.split("/").includes("..")) return "must stay inside the source root ('..' is not allowed)";
  return undefined;
}

/** The interpreter packages are installed with: a command name or a path, one shell word once quoted. */
export function checkPythonExec(text: string): string | undefined {
  if (text.length === 0) return "cannot be empty";
  if (/[\0\r\n]/.test(text)) return "an interpreter path cannot contain NUL or newlines";
  if (text.length > 4096) return "an interpreter path is at most 4096 characters";
  return undefined;
}

const GOOS = ["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix", "plan9", "wasip1", "js"];
const GOARCH = ["amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "mips64", "mipsle", "mips", "loong64", "wasm"];
const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", x64: "amd64", aarch64: "arm64", armhf: "arm/v7", i386: "386", x86: "386" };

/**
 * `os/arch[/variant]` as Docker and OCI write it, e.g. `linux/amd64`, `linux/arm/v7`; or `native`, the build
 * engine's own platform (resolved before hashing).
 */
export function checkPlatform(text: string): string | undefined {
  if (text === "native") return undefined;
  const parts = text.split("/");
  const [os, arch, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !arch)
    return "a platform is os/arch[/variant], e.g. linux/amd64 or linux/arm64, or native (the build engine's own)";
  if (!GOOS.includes(os)) return `unknown os ${JSON.stringify(os)} (expected one of ${GOOS.slice(0, 4).join(", ")}, ...)`;
  if (!GOARCH.includes(arch)) {
    const alias = ARCH_ALIASES[arch];
    return alias
      ? `unknown architecture ${JSON.stringify(arch)}; did you mean ${os}/${alias}?`
      : `unknown architecture ${JSON.stringify(arch)} (expected one of ${GOARCH.slice(0, 6).join(", ")}, ...)`;
  }
  if (variant !== undefined && !/^v[0-9]+$/.test(variant)) return `a platform variant is v<number>, e.g. linux/arm/v7`;
  return undefined;
}

export function checkPythonVersion(text: string): string | undefined {
  return /^3\.[0-9]{1,2}(\.[0-9]{1,3})?$/.test(text)
    ? undefined
    : 'a Python version is 3.<minor> or 3.<minor>.<patch>, e.g. "3.12" (quote it in YAML: 3.10 unquoted is the number 3.1)';
}

export function checkCudaVersion(text: string): string | undefined {
  return /^[0-9]{1,2}\.[0-9]{1,2}(\.[0-9]{1,3})?$/.test(text) ? undefined : 'a CUDA version is <major>.<minor>[.<patch>], e.g. "12.4.1"';
}

export function checkCudnnVersion(text: string): string | undefined {
  return /^[0-9]{1,2}(\.[0-9]{1,3}){0,3}$/.test(text) ? undefined : 'a cuDNN version is a major version or a dotted version, e.g. "9" or "8.9.7"';
}

export function checkIndexUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "a package index is an absolute URL, e.g. https://pypi.org/simple";
  }
  if (!["http:", "https:", "file:"].includes(url.protocol)) return "a package index URL uses http, https or file";
  if (/[\s"'\\]/.test(text)) return "a package index URL cannot contain spaces, quotes or backslashes";
  return undefined;
}

/** One pip command-line argument; whitespace inside is allowed (it is quoted), newlines are not. */
export function checkShellArgument(text: string): string | undefined {
  if (text.length === 0) return "an argument cannot be empty";
  return /[\0\r\n]/.test(text) ? "an argument cannot contain NUL or newlines" : undefined;
}

export function checkCommand(text: string): string | undefined {
  if (text.trim().length === 0) return "a command cannot be empty";
  if (text.includes("\0")) return "a command cannot contain NUL";
  const bytes = dockerfileBytes(text);
  if (bytes > DOCKERFILE_VALUE_LIMIT)
    return `a command is at most ${DOCKERFILE_VALUE_LIMIT} bytes as written in a Dockerfile (this one is ${bytes}); put a long script in a file, copy it and run that`;
  return undefined;
}

/** A BuildKit secret id. */
export function checkSecretId(text: string): string | undefined {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(text) ? undefined : "a secret id is letters, digits, '_', '.', '-'";
}

/** A BuildKit SSH forward id (`default` when a mount names none). */
export function checkSshId(text: string): string | undefined {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(text) ? undefined : "an SSH mount id is letters, digits, '_', '.', '-'";
}

/** Longest repository name, registry included (the distribution reference grammar's limit). */
export const NAME_LENGTH_LIMIT = 255;

export function checkImageName(text: string): string | undefined {
  if (text.length > NAME_LENGTH_LIMIT) return `an image name is at most ${NAME_LENGTH_LIMIT} characters, registry included (this one is ${text.length})`;
  if (REPOSITORY_PATH_RE.test(text)) return undefined;
  if (text !== text.toLowerCase() && REPOSITORY_PATH_RE.test(text.toLowerCase()))
    return `image names are lowercase; did you mean ${JSON.stringify(text.toLowerCase())}?`;
  return "an image name is lowercase path components of letters and digits joined by '.', '_', '__' or '-', separated by '/'";
}

/**
 * A registry as Docker's reference grammar reads `<registry>/<name>`. The first component is a registry host only
 * when it has a `.` or a `:` or is `localhost`; a single label (`registry: myteam`, as flytekit's examples write) is
 * a Docker Hub namespace: `myteam/app` is `docker.io/myteam/app`, and that is where existence asks and the push goes,
 * as with `docker push` (see `registryWarning`). Lowercase, since every image reference imagespec writes is canonical.
 */
export function checkRegistry(text: string): string | undefined {
  if (/^[a-z]+:\/\//i.test(text)) return `a registry is written without a scheme, e.g. ${JSON.stringify(text.replace(/^[a-z]+:\/\//i, "").replace(/\/$/, ""))}`;
  if (text.length > NAME_LENGTH_LIMIT) return `a registry is at most ${NAME_LENGTH_LIMIT} characters`;
  if (REGISTRY_RE.test(text) || REGISTRY_RE.test(text.toLowerCase())) {
    if (text === text.toLowerCase()) return undefined;
    const host = text.split("/", 1)[0]!;
    const namespace = isRegistryHost(host) ? text.slice(host.length) : text; // a single label is a namespace
    if (namespace !== namespace.toLowerCase())
      return `the path of a registry is lowercase (it is part of every image name); write ${JSON.stringify(text.toLowerCase())}`;
    return `a registry host is written in lowercase here (hosts are case-insensitive, and image references are compared as written); write ${JSON.stringify(text.toLowerCase())}`;
  }
  return "a registry is host[:port][/namespace], e.g. ghcr.io/my-org or 127.0.0.1:5000";
}

/**
 * What a valid registry means, when it is not what it may look like: a first component that is not a host (no `.`,
 * no `:`, not localhost) makes the registry a Docker Hub namespace. Undefined for a registry that names its host.
 */
export function registryWarning(registry: string): string | undefined {
  const host = registry.split("/", 1)[0]!;
  if (isRegistryHost(host)) return undefined;
  return `registry ${JSON.stringify(registry)} is a Docker Hub namespace: Docker reads ${JSON.stringify(`${registry}/app`)} as ${JSON.stringify(`docker.io/${registry}/app`)}, so existence is asked of and pushes go to Docker Hub; write ${JSON.stringify(`docker.io/${registry}`)} to say so, or a host with a '.' or a port (e.g. ${JSON.stringify(`${host}.example.com`)}, ${JSON.stringify(`${host}:5000`)}) for another registry`;
}

/** An image reference: `[registry/]name[:tag][@digest]`, as Docker reads it. */
export function checkImageReference(text: string): string | undefined {
  return parseImageReference(text) !== undefined
    ? undefined
    : "an image reference is [registry/]name[:tag][@digest], e.g. ghcr.io/org/base:1.0 (lowercase name, no spaces)";
}

export function checkTag(text: string): string | undefined {
  return TAG_RE.test(text) ? undefined : "a tag is up to 128 letters, digits, '_', '.', '-', not starting with '.' or '-'";
}

/** `tagFormat` may use `{spec_hash}` and nothing else between braces. */
export function checkTagFormat(text: string): string | undefined {
  const placeholders = text.match(/\{[^}]*\}/g) ?? [];
  const unknown = placeholders.find((p) => p !== "{spec_hash}");
  if (unknown) return `unknown placeholder ${unknown}; the only placeholder is {spec_hash}`;
  if (!text.includes("{spec_hash}")) return "a tag format must contain {spec_hash}, or every definition would get the same tag";
  const sample = text.replaceAll("{spec_hash}", "a".repeat(26)); // a spec hash is 26 characters
  return checkTag(sample) === undefined ? undefined : "with {spec_hash} filled in, the result must be a valid tag (letters, digits, '_', '.', '-')";
}
