/**
 * @imagespec/node: Node.js services as imagespec layers. `fromNodeBase` starts from a Node.js image;
 * `withNodeProject` takes one package of an npm, pnpm or yarn 1 workspace with only the workspace packages it depends
 * on, checks the lock against their manifests before any build, and builds it in stages (dev dependencies and the
 * build script in one, production dependencies in another). Core and the builders know nothing of Node.js: the kinds
 * render through their own Docker renderers.
 */

export {
  checkNodeVersion,
  DEFAULT_NODE_BASE_TEMPLATE,
  DEFAULT_NODE_VERSION,
  fromNodeBase,
  NODE_BASE_IMAGE_ENV,
  type NodeBaseOptions,
  nodeBaseImage,
  nodeVersionLayer,
  type NodeVersionFields,
  statedNodeVersion,
} from "./base.js";
export { DEFAULT_NODE_DST, type NodeProjectFields, nodeProjectLayer, type NodeProjectOptions, withNodeProject } from "./node-project.js";
export { ALWAYS_EXCLUDED, DEFAULT_PNPM_VERSION, DEFAULT_YARN_VERSION, loadNodeProject, type NodeProject, type NodeProjectRequest } from "./project.js";
export { LOCKFILES, type PackageJson, type PackageManager, readWorkspace, type Workspace, type WorkspacePackage } from "./workspace.js";

import { nodeVersionLayer } from "./base.js";
import { nodeProjectLayer } from "./node-project.js";

/** Every layer kind of this package. */
export const nodeLayers = [nodeVersionLayer, nodeProjectLayer] as const;
