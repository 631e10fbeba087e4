/**
 * A small client for the OCI distribution API: does a manifest exist, and authenticated requests for
 * anything else (uploads in tests, future builders). It speaks the two auth schemes registries use:
 * `Basic`, and `Bearer` with a token service (Docker Hub, GHCR, Harbor, distribution's token auth).
 *
 * Failures never throw from `manifestExists`: the engine needs a tri-state answer, so anything that is
 * neither "found" nor "not found" is `unknown` with a reason that names the registry and what happened.
 */

import { createHash } from "node:crypto";
import { type ErrorCode, ImageSpecError, printable } from "../errors.js";
import { DOCKER_HUB, isLoopbackRegistry, parseImageReference } from "../reference.js";
import type { CredentialResolver, RegistryCredentials } from "./credentials.js";
import { bodyStream, type HttpAnswer, type HttpTransport, nodeHttpTransport, toResponse } from "./http.js";
import {
  findPlatformEntry,
  indexPlatforms,
  isIndexMediaType,
  ociImageIndex,
  OCI_INDEX_MEDIA_TYPE,
  parseIndexEntries,
  type PlatformManifest,
} from "./image-index.js";

/**
 * Whether a manifest is in its registry; `unknown` (down, no permission, ...) carries why. For an index checked for
 * platforms, `present` lists each platform's manifest, and `absent` may say what is missing (a tag that holds some
 * platforms but not all).
 */
export type Existence =
  | { status: "present"; digest?: string; platforms?: readonly PlatformManifest[] }
  | { status: "absent"; reason?: string }
  | { status: "unknown"; reason: string };

/**
 * Whether a push to a repository can work, asked before anything is built: `allowed`, `refused` (credentials
 * missing, wrong, or without push) or `unreachable` (connection, TLS, DNS, server errors), with why.
 */
export type PushAccess = { status: "allowed" } | { status: "refused" | "unreachable"; reason: string };

export interface RegistryClientOptions {
  /** Where credentials come from when a registry asks for them. Default: none (anonymous only). */
  credentials?: CredentialResolver;
  /** Registries (`host[:port]`) spoken to over plain HTTP. Loopback registries always are, as with Docker. */
  insecureRegistries?: readonly string[];
  /** Upper bound for one operation, including auth round trips. Default 10 s. */
  timeoutMs?: number;
  /** Sends requests with this fetch instead of `node:http` (tests, proxies). */
  fetch?: typeof fetch;
}

/** A repository in a registry; an `ImageReference` fits. */
export interface RegistryRepository {
  /** Registry host and port as in an image reference; `docker.io` for Docker Hub. */
  domain: string;
  /** Repository path, e.g. `library/python`. */
  path: string;
}

export interface RegistryRequestInit {
  method?: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  /** Bytes only (no streams): a request may be sent twice when the registry asks for authentication. */
  body?: string | Uint8Array;
  /** What the token must allow on the repository. Default `["pull"]`. */
  actions?: readonly ("pull" | "push")[];
  signal?: AbortSignal;
  /** Overrides the client's bound for this request (large uploads). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 10 * 60_000;
const DOCKER_HUB_API_HOST = "registry-1.docker.io";

/** Every manifest kind an image tag can point to; schema 1 only as a last resort for very old images. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5",
].join(", ");

/** The media types a manifest (or an index) of an image is served with. */
const MANIFEST_MEDIA_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
  "application/vnd.docker.distribution.manifest.v1+json",
]);

/** Registries refuse manifests larger than 4 MiB (distribution's limit); a larger body is not one. */
const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

function isManifestMediaType(contentType: string | null | undefined): boolean {
  return contentType !== null && contentType !== undefined && MANIFEST_MEDIA_TYPES.has(contentType.split(";", 1)[0]!.trim().toLowerCase());
}

/**
 * The media type a manifest body says it is: its `mediaType`, or for a body without one (OCI allows that) what its
 * shape says; undefined for anything that is not a JSON manifest.
 */
function manifestMediaType(body: Buffer): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const fields = json as Record<string, unknown>;
  if (fields.schemaVersion === 1) return "application/vnd.docker.distribution.manifest.v1+json";
  if (fields.schemaVersion !== 2) return undefined;
  if (typeof fields.mediaType === "string") return MANIFEST_MEDIA_TYPES.has(fields.mediaType) ? fields.mediaType : undefined;
  if (Array.isArray(fields.manifests)) return "application/vnd.oci.image.index.v1+json";
  if (typeof fields.config === "object" && fields.config !== null && Array.isArray(fields.layers)) return "application/vnd.oci.image.manifest.v1+json";
  return undefined;
}

function describeContentType(contentType: string): string {
  return JSON.stringify(contentType.split(";", 1)[0]!.trim().slice(0, 80));
}

/** Tokens are refreshed this long before the registry says they expire, so a request never races expiry. */
const TOKEN_EXPIRY_MARGIN_MS = 5_000;
/** Token lifetime when the token service does not say (the distribution token spec's default). */
const DEFAULT_TOKEN_LIFETIME_S = 60;

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Why a registry operation did not get an answer. Internal: `manifestExists` turns it into `unknown`,
 * `request` into an ImageSpecError.
 */
class RegistryProblem extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    /** The connection dropped after it was made: a GET may still work where a HEAD did not. */
    readonly dropped = false,
  ) {
    super(reason);
  }
}

/** Set by RegistryClient's static block: the way core's own modules reach the private `#request`. */
let sendRequest: (client: RegistryClient, repository: RegistryRepository, pathOrUrl: string, init: RegistryRequestInit) => Promise<Response>;

export class RegistryClient {
  static {
    sendRequest = (client, repository, pathOrUrl, init) => client.#request(repository, pathOrUrl, init);
  }

  readonly #credentials: CredentialResolver | undefined;
  readonly #insecure: Set<string>;
  readonly #timeoutMs: number;
  readonly #fetch: HttpTransport;
  /** The last auth challenge each registry sent, so later requests authenticate up front. */
  readonly #challenges = new Map<string, Challenge>();
  /** Bearer tokens by (realm, service, scope); in-flight requests are shared so concurrent checks fetch once. */
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pendingTokens = new Map<string, Promise<CachedToken>>();
  readonly #resolvedCredentials = new Map<string, Promise<RegistryCredentials | undefined>>();

  constructor(options: RegistryClientOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot create a registry client: timeoutMs must be between 1 and ${MAX_TIMEOUT_MS}`, {
        field: "timeoutMs",
        value: timeoutMs,
      });
    }
    this.#credentials = options.credentials;
    this.#insecure = new Set((options.insecureRegistries ?? []).map(normalizeRegistryHost));
    this.#timeoutMs = timeoutMs;
    const injected = options.fetch;
    this.#fetch = injected ? (url, init) => injected(url, { ...init, redirect: "follow" }) : nodeHttpTransport();
  }

  /** `https://<host>` (or `http://` for loopback and insecure registries); Docker Hub's API host for `docker.io`. */
  registryBaseUrl(domain: string): string {
    const host = domain === DOCKER_HUB ? DOCKER_HUB_API_HOST : domain;
    return `${this.#isPlainHttp(domain) ? "http" : "https"}://${host}`;
  }

  /**
   * Whether `reference` (`registry/path:tag` or `@digest`; no tag means `latest`) has a manifest.
   * With `platforms`, an index counts only when it lists a manifest for each of them and the registry still has
   * every one of those manifests; a single manifest counts for one platform (its architecture is not read) but not
   * for several. Never throws for registry trouble; throws INVALID_SPEC for a reference that does not parse and
   * CANCELLED when `signal` aborts.
   */
  async manifestExists(reference: string, options: { signal?: AbortSignal; platforms?: readonly string[] } = {}): Promise<Existence> {
    const ref = parseImageReference(reference);
    if (!ref) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot check whether ${JSON.stringify(reference)} exists: it is not a valid image reference`, {
        value: reference,
        hint: "Write it as registry/name:tag, e.g. ghcr.io/acme/app:1a2b3c.",
      });
    }
    const tagOrDigest = ref.digest ?? ref.tag ?? "latest";
    const url = `${this.registryBaseUrl(ref.domain)}/v2/${ref.path}/manifests/${tagOrDigest}`;
    const op = this.#operation(this.#timeoutMs, options.signal);
    const init = { headers: { Accept: MANIFEST_ACCEPT }, actions: ["pull"] as const };
    try {
      let response: HttpAnswer | undefined;
      try {
        response = await this.#send(ref, url, { ...init, method: "HEAD" }, op);
      } catch (error) {
        if (!(error instanceof RegistryProblem && error.dropped)) throw error;
      }
      let existence: Existence;
      let contentType: string | null = null;
      // Some registries and proxies do not implement HEAD on manifests; GET answers the same question.
      if (response === undefined || response.status === 405 || response.status === 501) {
        await discard(response);
        existence = await this.#existenceFromGet(ref, url, init, ref.digest, op);
      } else {
        await discard(response);
        if (response.status === 404) return { status: "absent" };
        if (response.status !== 200) return { status: "unknown", reason: describeStatus(ref.domain, response) };
        // A 200 is an answer only when it is a manifest: a proxy or a captive portal answers 200 with its own page.
        const headerDigest = response.headers.get("docker-content-digest") ?? undefined;
        const digest = headerDigest ?? ref.digest;
        if (isManifestMediaType(response.headers.get("content-type")) && digest !== undefined && DIGEST_RE.test(digest)) {
          if (headerDigest !== undefined && ref.digest !== undefined && headerDigest !== ref.digest) {
            return { status: "unknown", reason: `${ref.domain} answered for ${ref.digest} with a manifest whose digest is ${headerDigest}` };
          }
          contentType = response.headers.get("content-type");
          existence = { status: "present", digest };
        } else {
          // Not enough said on HEAD (no manifest type, no digest): the manifest itself, read and checked, answers.
          existence = await this.#existenceFromGet(ref, url, init, ref.digest, op);
        }
      }
      const platforms = options.platforms ?? [];
      if (existence.status !== "present" || platforms.length === 0) return existence;
      // One platform in a single manifest is today's common case: no further request.
      if (platforms.length === 1 && contentType !== null && !isIndexMediaType(contentType)) return existence;
      return await this.#platformExistence(ref, reference, existence.digest ?? ref.digest ?? tagOrDigest, platforms, op);
    } catch (error) {
      if (error instanceof RegistryProblem) {
        if (error.code === "CANCELLED") throw new ImageSpecError("CANCELLED", `Cannot check whether ${reference} exists: cancelled`);
        return { status: "unknown", reason: error.reason };
      }
      throw error;
    }
  }

  /**
   * Pushes an OCI image index under `reference`'s tag, listing one manifest per platform. Each manifest must already
   * be in the same repository (pushed by digest or under another tag); its media type and size are read from the
   * registry. Resolves to the index's digest. Throws REGISTRY_ERROR or AUTH_ERROR when the registry refuses.
   */
  async pushImageIndex(reference: string, manifests: readonly PlatformManifest[], options: { signal?: AbortSignal } = {}): Promise<string> {
    const ref = parseImageReference(reference);
    if (!ref?.tag || ref.digest) {
      throw new ImageSpecError(
        "INVALID_SPEC",
        `Cannot push an image index to ${JSON.stringify(reference)}: it needs a reference with a tag (registry/name:tag)`,
        { value: reference },
      );
    }
    if (manifests.length === 0)
      throw new ImageSpecError("INVALID_SPEC", `Cannot push an image index to ${reference}: it lists no manifest`, { value: reference });
    const described = await Promise.all(
      manifests.map(async (m) => {
        const response = await this.#request(ref, `/v2/${ref.path}/manifests/${m.digest}`, {
          method: "HEAD",
          headers: { Accept: MANIFEST_ACCEPT },
          actions: ["pull", "push"],
          ...(options.signal && { signal: options.signal }),
        });
        await discard(response);
        const mediaType = response.headers.get("content-type")?.split(";")[0]?.trim();
        const size = Number(response.headers.get("content-length"));
        if (response.status !== 200 || !mediaType || !Number.isInteger(size) || size <= 0) {
          throw new ImageSpecError(
            "REGISTRY_ERROR",
            `Cannot push an image index to ${reference}: the ${m.platform} manifest ${m.digest} is not in ${ref.domain}/${ref.path} (HEAD answered ${response.status}${mediaType ? `, ${mediaType}` : ""})`,
            {
              value: m.digest,
              hint: "Push every platform's image to the same repository first.",
            },
          );
        }
        return { ...m, mediaType, size };
      }),
    );
    const body = ociImageIndex(described);
    const response = await this.#request(ref, `/v2/${ref.path}/manifests/${ref.tag}`, {
      method: "PUT",
      headers: { "Content-Type": OCI_INDEX_MEDIA_TYPE },
      body,
      actions: ["pull", "push"],
      ...(options.signal && { signal: options.signal }),
    });
    const answer = await response.text().catch(() => "");
    if (response.status !== 201 && response.status !== 200) {
      throw new ImageSpecError(
        "REGISTRY_ERROR",
        `Cannot push an image index to ${reference}: ${describeStatus(ref.domain, response)}${answer ? ` (${answer.trim().slice(0, 300)})` : ""}`,
        {
          value: reference,
          hint: `Check that ${ref.domain} accepts OCI image indexes (${OCI_INDEX_MEDIA_TYPE}).`,
        },
      );
    }
    return `sha256:${createHash("sha256").update(body).digest("hex")}`;
  }

  /**
   * Whether pushing to `repository` can work, without pushing anything: `GET /v2/` answers whether the registry is
   * there and how it authenticates. Basic: the credentials must be present and accepted. Bearer: the token service
   * must give a token for `pull,push`; a JWT token must also grant `push` (token services give a token that grants
   * less rather than refusing). An open registry (200 without credentials) is allowed. Never throws for registry
   * trouble; throws CANCELLED when `signal` aborts.
   */
  async pushAccess(repository: RegistryRepository, options: { signal?: AbortSignal } = {}): Promise<PushAccess> {
    const { domain } = repository;
    const url = `${this.registryBaseUrl(domain)}/v2/`;
    const op = this.#operation(this.#timeoutMs, options.signal);
    const scope = `repository:${repository.path}:pull,push`;
    try {
      let response = await this.#fetchOnce(domain, url, { method: "GET" }, undefined, op);
      await discard(response);
      if (response.status === 200) return { status: "allowed" };
      if (response.status !== 401) return { status: "unreachable", reason: `${describeStatus(domain, response)} to GET /v2/ (is it a registry?)` };
      const challenge = pickChallenge(response.headers.get("www-authenticate"));
      if (!challenge) return { status: "refused", reason: `${domain} refused the request (401) without saying how to authenticate` };
      this.#challenges.set(domain, challenge);
      const auth: AuthAttempt = { usedCredentials: false };
      const authorization = await this.#authorize(domain, challenge, scope, auth, op);
      if (authorization === undefined) return { status: "refused", reason: credentialsNeeded(domain) };
      if (challenge.scheme === "basic") {
        response = await this.#fetchOnce(domain, url, { method: "GET" }, authorization, op);
        await discard(response);
        if (response.status === 401 || response.status === 403)
          return { status: "refused", reason: `credentials for ${domain} were refused (${response.status})` };
        if (response.status !== 200) return { status: "unreachable", reason: describeStatus(domain, response) };
        return { status: "allowed" };
      }
      const granted = jwtGrantedActions(authorization.slice("Bearer ".length), repository.path);
      if (granted !== undefined && !granted.includes("push") && !granted.includes("*")) {
        return {
          status: "refused",
          reason: auth.usedCredentials
            ? `credentials for ${domain} do not allow push to ${repository.path}`
            : `${credentialsNeeded(domain)}; an anonymous token does not allow push to ${repository.path}`,
        };
      }
      // A token whose grants cannot be read: only a token got without credentials is known to be useless for a push.
      if (granted === undefined && !auth.usedCredentials) return { status: "refused", reason: credentialsNeeded(domain) };
      return { status: "allowed" };
    } catch (error) {
      if (error instanceof RegistryProblem) {
        if (error.code === "CANCELLED") throw new ImageSpecError("CANCELLED", `Cannot check whether ${domain} accepts a push: cancelled`);
        return { status: error.code === "AUTH_ERROR" ? "refused" : "unreachable", reason: error.reason };
      }
      throw error;
    }
  }

  /**
   * One authenticated request to a repository's registry: negotiates Basic or Bearer auth as the registry
   * asks, with a token scoped to `repository:<path>:<actions>`. `pathOrUrl` is `/v2/...` or an absolute URL
   * a registry returned (an upload `Location`); credentials are only sent to the registry's own origin.
   * Returns the response for any status except a final 401/403 (AUTH_ERROR); unreachable registries throw
   * REGISTRY_ERROR.
   */
  async #request(repository: RegistryRepository, pathOrUrl: string, init: RegistryRequestInit = {}): Promise<Response> {
    const method = init.method ?? "GET";
    const url = new URL(pathOrUrl, this.registryBaseUrl(repository.domain)).toString();
    const op = this.#operation(init.timeoutMs ?? this.#timeoutMs, init.signal);
    try {
      return toResponse(await this.#send(repository, url, { ...init, method }, op), method);
    } catch (error) {
      if (error instanceof RegistryProblem) {
        throw new ImageSpecError(error.code, `Cannot send ${method} ${new URL(url).pathname} to ${repository.domain}: ${error.reason}`, {
          hint:
            error.code === "AUTH_ERROR"
              ? `Check the credentials for ${repository.domain} (docker login ${repository.domain}).`
              : `Check that ${repository.domain} is running and reachable.`,
        });
      }
      throw error;
    }
  }

  /** The platform check of `manifestExists`: the index lists every platform, and every listed manifest is there. */
  async #platformExistence(ref: RegistryRepository, reference: string, digestOrTag: string, platforms: readonly string[], op: Operation): Promise<Existence> {
    const digest = digestOrTag.includes(":") ? digestOrTag : undefined;
    const url = `${this.registryBaseUrl(ref.domain)}/v2/${ref.path}/manifests/${digestOrTag}`;
    const response = await this.#send(ref, url, { method: "GET", headers: { Accept: MANIFEST_ACCEPT }, actions: ["pull"] }, op);
    if (response.status === 404) {
      await discard(response);
      return { status: "absent" };
    }
    if (response.status !== 200) {
      await discard(response);
      return { status: "unknown", reason: describeStatus(ref.domain, response) };
    }
    const bytes = await readBody(response, url, op, MANIFEST_SIZE_LIMIT);
    if (bytes === undefined || manifestMediaType(bytes) === undefined) {
      return {
        status: "unknown",
        reason: `${ref.domain} answered 200 for ${reference} with something that is not an image manifest or index (a proxy or a login page in the way?)`,
      };
    }
    const body = bytes.toString("utf8");
    const entries = parseIndexEntries(body, response.headers.get("content-type"));
    const wanted = platforms.join(", ");
    if (entries === undefined) {
      // A single manifest cannot hold several platforms.
      return platforms.length === 1
        ? { status: "present", ...(digest !== undefined && { digest }) }
        : { status: "absent", reason: `${reference} holds a single-platform manifest, not an index of ${wanted}` };
    }
    const found = platforms.map((platform) => ({ platform, entry: findPlatformEntry(entries, platform) }));
    const missing = found.filter((f) => f.entry === undefined).map((f) => f.platform);
    if (missing.length > 0) {
      const has = indexPlatforms(entries);
      return { status: "absent", reason: `the index at ${reference} holds ${has.length > 0 ? has.join(", ") : "no platform"} but not ${missing.join(", ")}` };
    }
    // An index can outlive a manifest it lists (deleted by digest): each must still be there.
    const checks = await Promise.all(
      found.map(async ({ platform, entry }) => {
        const child = await this.#send(
          ref,
          `${this.registryBaseUrl(ref.domain)}/v2/${ref.path}/manifests/${entry!.digest}`,
          { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT }, actions: ["pull"] },
          op,
        );
        await discard(child);
        return { platform, digest: entry!.digest, status: child.status, response: child };
      }),
    );
    const gone = checks.filter((c) => c.status === 404);
    if (gone.length > 0) {
      return {
        status: "absent",
        reason: `the index at ${reference} lists ${gone.map((g) => `${g.platform} (${g.digest})`).join(", ")}, but the registry no longer has ${gone.length === 1 ? "that manifest" : "those manifests"}`,
      };
    }
    const odd = checks.find((c) => c.status !== 200);
    if (odd) return { status: "unknown", reason: `the ${odd.platform} manifest of ${reference}: ${describeStatus(ref.domain, odd.response)}` };
    return { status: "present", ...(digest !== undefined && { digest }), platforms: checks.map((c) => ({ platform: c.platform, digest: c.digest })) };
  }

  /**
   * Existence from the manifest itself: present only for a body that is an image manifest (a known media type, JSON
   * with a schemaVersion) whose digest checks out against the registry's `Docker-Content-Digest` and the digest asked
   * for. Anything else that answers 200 (an HTML page, a truncated body) is `unknown`, with why.
   */
  async #existenceFromGet(
    repository: RegistryRepository,
    url: string,
    init: { headers: Record<string, string>; actions: readonly ("pull" | "push")[] },
    knownDigest: string | undefined,
    op: Operation,
  ): Promise<Existence> {
    const response = await this.#send(repository, url, { ...init, method: "GET" }, op);
    if (response.status !== 200) {
      await discard(response);
      return response.status === 404 ? { status: "absent" } : { status: "unknown", reason: describeStatus(repository.domain, response) };
    }
    const contentType = response.headers.get("content-type");
    const notManifest = (why: string): Existence => ({
      status: "unknown",
      reason: `${repository.domain} answered 200 with ${why}, which is not an image manifest (a proxy or a login page in the way?)`,
    });
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > MANIFEST_SIZE_LIMIT) {
      await discard(response);
      return notManifest(`${declared} bytes`);
    }
    const body = await readBody(response, url, op, MANIFEST_SIZE_LIMIT);
    if (body === undefined) return notManifest(`more than ${MANIFEST_SIZE_LIMIT} bytes`);
    const mediaType = manifestMediaType(body);
    if (mediaType === undefined) return notManifest(contentType ? `a ${describeContentType(contentType)} body` : "a body that is not JSON");
    if (!isManifestMediaType(contentType) && !isManifestMediaType(mediaType)) return notManifest(`a ${describeContentType(contentType ?? mediaType)} body`);
    const headerDigest = response.headers.get("docker-content-digest") ?? undefined;
    const expected = knownDigest ?? headerDigest;
    const algorithm = expected?.split(":", 1)[0] ?? "sha256";
    if (!["sha256", "sha384", "sha512"].includes(algorithm))
      return { status: "unknown", reason: `${repository.domain} names the manifest by ${expected}, a digest imagespec cannot check` };
    const digest = `${algorithm}:${createHash(algorithm).update(body).digest("hex")}`;
    // Schema 1 manifests are signed: their digest is of the payload without the signatures, so it cannot be checked here.
    if (expected !== undefined && expected !== digest && !mediaType.startsWith("application/vnd.docker.distribution.manifest.v1")) {
      return {
        status: "unknown",
        reason: `${repository.domain} sent a manifest whose bytes do not match its digest ${expected} (got ${digest}); a proxy changed it, or the transfer broke`,
      };
    }
    return { status: "present", digest: expected ?? digest };
  }

  /** Sends a request, answering at most one auth challenge; a final 401/403 becomes a RegistryProblem. */
  async #send(repository: RegistryRepository, url: string, init: RegistryRequestInit & { method: string }, op: Operation): Promise<HttpAnswer> {
    const { domain } = repository;
    const scope = `repository:${repository.path}:${(init.actions ?? ["pull"]).join(",")}`;
    // Credentials go to the registry's own origin only, never to a host an upload Location points elsewhere.
    const sameOrigin = new URL(url).origin === new URL(this.registryBaseUrl(domain)).origin;
    const auth: AuthAttempt = { usedCredentials: false };

    const known = sameOrigin ? this.#challenges.get(domain) : undefined;
    let authorization = known ? await this.#authorize(domain, known, scope, auth, op) : undefined;
    let response = await this.#fetchOnce(domain, url, init, authorization, op);

    if (response.status === 401 && sameOrigin) {
      const challenge = pickChallenge(response.headers.get("www-authenticate"));
      await discard(response);
      if (!challenge) throw new RegistryProblem("AUTH_ERROR", `${domain} refused the request (401) without saying how to authenticate`);
      // The same Basic credentials were just refused: sending them again cannot help.
      if (authorization?.startsWith("Basic ") && challenge.scheme === "basic") {
        throw new RegistryProblem("AUTH_ERROR", describeRefusal(domain, repository.path, scope, 401, true, false));
      }
      // A token refused for insufficient_scope was valid and only lacked an action; the token service would give
      // the same credentials the same actions again.
      if (authorization?.startsWith("Bearer ") && challenge.params.error === "insufficient_scope") {
        throw new RegistryProblem("AUTH_ERROR", describeRefusal(domain, repository.path, scope, 401, auth.usedCredentials, true));
      }
      // A token the registry no longer accepts must not be offered again.
      if (authorization?.startsWith("Bearer ")) this.#tokens.delete(tokenKey(challenge, scope));
      this.#challenges.set(domain, challenge);
      authorization = await this.#authorize(domain, challenge, scope, auth, op);
      if (authorization === undefined) throw new RegistryProblem("AUTH_ERROR", credentialsNeeded(domain));
      response = await this.#fetchOnce(domain, url, init, authorization, op);
    }
    if (response.status === 401 || response.status === 403) {
      // Token registries (distribution, Docker Hub, GHCR) answer a valid token that lacks an action with 401 insufficient_scope.
      const insufficientScope = pickChallenge(response.headers.get("www-authenticate"))?.params.error === "insufficient_scope";
      await discard(response);
      throw new RegistryProblem("AUTH_ERROR", describeRefusal(domain, repository.path, scope, response.status, auth.usedCredentials, insufficientScope));
    }
    return response;
  }

  /** The Authorization header for a challenge; undefined when Basic is asked for and there are no credentials. */
  async #authorize(domain: string, challenge: Challenge, scope: string, auth: AuthAttempt, op: Operation): Promise<string | undefined> {
    const credentials = await this.#credentialsFor(domain, op);
    if (challenge.scheme === "basic") {
      if (credentials?.username === undefined || credentials.password === undefined) return undefined;
      auth.usedCredentials = true;
      return `Basic ${basicToken(credentials)}`;
    }
    const key = tokenKey(challenge, scope);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) {
      auth.usedCredentials = credentials !== undefined;
      return `Bearer ${cached.token}`;
    }
    let pending = this.#pendingTokens.get(key);
    if (!pending) {
      pending = this.#fetchToken(domain, challenge, scope, credentials, op).finally(() => this.#pendingTokens.delete(key));
      this.#pendingTokens.set(key, pending);
    }
    const token = await raceAbort(pending, `the token service of ${domain} did not answer`, op);
    this.#tokens.set(key, token);
    auth.usedCredentials = credentials !== undefined;
    return `Bearer ${token.token}`;
  }

  /** The distribution token flow: GET realm?service&scope with Basic credentials, or POST an OAuth2 refresh token. */
  async #fetchToken(domain: string, challenge: Challenge, scope: string, credentials: RegistryCredentials | undefined, op: Operation): Promise<CachedToken> {
    const { realm, service } = challenge.params;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm ?? "");
      if (realmUrl.protocol !== "https:" && realmUrl.protocol !== "http:") throw new Error("not http");
    } catch {
      throw new RegistryProblem("REGISTRY_ERROR", `${domain} asked for a Bearer token without a usable realm URL (${JSON.stringify(realm ?? "")})`);
    }
    const tokenHost = realmUrl.host;
    if (credentials && realmUrl.protocol === "http:" && !this.#isPlainHttp(tokenHost)) {
      throw new RegistryProblem(
        "AUTH_ERROR",
        `will not send the credentials for ${domain} over plain HTTP to its token service ${tokenHost}; add ${tokenHost} to insecureRegistries if that is intended`,
      );
    }

    let response: HttpAnswer | undefined;
    if (credentials?.identityToken !== undefined) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credentials.identityToken, client_id: "imagespec", scope });
      if (service !== undefined) form.set("service", service);
      response = await this.#fetchOnce(
        tokenHost,
        realmUrl.toString(),
        {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: form.toString(),
        },
        undefined,
        op,
      );
      // A token service without OAuth2 support: fall back to the plain GET below.
      if (response.status === 404 || response.status === 405) response = await discard(response);
    }
    if (response === undefined) {
      const query = new URL(realmUrl);
      if (service !== undefined) query.searchParams.set("service", service);
      query.searchParams.set("scope", scope);
      const basic = credentials?.username !== undefined && credentials.password !== undefined ? `Basic ${basicToken(credentials)}` : undefined;
      response = await this.#fetchOnce(tokenHost, query.toString(), { method: "GET" }, basic, op);
    }

    if (response.status === 401 || response.status === 403) {
      await discard(response);
      throw new RegistryProblem(
        "AUTH_ERROR",
        credentials
          ? `credentials for ${domain} were refused by its token service ${tokenHost} (${response.status})`
          : `${credentialsNeeded(domain)}; its token service ${tokenHost} refused anonymous access (${response.status})`,
      );
    }
    if (response.status !== 200) {
      await discard(response);
      throw new RegistryProblem("REGISTRY_ERROR", `the token service ${tokenHost} of ${domain} answered ${response.status} ${response.statusText}`.trimEnd());
    }
    const body = await readBody(response, realmUrl.toString(), op);
    let answer: unknown;
    try {
      answer = JSON.parse(body.toString("utf8"));
    } catch {
      answer = undefined;
    }
    const fields = (typeof answer === "object" && answer !== null ? answer : {}) as Record<string, unknown>;
    const token = typeof fields.token === "string" && fields.token !== "" ? fields.token : fields.access_token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryProblem("REGISTRY_ERROR", `the token service ${tokenHost} of ${domain} answered without a token`);
    }
    const lifetimeS = typeof fields.expires_in === "number" && fields.expires_in > 0 ? fields.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    const issuedAt = typeof fields.issued_at === "string" ? Date.parse(fields.issued_at) : Number.NaN;
    // Trust the service's issue time only when the clocks roughly agree; otherwise count from now.
    const start = Number.isFinite(issuedAt) && Math.abs(issuedAt - Date.now()) < 60_000 ? issuedAt : Date.now();
    return { token, expiresAt: start + lifetimeS * 1000 - TOKEN_EXPIRY_MARGIN_MS };
  }

  async #credentialsFor(domain: string, op: Operation): Promise<RegistryCredentials | undefined> {
    const resolver = this.#credentials;
    if (!resolver) return undefined;
    let pending = this.#resolvedCredentials.get(domain);
    if (!pending) {
      pending = resolver(domain);
      this.#resolvedCredentials.set(domain, pending);
      pending.catch(() => this.#resolvedCredentials.delete(domain));
    }
    try {
      return await raceAbort(pending, `the credentials for ${domain} were not ready`, op);
    } catch (error) {
      if (error instanceof RegistryProblem) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new RegistryProblem("AUTH_ERROR", `the credentials for ${domain} could not be read: ${message}`);
    }
  }

  /** One HTTP exchange; network failures become a RegistryProblem that names the host and what went wrong. */
  async #fetchOnce(
    host: string,
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: string | Uint8Array },
    authorization: string | undefined,
    op: Operation,
  ): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...init.headers };
    if (authorization !== undefined) headers.Authorization = authorization;
    try {
      return await this.#fetch(url, {
        method: init.method,
        headers,
        ...(init.body !== undefined && { body: init.body }),
        signal: op.signal,
      });
    } catch (error) {
      throw transportProblem(host, error, op);
    }
  }

  #operation(timeoutMs: number, callerSignal: AbortSignal | undefined): Operation {
    const deadline = AbortSignal.timeout(timeoutMs);
    return { signal: callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline, timeoutMs };
  }

  #isPlainHttp(domain: string): boolean {
    const host = normalizeRegistryHost(domain);
    return isLoopbackRegistry(host) || this.#insecure.has(host) || this.#insecure.has(host.replace(/:[0-9]+$/, ""));
  }
}

interface AuthAttempt {
  usedCredentials: boolean;
}

/** One bounded operation: its abort signal and the bound it was given (for the timeout message). */
interface Operation {
  signal: AbortSignal;
  timeoutMs: number;
}

function normalizeRegistryHost(entry: string): string {
  return entry
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
}

function basicToken(credentials: RegistryCredentials): string {
  return Buffer.from(`${credentials.username ?? ""}:${credentials.password ?? ""}`, "utf8").toString("base64");
}

function tokenKey(challenge: Challenge, scope: string): string {
  return JSON.stringify([challenge.params.realm ?? "", challenge.params.service ?? "", scope]);
}

function credentialsNeeded(domain: string): string {
  return `${domain} requires credentials and none were found for it (run \`docker login ${domain}\` or set registryConfig)`;
}

/**
 * The actions a distribution token (a JWT with an `access` claim) grants on a repository; undefined when the token
 * is not a JWT that says (opaque tokens). Only read, never verified: the registry verifies it.
 */
function jwtGrantedActions(token: string, path: string): string[] | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  const access = (claims as { access?: unknown } | null)?.access;
  if (!Array.isArray(access)) return undefined;
  return access
    .filter(
      (entry): entry is { type: string; name: string; actions: unknown[] } =>
        typeof entry === "object" && entry !== null && entry.type === "repository" && entry.name === path,
    )
    .flatMap((entry) => (Array.isArray(entry.actions) ? entry.actions.filter((a): a is string => typeof a === "string") : []));
}

function describeRefusal(domain: string, path: string, scope: string, status: number, usedCredentials: boolean, insufficientScope: boolean): string {
  if (usedCredentials) {
    if (status === 403) return `credentials for ${domain} do not allow ${scope} (403)`;
    // The token service accepted the credentials; the token it gave does not cover what was asked.
    return insufficientScope ? `credentials for ${domain} do not allow ${scope} (401 insufficient_scope)` : `credentials for ${domain} were refused (401)`;
  }
  // Docker Hub answers an anonymous request for a repository that does not exist with 401 too.
  return status === 401
    ? `${credentialsNeeded(domain)}; it refused anonymous access to ${path} (401), or the repository does not exist`
    : `${domain} denied anonymous access to ${path} (403); log in with \`docker login ${domain}\``;
}

function describeStatus(domain: string, response: HttpAnswer): string {
  const text = printable(`${response.status} ${response.statusText.slice(0, 80)}`.trimEnd());
  if (response.status === 429) {
    const retryAfter = response.headers.get("retry-after")?.trim();
    const when =
      retryAfter && /^\d{1,9}$/.test(retryAfter)
        ? `in ${retryAfter} s (its Retry-After)`
        : retryAfter
          ? `after ${printable(retryAfter.slice(0, 64))} (its Retry-After)`
          : "later";
    return `${domain} is rate limiting requests (${text}); try again ${when}`;
  }
  if (response.status >= 500) return `${domain} answered with a server error (${text})`;
  return `${domain} answered ${text}`;
}

/**
 * Parses `WWW-Authenticate` (several challenges may be joined by commas) and picks the one to answer:
 * Bearer when offered, else Basic.
 */
export function pickChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const challenges: Challenge[] = [];
  // A token followed by `=value` is a parameter of the current challenge; a bare token starts a new one.
  const item = /\s*,?\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?/y;
  let position = 0;
  while (position < header.length) {
    item.lastIndex = position;
    const match = item.exec(header);
    if (!match || item.lastIndex === position) break;
    position = item.lastIndex;
    const [, name = "", quoted, bare] = match;
    if (quoted === undefined && bare === undefined) {
      challenges.push({ scheme: name.toLowerCase(), params: {} });
    } else {
      const current = challenges.at(-1);
      if (current) current.params[name.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : (bare ?? "");
    }
  }
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
}

/** Turns a fetch failure into words: refused, DNS, TLS, timeout, dropped connection. */
function transportProblem(host: string, error: unknown, op: Operation): RegistryProblem {
  if (op.signal.aborted) return abortProblem(op, `${host} did not answer`);
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const detail = firstErrorWithCode(cause) ?? firstErrorWithCode(error);
  const code = detail?.code ?? "";
  // undici says "fetch failed" and keeps what failed in its cause (e.g. "bad port" has no code).
  const message = detail?.message ?? (cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error));
  if (code === "ECONNREFUSED") return new RegistryProblem("REGISTRY_ERROR", `cannot connect to ${host}: connection refused`);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return new RegistryProblem("REGISTRY_ERROR", `cannot connect to ${host}: its name does not resolve (DNS lookup failed)`);
  }
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") {
    return new RegistryProblem("REGISTRY_ERROR", `cannot connect to ${host}: the connection timed out`);
  }
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new RegistryProblem("REGISTRY_ERROR", `cannot connect to ${host}: no route to the host`);
  if (/CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i.test(code)) {
    return new RegistryProblem(
      "REGISTRY_ERROR",
      `cannot connect to ${host}: TLS failed (${tlsFailure(code, message)}); if it serves plain HTTP, add it to insecureRegistries`,
    );
  }
  if (code.startsWith("HPE_")) {
    return new RegistryProblem("REGISTRY_ERROR", `${host} did not answer with HTTP (${message}); if it serves HTTPS, remove it from insecureRegistries`);
  }
  if (code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_SOCKET" || code === "UND_ERR_CLOSED") {
    return new RegistryProblem("REGISTRY_ERROR", `${host} closed the connection without answering`, true);
  }
  return new RegistryProblem("REGISTRY_ERROR", `cannot connect to ${host}: ${message}`);
}

/** OpenSSL writes `...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:<file>:<line>:`; keep the words. */
function tlsFailure(code: string, message: string): string {
  const parts = message.split(":");
  const routines = parts.findIndex((part) => part.endsWith("routines"));
  const words = routines >= 0 ? parts[routines + 2] : message.split("\n")[0];
  return words?.trim() || code;
}

/** The deadline passed (`whatTimedOut` within N s), or the caller cancelled. */
function abortProblem(op: Operation, whatTimedOut: string): RegistryProblem {
  const reason: unknown = op.signal.reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new RegistryProblem("REGISTRY_ERROR", `${whatTimedOut} within ${formatSeconds(op.timeoutMs)}`);
  }
  return new RegistryProblem("CANCELLED", "cancelled");
}

/** Node reports a failed connection as `fetch failed` with the cause inside, sometimes an AggregateError per address. */
function firstErrorWithCode(error: unknown): { code: string; message: string } | undefined {
  for (let depth = 0, current = error; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const candidate = current as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
    if (typeof candidate.code === "string") return { code: candidate.code, message: String(candidate.message ?? candidate.code) };
    current = Array.isArray(candidate.errors) ? candidate.errors[0] : candidate.cause;
  }
  return undefined;
}

/** The body; with `limit`, undefined (and the rest left unread) once it grows past that many bytes. */
async function readBody(response: HttpAnswer, url: string, op: Operation): Promise<Buffer>;
async function readBody(response: HttpAnswer, url: string, op: Operation, limit: number): Promise<Buffer | undefined>;
async function readBody(response: HttpAnswer, url: string, op: Operation, limit?: number): Promise<Buffer | undefined> {
  try {
    const stream = limit === undefined ? undefined : bodyStream(response);
    if (limit === undefined || stream === undefined) return Buffer.from(await response.arrayBuffer());
    const chunks: Buffer[] = [];
    let size = 0;
    // Leaving the loop early cancels the rest of the stream.
    for await (const chunk of stream) {
      size += chunk.byteLength;
      if (size > limit) return undefined;
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  } catch (error) {
    throw transportProblem(new URL(url).host, error, op);
  }
}

/** Releases a response body we do not read, so its connection goes back to the pool. Returns undefined. */
async function discard(response: HttpAnswer | undefined): Promise<undefined> {
  await response?.body?.cancel().catch(() => undefined);
  return undefined;
}

/** Waits for a promise but gives up when the signal aborts (a slow credential helper must not outlive the bound). */
function raceAbort<T>(promise: Promise<T>, whatTimedOut: string, op: Operation): Promise<T> {
  const { signal } = op;
  if (signal.aborted) return Promise.reject(abortProblem(op, whatTimedOut));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortProblem(op, whatTimedOut));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * One authenticated request to a repository's registry (see `RegistryClient#request`), for core's own modules (reading
 * an image's config) and tests. Not part of the package's surface: users ask a client about existence and push access.
 */
export function registryRequest(client: RegistryClient, repository: RegistryRepository, pathOrUrl: string, init: RegistryRequestInit = {}): Promise<Response> {
  return sendRequest(client, repository, pathOrUrl, init);
}
