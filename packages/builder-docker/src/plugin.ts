import { definePlugin } from "@imagespec/core/authoring";
import { type DockerBuilderConfig, dockerBuilderSettings } from "./config.js";
import { DOCKER_BUILDER_TYPE } from "./type.js";

/**
 * Priority 100: the highest among the builders that need no configuration; docker builds whatever it supports. The
 * remote builder (110) ranks above it but takes images only when remote engines are configured.
 */
export default definePlugin({
  specificationVersion: "v1",
  name: "@imagespec/builder-docker",
  builders: [
    {
      type: DOCKER_BUILDER_TYPE,
      priority: 100,
      description:
        "renders a Dockerfile and builds it with Docker BuildKit (Engine API with its own BuildKit session for secrets, SSH agents and credentials; one build per platform and an OCI index)",
      settings: dockerBuilderSettings,
      // The builder (and what it imports: dockerode, tar-stream) loads only when an image needs it.
      create: async ({ config }) => (await import("./builder.js")).createDockerBuilder(config as DockerBuilderConfig),
    },
  ],
});

/** The settings type, re-exported so importing this module (as imagespec.config.ts does) brings its editor completion. */
export type { DockerBuilderConfig } from "./config.js";
