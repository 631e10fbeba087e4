/**
 * The envd builder's settings: `defineConfig({ builders: { envd: {...} } })` or an image's builderConfig. A strict
 * schema, so core rejects a misspelled setting before anything builds, and a declaration that makes `defineConfig`
 * complete them in an editor.
 */

import { z } from "@imagespec/core/authoring";

export interface EnvdBuilderOptions {
  /** The envd executable: a name looked up on PATH, or a path. Default `envd`. */
  readonly binary?: string;
  /** Keep the build context folder after the build (its path is logged). Default false. */
  readonly keepContext?: boolean;
}

declare module "@imagespec/core" {
  interface BuilderSettings {
    /** @imagespec/builder-envd: builds with envd. */
    envd: EnvdBuilderOptions;
  }
}

/** Every setting of the envd builder; unknown keys are errors. */
export const envdBuilderSettings = z
  .object({
    binary: z.string().trim().min(1, "expected the envd executable's name or path").optional(),
    keepContext: z.boolean().optional(),
  })
  .strict();
