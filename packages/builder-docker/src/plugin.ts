import { definePlugin } from "@imagespec/core";
import { DOCKER_BUILDER_TYPE } from "./type.js";
import type { DockerBuilderConfig } from "./config.js";

/**
 * Priority 100: the highest among the builders that need no configuration; docker builds whatever it supports. The
 * remote builder (110) ranks above it but takes images only when remote engines are configured.
 */
export default definePlugin({
  name: "@imagespec/builder-docker",
  builders: [
    {
      type: DOCKER_BUILDER_TYPE,
      priority: 100,
      description: "renders a Dockerfile and builds it with Docker BuildKit (Engine API; docker CLI for secrets and several platforms)",
      // The builder (and what it imports) loads only when an image needs it.
      create: async ({ config }) =>
        (await import("./builder.js")).createDockerBuilder(config as DockerBuilderConfig),
    },
  ],
});
