import { definePlugin } from "@imagespec/core/authoring";

/**
 * The plugin entry. It adds no builder and no requirements-file handler, and lists no layer kinds: a layer carries its
 * definition, so `fromNodeBase` and `withNodeProject` need no registration. Kept so discovery lists the package.
 */
export default definePlugin({ specificationVersion: "v1", name: "@imagespec/node" });
