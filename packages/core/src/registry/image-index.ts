/**
 * Multi-platform images in a registry: an OCI image index (or a Docker manifest list, which reads the same) whose
 * entries point at one manifest per platform, by digest. imagespec writes OCI indexes and reads both.
 */

import { formatPlatform, type OciPlatform, parsePlatform, samePlatform } from "../platform.js";

export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json";

/** One platform's manifest in a registry. */
export interface PlatformManifest {
  /** `os/arch[/variant]`, as the image asked for it. */
  readonly platform: string;
  readonly digest: string;
}

/** An entry of an index, as read. */
export interface IndexEntry {
  readonly mediaType: string | undefined;
  readonly digest: string;
  readonly size: number | undefined;
  readonly platform: OciPlatform | undefined;
}

/** A media type (without parameters) says the manifest is an index of several. */
export function isIndexMediaType(mediaType: string | null | undefined): boolean {
  const type = mediaType?.split(";")[0]?.trim().toLowerCase();
  return type === OCI_INDEX_MEDIA_TYPE || type === DOCKER_MANIFEST_LIST_MEDIA_TYPE;
}

/**
 * The entries of an index, or undefined when the JSON is not one (a single image manifest). An index without a
 * `mediaType` field is recognised by its `manifests` array, as the OCI spec allows.
 */
export function parseIndexEntries(body: string, contentType: string | null | undefined): IndexEntry[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const manifest = value as { mediaType?: unknown; manifests?: unknown };
  const declared = typeof manifest.mediaType === "string" ? manifest.mediaType : contentType;
  if (!Array.isArray(manifest.manifests) || (declared && !isIndexMediaType(declared))) return undefined;
  return manifest.manifests.flatMap((entry): IndexEntry[] => {
    if (typeof entry !== "object" || entry === null || typeof (entry as { digest?: unknown }).digest !== "string") return [];
    const e = entry as { mediaType?: unknown; digest: string; size?: unknown; platform?: { os?: unknown; architecture?: unknown; variant?: unknown } };
    const p = e.platform;
    const platform =
      typeof p?.os === "string" && typeof p.architecture === "string"
        ? { os: p.os, architecture: p.architecture, ...(typeof p.variant === "string" && p.variant !== "" && { variant: p.variant }) }
        : undefined;
    return [
      {
        mediaType: typeof e.mediaType === "string" ? e.mediaType : undefined,
        digest: e.digest,
        size: typeof e.size === "number" ? e.size : undefined,
        platform,
      },
    ];
  });
}

/** The entry of an index for a platform (`linux/arm64` matches an entry marked `arm64/v8`), if it has one. */
export function findPlatformEntry(entries: readonly IndexEntry[], platform: string): IndexEntry | undefined {
  return entries.find((entry) => entry.platform !== undefined && samePlatform(entry.platform, platform));
}

/** The platforms an index lists, normalised (`linux/arm64`), for messages. */
export function indexPlatforms(entries: readonly IndexEntry[]): string[] {
  return entries.flatMap((entry) => (entry.platform ? [formatPlatform(entry.platform)] : []));
}

/** The OCI index for some platform manifests: each entry with its media type, size and platform. */
export function ociImageIndex(manifests: readonly { platform: string; digest: string; mediaType: string; size: number }[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX_MEDIA_TYPE,
    manifests: manifests.map((m) => {
      const platform = parsePlatform(m.platform);
      return {
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        platform: { architecture: platform.architecture, os: platform.os, ...(platform.variant !== undefined && { variant: platform.variant }) },
      };
    }),
  });
}
