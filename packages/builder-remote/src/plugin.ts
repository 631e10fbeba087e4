import { definePlugin } from "@imagespec/core/authoring";
import { type RemoteBuilderConfig, remoteBuilderSettings } from "./config.js";
import { REMOTE_BUILDER_TYPE } from "./type.js";

/**
 * Priority 110, above docker (100): the remote builder accepts an image only when engines are configured (and the
 * image has a registry), and a user who configured a pool wants builds to go there. Everything else falls back to
 * docker. The config file's `priorities` can pin another order.
 */
export const REMOTE_BUILDER_PRIORITY = 110;

export default definePlugin({
  specificationVersion: "v1",
  name: "@imagespec/builder-remote",
  builders: [
    {
      type: REMOTE_BUILDER_TYPE,
      priority: REMOTE_BUILDER_PRIORITY,
      description:
        "builds on remote Docker engines (TCP with TLS, or SSH) with BuildKit, secrets and SSH agents served from here, and pushes from there; a pool of engines builds concurrently",
      settings: remoteBuilderSettings,
      // The builder (and what it imports: dockerode, ssh) loads only when an image needs it.
      create: async ({ config }) => (await import("./builder.js")).createRemoteBuilder(config as RemoteBuilderConfig),
    },
  ],
});

/** The settings type, re-exported so importing this module (as imagespec.config.ts does) brings its editor completion. */
export type { RemoteBuilderConfig } from "./config.js";
