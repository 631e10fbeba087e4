import { definePlugin } from "@imagespec/core";
import { ENVD_BUILDER_TYPE } from "./type.js";

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
      // The builder (and what it imports) loads only when an image needs it.
      create: async ({ config }) =>
        (await import("./builder.js")).createEnvdBuilder({
          ...(typeof config.binary === "string" && { binary: config.binary }),
          ...(typeof config.keepContext === "boolean" && { keepContext: config.keepContext }),
        }),
    },
  ],
});
