import { definePlugin } from "@imagespec/core/authoring";
import { type EnvdBuilderOptions, envdBuilderSettings } from "./settings.js";
import { ENVD_BUILDER_TYPE } from "./type.js";

/**
 * Priority 50: below the docker builder (the default), above noop. Pin it higher in imagespec.config.ts
 * (`priorities: { envd: 200 }`) to prefer envd; images it refuses still fall back to the next builder.
 */
export default definePlugin({
  specificationVersion: "v1",
  name: "@imagespec/builder-envd",
  builders: [
    {
      type: ENVD_BUILDER_TYPE,
      priority: 50,
      description: `renders build.envd and builds it with envd (${">="}0.3.39)`,
      settings: envdBuilderSettings,
      // The builder (and what it imports: execa) loads only when an image needs it.
      create: async ({ config }) => (await import("./builder.js")).createEnvdBuilder(envdBuilderSettings.parse(config) as EnvdBuilderOptions),
    },
  ],
});

/** The settings type, re-exported so importing this module (as imagespec.config.ts does) brings its editor completion. */
export type { EnvdBuilderOptions } from "./settings.js";
