import { definePlugin, NO_SETTINGS } from "@imagespec/core/authoring";
import { createNoopBuilder, NOOP_BUILDER_TYPE } from "./index.js";

/** Lowest priority: noop is chosen when named, or when nothing else can build the image. */
export default definePlugin({
  specificationVersion: "v1",
  name: "@imagespec/builder-noop",
  builders: [
    {
      type: NOOP_BUILDER_TYPE,
      priority: 0,
      description: "uses the base image as is; builds nothing",
      settings: NO_SETTINGS,
      create: () => createNoopBuilder(),
    },
  ],
});
