import { definePlugin } from "@imagespec/core";
import { type RemoteBuilderConfig, remoteBuilderSettings } from "./config.js";
import { createRemoteBuilder, REMOTE_BUILDER_TYPE } from "./index.js";

/**
 * Priority 110, above docker (100): the remote builder accepts an image only when engines are configured (and the
 * image has a registry), and a user who configured a pool wants builds to go there. Everything else falls back to
 * docker. The config file's `priorities` can pin another order.
 */
export const REMOTE_BUILDER_PRIORITY = 110;

export default definePlugin({
  name: "@imagespec/builder-remote",
  builders: [
    {
      type: REMOTE_BUILDER_TYPE,
      priority: REMOTE_BUILDER_PRIORITY,
      description: "builds on remote Docker engines (TCP with TLS, or SSH) with BuildKit and pushes from there; a pool of engines builds concurrently",
      settings: remoteBuilderSettings,
      create: ({ config }) => createRemoteBuilder(config as RemoteBuilderConfig),
    },
  ],
});

/** The settings type, re-exported so importing this module (as imagespec.config.ts does) brings its editor completion. */
export type { RemoteBuilderConfig } from "./config.js";
