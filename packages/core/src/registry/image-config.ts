/**
 * An image's run configuration (ENTRYPOINT, CMD) read from its registry: the manifest (the platform's entry of an
 * index), then the config blob. A builder needs it when it must restate what Docker would otherwise drop: setting
 * an ENTRYPOINT clears the base image's CMD, and the runtime-packages wrapper sets one.
 */

import { ImageSpecError } from "../errors.js";
import { parseImageReference } from "../reference.js";
import { MANIFEST_ACCEPT, RegistryClient, registryRequest } from "./client.js";

export interface ImageRunConfig {
  /** The image's ENTRYPOINT, or undefined when it has none. */
  readonly entrypoint: readonly string[] | undefined;
  /** The image's CMD, or undefined when it has none. */
  readonly cmd: readonly string[] | undefined;
}

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

interface Descriptor {
  readonly mediaType?: string;
  readonly digest?: string;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
}

/**
 * Reads the ENTRYPOINT and CMD of `reference` for `platform` (`os/arch[/variant]`, default linux/amd64). Throws
 * REGISTRY_ERROR (AUTH_ERROR for refused credentials) naming the reference when the registry cannot say.
 */
export async function readImageRunConfig(
  reference: string,
  options: { platform?: string; client?: RegistryClient; signal?: AbortSignal } = {},
): Promise<ImageRunConfig> {
  const ref = parseImageReference(reference);
  if (!ref)
    throw new ImageSpecError("INVALID_SPEC", `Cannot read the configuration of ${JSON.stringify(reference)}: it is not an image reference`, {
      value: reference,
    });
  const client = options.client ?? new RegistryClient();
  const platform = options.platform ?? "linux/amd64";
  const fail = (why: string) =>
    new ImageSpecError("REGISTRY_ERROR", `Cannot read the configuration of ${reference} from ${ref.domain}: ${why}`, {
      value: reference,
      hint: `Check that ${reference} exists in its registry and that you can pull it (docker login ${ref.domain}).`,
    });
  const get = async (pathname: string, accept: string): Promise<{ body: Record<string, unknown>; type: string | undefined }> => {
    const response = await registryRequest(client, ref, pathname, { headers: { Accept: accept }, ...(options.signal && { signal: options.signal }) });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw fail(response.status === 404 ? `${pathname} is not there (404)` : `GET ${pathname} answered ${response.status}`);
    }
    const length = Number(response.headers.get("content-length") ?? "0");
    if (length > MAX_DOCUMENT_BYTES) {
      await response.body?.cancel();
      throw fail(`${pathname} is ${length} bytes, more than a manifest or a configuration should be`);
    }
    const text = await response.text();
    try {
      return { body: JSON.parse(text) as Record<string, unknown>, type: response.headers.get("content-type")?.split(";")[0]?.trim() };
    } catch {
      throw fail(`${pathname} is not JSON`);
    }
  };

  let manifest = await get(`/v2/${ref.path}/manifests/${ref.digest ?? ref.tag ?? "latest"}`, MANIFEST_ACCEPT);
  const mediaType = (manifest.body.mediaType as string | undefined) ?? manifest.type;
  if ((mediaType !== undefined && INDEX_TYPES.has(mediaType)) || Array.isArray(manifest.body.manifests)) {
    const [os, architecture, variant] = platform.split("/");
    const entries = (manifest.body.manifests as Descriptor[] | undefined) ?? [];
    const entry =
      entries.find((m) => m.platform?.os === os && m.platform?.architecture === architecture && (variant === undefined || m.platform?.variant === variant)) ??
      entries.find((m) => m.platform?.os === os && m.platform?.architecture === architecture);
    if (!entry?.digest) {
      const offered = entries.map((m) => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join("/")).join(", ");
      throw fail(`it has no image for ${platform} (it has ${offered || "none"})`);
    }
    manifest = await get(`/v2/${ref.path}/manifests/${entry.digest}`, MANIFEST_ACCEPT);
  }
  const config = manifest.body.config as Descriptor | undefined;
  if (!config?.digest) throw fail("its manifest names no configuration (a schema 1 manifest?)");
  const blob = await get(
    `/v2/${ref.path}/blobs/${config.digest}`,
    "application/vnd.oci.image.config.v1+json, application/vnd.docker.container.image.v1+json, */*",
  );
  const run = (blob.body.config ?? {}) as { Entrypoint?: unknown; Cmd?: unknown };
  const list = (value: unknown) => (Array.isArray(value) && value.every((v) => typeof v === "string") ? (value as string[]) : undefined);
  return { entrypoint: list(run.Entrypoint), cmd: list(run.Cmd) };
}
