/**
 * The contract between the engine and a builder. Ours (docker, noop, envd, remote) and third parties' are written
 * against exactly this, and checked by @imagespec/testing's conformance suite.
 */

import type { ImageIdentity } from "./identity.js";
import type { Image, NativePlatform } from "./image.js";
import type { CredentialResolver, Existence } from "./registry/index.js";

/** Progress a builder reports while it works. */
export type BuildEvent =
  /** One line of the builder's own output. */
  | { readonly type: "log"; readonly line: string }
  /** A build step (a Dockerfile instruction, an envd stage) changing state. */
  | {
      readonly type: "step";
      readonly id: string;
      readonly name: string;
      readonly status: "started" | "done" | "cached" | "failed";
      readonly durationMs?: number;
    }
  /** Something the user should know that does not stop the build. */
  | { readonly type: "warning"; readonly message: string };

export interface BuildContext {
  /** Where the image goes: `<registry>/<name>:<tag>`, or `<name>:<tag>` for a local image. */
  readonly uri: string;
  readonly identity: ImageIdentity;
  /** Push to the registry after building (false: keep it in the builder's own engine). */
  readonly push: boolean;
  /** URI of the base when the base is another Image (already built or present by now). */
  readonly baseUri: string | undefined;
  /** Registry credentials, for push and for pulling private bases. */
  readonly credentials: CredentialResolver;
  /** This builder's configuration: `defineConfig({ builders: { <type>: {...} } })` merged with the image's builderConfig. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
  report(event: BuildEvent): void;
}

export interface BuildResult {
  readonly uri: string;
  /** Manifest (or image) digest, when the builder knows it. */
  readonly digest?: string;
  readonly pushed: boolean;
  /** True when every step came from the build cache. */
  readonly cached?: boolean;
  /** Which machine or engine built it, for builders that have several. */
  readonly engine?: string;
  /** The full build log, kept for errors and `--debug`. */
  readonly log?: string;
  /** An image of several platforms: each platform's manifest digest (the result's digest is the index's) and engine. */
  readonly platforms?: readonly PlatformBuild[];
}

/** One platform of a multi-platform build. */
export interface PlatformBuild {
  /** `os/arch[/variant]`. */
  readonly platform: string;
  readonly digest: string;
  /** Which engine built it, for builders that have several. */
  readonly engine?: string;
}

/** What `imagespec dockerfile` prints: the file a builder builds from. */
export interface RenderedBuildFile {
  /** e.g. `Dockerfile`, `build.envd`. */
  readonly filename: string;
  readonly content: string;
}

export interface RenderContext {
  readonly identity: ImageIdentity;
  readonly baseUri: string | undefined;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface ImageBuilder {
  /** `docker`, `noop`, `envd`, `remote`, or a third party's name. */
  readonly type: string;
  /** `true`, or the reason this builder cannot build the image (so the engine tries the next one, or explains). */
  supports(image: Image): true | string;
  build(image: Image, context: BuildContext): Promise<BuildResult>;
  /** For local images (no registry): whether the builder's own engine already has the tag. */
  exists?(uri: string, context: { readonly signal: AbortSignal; readonly config: Readonly<Record<string, unknown>> }): Promise<Existence>;
  /** The build file this builder would use. */
  render?(image: Image, context: RenderContext): Promise<RenderedBuildFile>;
  /**
   * The platform of the engine this builder would build on (`linux/arm64`) and that engine's name: what an image's
   * `native` platform becomes. Builders without it cannot build `native` images.
   */
  nativePlatform?(context: { readonly signal: AbortSignal; readonly config: Readonly<Record<string, unknown>> }): Promise<NativePlatform>;
}

const BUILDER_KEYS = ["type", "supports", "build"] as const;

/** Structural check used when loading third-party plugins. */
export function isImageBuilder(value: unknown): value is ImageBuilder {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === "string" && typeof v.supports === "function" && typeof v.build === "function" && BUILDER_KEYS.every((k) => k in v);
}
