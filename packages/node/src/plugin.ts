import { definePlugin } from "@imagespec/core";
import { nodeLayers } from "./index.js";

/** The plugin entry: this package's layer kinds. It adds no builder. */
export default definePlugin({ name: "@imagespec/node", layers: nodeLayers });
