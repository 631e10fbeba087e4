import { definePlugin } from "@imagespec/core";
import { createEnvdBuilder, ENVD_BUILDER_TYPE } from "./index.js";
import { type EnvdBuilderOptions, envdBuilderSettings } from "./settings.js";

/**
 * Priority 50: below the docker builder (the default), above noop. Pin it higher in imagespec.config.ts
 * (`priorities: { envd: 200 }`) to prefer envd; images it refuses still fall back to the next builder.
 */
export default definePlugin({
  name: "@imagespec/builder-envd",
  builders: [
    {
      type: ENVD_BUILDER_TYPE,
      priority: 50,
      description: `renders build.envd and builds it with envd (${">="}0.3.39)`,
      settings: envdBuilderSettings,
      create: ({ config }) => createEnvdBuilder(envdBuilderSettings.parse(config) as EnvdBuilderOptions),
    },
  ],
});

/** The settings type, re-exported so importing this module (as imagespec.config.ts does) brings its editor completion. */
export type { EnvdBuilderOptions } from "./settings.js";
