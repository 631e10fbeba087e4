import { definePlugin } from "@imagespec/core";
import { createDockerBuilder, DOCKER_BUILDER_TYPE } from "./index.js";
import type { DockerBuilderConfig } from "./config.js";

/** The highest priority among the builders imagespec ships: docker builds whatever it supports. */
export default definePlugin({
  name: "@imagespec/builder-docker",
  builders: [
    {
      type: DOCKER_BUILDER_TYPE,
      priority: 100,
      description: "renders a Dockerfile and builds it with Docker BuildKit (Engine API; docker CLI for secrets and several platforms)",
      create: ({ config }) => createDockerBuilder(config as DockerBuilderConfig),
    },
  ],
});
