/**
 * Platforms as Docker and OCI write them (`os/arch[/variant]`), and `native`: the platform of the engine that builds,
 * resolved by the build engine (through the chosen builder) before anything is hashed.
 */

/** Stands for the build engine's own platform until the engine resolves it. */
export const NATIVE_PLATFORM = "native";

/** A platform as an OCI descriptor carries it. */
export interface OciPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/**
 * `linux/arm64/v8` → `{ os: "linux", architecture: "arm64" }`: the variant every arm64 image has, and amd64's
 * baseline `v1`, are dropped, and 32-bit `arm` without a variant is `arm/v7`, as containerd normalises them.
 */
export function parsePlatform(platform: string): OciPlatform {
  const [os = "", architecture = "", variant] = platform.toLowerCase().split("/");
  const defaultVariant = (architecture === "arm64" && variant === "v8") || (architecture === "amd64" && variant === "v1");
  if (architecture === "arm" && !variant) return { os, architecture, variant: "v7" };
  return variant === undefined || variant === "" || defaultVariant ? { os, architecture } : { os, architecture, variant };
}

/** `os/arch[/variant]`, normalised as `parsePlatform` does. */
export function formatPlatform(platform: OciPlatform): string {
  const normal = parsePlatform(`${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`);
  return `${normal.os}/${normal.architecture}${normal.variant ? `/${normal.variant}` : ""}`;
}

/** Whether two platforms name the same thing (`linux/arm64` and `linux/arm64/v8` do). */
export function samePlatform(a: string | OciPlatform, b: string | OciPlatform): boolean {
  return formatPlatform(typeof a === "string" ? parsePlatform(a) : a) === formatPlatform(typeof b === "string" ? parsePlatform(b) : b);
}

/** `linux/arm64` → `linux-arm64`: a platform as a piece of a tag. */
export function platformTagSuffix(platform: string): string {
  return formatPlatform(parsePlatform(platform)).replaceAll("/", "-");
}
