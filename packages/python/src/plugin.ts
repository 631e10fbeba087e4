import { definePlugin } from "@imagespec/core";
import { pythonLayers } from "./index.js";

/** The plugin entry: this package's layer kinds. It adds no builder. */
export default definePlugin({ name: "@imagespec/python", layers: pythonLayers });
