/**
 * The noop builder: for images that already exist. The "built" image is the base image's reference, unchanged,
 * so it accepts only a reference base with no layers: anything else would be silently ignored.
 */

import type { Image } from "@imagespec/core";
import { type BuildContext, type BuildResult, type ImageBuilder, ImageSpecError } from "@imagespec/core/authoring";

export const NOOP_BUILDER_TYPE = "noop";

declare module "@imagespec/core" {
  interface BuilderSettings {
    /** @imagespec/builder-noop has no settings. */
    noop: Record<string, never>;
  }
}

function refusal(image: Image): string | undefined {
  switch (image.base.type) {
    case "image":
      return "noop returns the base image as is, but this base is another Image that would have to be built; give the base as a reference (a string) or use a builder that builds";
    case "dockerfile":
      return "noop does not build Dockerfiles";
  }
  if (image.layers.length > 0) {
    const kinds = [...new Set(image.layers.map((l) => l.kind))].join(", ");
    return `noop returns the base image unchanged, so it would ignore this image's ${image.layers.length} layer(s) (${kinds})`;
  }
  return undefined;
}

export function createNoopBuilder(): ImageBuilder {
  return {
    type: NOOP_BUILDER_TYPE,
    supports(image: Image): true | string {
      return refusal(image) ?? true;
    },
    async build(image: Image, context: BuildContext): Promise<BuildResult> {
      if (context.signal.aborted) throw new ImageSpecError("CANCELLED", `Cannot build ${image.name}: cancelled`);
      const reason = refusal(image);
      if (reason !== undefined || (image.base.type !== "uri" && image.base.type !== "debian")) {
        throw new ImageSpecError("INVALID_SPEC", `Cannot build ${image.name} with the noop builder: ${reason}`, {
          field: image.base.type === "image" ? "baseImage" : "layers",
          hint: "Set baseImage to the reference of an existing image, or choose the docker builder.",
        });
      }
      context.report({ type: "log", line: `noop: using ${image.base.uri} as is` });
      return { uri: image.base.uri, pushed: false, cached: true };
    },
  };
}
