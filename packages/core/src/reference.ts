/**
 * Image references, following the distribution reference grammar
 * (github.com/distribution/reference): `[domain[:port]/]path[:tag][@digest]`.
 */

/** One path component: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`. */
const PATH_COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IPV6 = "\\[[a-fA-F0-9:]+\\]";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

export const REPOSITORY_PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
/** A registry as users write it: a domain with an optional port, optionally followed by a namespace path. */
export const REGISTRY_RE = new RegExp(`^${DOMAIN}(?:/${PATH_COMPONENT})*$`);
export const TAG_RE = new RegExp(`^${TAG}$`);
const REFERENCE_RE = new RegExp(`^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);

export const DOCKER_HUB = "docker.io";

export interface ImageReference {
  /** Registry host (and port), e.g. `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/python`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Parses a reference and normalises it the way Docker does: no domain means Docker Hub, and a single-component
 * Hub path gets `library/`. A first component counts as a domain only if it has a `.` or `:` or is `localhost`.
 * Returns undefined when the text is not a valid reference.
 */
export function parseImageReference(text: string): ImageReference | undefined {
  const match = REFERENCE_RE.exec(text);
  if (!match) {
    return undefined;
  }
  let [, domain, path, tag, digest] = match as unknown as [string, string | undefined, string, string?, string?];
  if (domain !== undefined && !isRegistryHost(domain)) {
    path = `${domain}/${path}`;
    domain = undefined;
    if (!REPOSITORY_PATH_RE.test(path)) return undefined;
  }
  if (domain === undefined || domain === "index.docker.io") {
    domain = DOCKER_HUB;
    if (!path.includes("/")) path = `library/${path}`;
  }
  if (path.length > 255) return undefined;
  return { domain, path, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Docker's rule for the first component of a reference: a registry host only with a `.` or `:`, or as `localhost`. */
export function isRegistryHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost" || component.startsWith("[");
}

/** The canonical text of a reference: `domain/path[:tag][@digest]`, with `latest` when neither is given. */
export function formatImageReference(ref: ImageReference): string {
  const tag = ref.tag ?? (ref.digest === undefined ? "latest" : undefined);
  return `${ref.domain}/${ref.path}${tag === undefined ? "" : `:${tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** Fully qualified form of a reference, so that `python:3.12` and `docker.io/library/python:3.12` are one base. */
export function normalizeImageReference(text: string): string | undefined {
  const ref = parseImageReference(text);
  return ref && formatImageReference(ref);
}

/** True when the registry host is a loopback address, which Docker (and we) talk to over plain HTTP. */
export function isLoopbackRegistry(domain: string): boolean {
  const host = domain.replace(/:[0-9]+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
