import { definePlugin } from "@imagespec/core";
import { type DockerBuilderConfig, dockerBuilderSettings } from "./config.js";
import { createDockerBuilder, DOCKER_BUILDER_TYPE } from "./index.js";

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
      description: "renders a Dockerfile and builds it with Docker BuildKit (Engine API, one build per platform and an OCI index; docker CLI for secrets)",
      settings: dockerBuilderSettings,
      create: ({ config }) => createDockerBuilder(config as DockerBuilderConfig),
    },
  ],
});

/** The settings type, re-exported so importing this module (as imagespec.config.ts does) brings its editor completion. */
export type { DockerBuilderConfig } from "./config.js";
