/**
 * `nodeProject`: one package of an npm, pnpm or yarn workspace (or a single project), with only the workspace
 * packages it depends on. The Docker renderer builds it in stages: a stage that installs the package manager, one
 * that installs production dependencies from the pruned lock, one that installs every dependency and runs each
 * package's build script; the image takes the production dependencies and the packages' files from them, and runs as
 * a non-root user with NODE_ENV=production.
 */

import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  defineLayer,
  type DockerBuildStage,
  type DockerLayerRenderer,
  type DockerRenderContext,
  grammar,
  ImageSpecError,
  type SecretMount,
  shellJoin,
  shellQuote,
  z,
} from "@imagespec/core/authoring";
import { statedNodeVersion } from "./base.js";
import { ALWAYS_EXCLUDED, loadNodeProject, type NodeProject, runtimeFiles } from "./project.js";
import type { PackageManager } from "./workspace.js";

/** Where the workspace goes in the image unless `dst` says otherwise. */
export const DEFAULT_NODE_DST = "/app";
/** Caches of the package managers: cache mounts on the engine, never in the image. */
export const NPM_CACHE_DIR = "/var/cache/imagespec/npm";
/**
 * npm's cache (cacache) is made for concurrent writers, so builds share it. pnpm's store and yarn's cache take
 * cacheMount's default, one per concurrent build: neither waits for another build, nor writes into its cache.
 */
const NPM_CACHE = { target: NPM_CACHE_DIR, id: "imagespec-npm", sharing: "shared" as const };
export const PNPM_STORE_DIR = "/var/cache/imagespec/pnpm-store";
export const YARN_CACHE_DIR = "/var/cache/imagespec/yarn";
/** Where the build stage gathers what the image runs from. */
const OUTPUT_DIR = "/tmp/imagespec/node-output";
/** Where the .npmrc secret is mounted during installs (npm, pnpm and yarn 1 read it through NPM_CONFIG_USERCONFIG). */
const NPMRC_TARGET = "/run/secrets/imagespec-npmrc";

export interface NodeProjectFields {
  readonly manager: PackageManager;
  /** The pnpm or yarn version installed for the build; absent for npm (the base image's npm). */
  readonly managerVersion?: string;
  /** The workspace root, relative to the image root. */
  readonly workspace: string;
  /** The lockfile's name at the workspace root. */
  readonly lockfile: string;
  /** sha256 of the lock pruned to the closure: what the image installs from. */
  readonly lockDigest: string;
  /** Files at the workspace root every install reads (package.json, pnpm-workspace.yaml). */
  readonly configFiles: readonly string[];
  /** More files or folders at the workspace root the build needs (a shared tsconfig), relative to it. */
  readonly workspaceFiles?: readonly string[];
  /** The package's folder relative to the workspace root. */
  readonly package: string;
  /** The package and the workspace packages it depends on, dependencies first. */
  readonly closure: readonly string[];
  /** Those whose files the image runs. */
  readonly runtimeClosure: readonly string[];
  /** The script run in each package of the closure that has it; absent: nothing is built. */
  readonly buildScript?: string;
  /** The container's command; absent: the base image's. */
  readonly command?: readonly string[];
  readonly user: string;
  readonly dst: string;
  /** An .npmrc mounted as a secret for the installs, relative to the image root. */
  readonly npmrc?: string;
}

function grammarString(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });
}

const localPath = grammarString(grammar.checkImagePath);
const workspacePath = grammarString(
  (value) => grammar.checkContainedRelativePath(value) ?? (value.startsWith("-") ? "a path cannot start with '-'" : undefined),
);
const absoluteImagePath = grammarString(
  (value) => grammar.checkImagePath(value) ?? (value.startsWith("/") ? undefined : "an absolute path in the image, e.g. /app"),
);
const scriptName = grammarString((value) =>
  /^[A-Za-z0-9][A-Za-z0-9:._-]*$/.test(value) ? undefined : "a script name is letters, digits, ':', '.', '_' and '-'",
);
const userName = grammarString((value) =>
  /^([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})$/.test(value) ? undefined : "a user is a Linux user name (e.g. node) or a uid",
);
const version = grammarString((value) => (/^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/.test(value) ? undefined : "a version is <major>.<minor>.<patch>"));

const schema = z
  .object({
    manager: z.enum(["npm", "pnpm", "yarn"]),
    managerVersion: version.optional(),
    workspace: localPath,
    lockfile: z.enum(["pnpm-lock.yaml", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock"]),
    lockDigest: z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in hex"),
    configFiles: z.array(z.enum(["package.json", "pnpm-workspace.yaml"])).min(1),
    workspaceFiles: z.array(workspacePath).optional(),
    package: workspacePath,
    closure: z.array(workspacePath).min(1),
    runtimeClosure: z.array(workspacePath).min(1),
    buildScript: scriptName.optional(),
    command: z.array(grammarString(grammar.checkShellArgument)).min(1).optional(),
    user: userName,
    dst: absoluteImagePath,
    npmrc: localPath.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.closure.at(-1) !== f.package) ctx.addIssue({ code: "custom", path: ["closure"], message: "the closure ends with the package itself" });
    for (const dir of f.runtimeClosure)
      if (!f.closure.includes(dir)) ctx.addIssue({ code: "custom", path: ["runtimeClosure"], message: `${dir} is not in the closure` });
    if ((f.manager === "npm") !== (f.managerVersion === undefined)) {
      ctx.addIssue({ code: "custom", path: ["managerVersion"], message: "pnpm and yarn are installed at a version; npm is the base image's" });
    }
  });

/** `a/b` joined below the workspace root, both relative to the image root. */
const inWorkspace = (workspace: string, rel: string) => (rel === "." ? workspace : workspace === "." ? rel : `${workspace}/${rel}`);
/** A workspace folder's place in the image. */
const inImage = (dst: string, rel: string) => (rel === "." ? dst : path.posix.join(dst, rel));

/** The package manager's commands, with its cache (and the .npmrc secret) for every step that installs. */
function managerCommands(fields: NodeProjectFields) {
  const runEnv = ["env", "CI=true", "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false"];
  const env = [...runEnv, ...(fields.npmrc === undefined ? [] : [`NPM_CONFIG_USERCONFIG=${NPMRC_TARGET}`])];
  switch (fields.manager) {
    case "npm":
      return {
        env,
        runEnv,
        cache: NPM_CACHE,
        install: (prod: boolean) => [...env, `npm_config_cache=${NPM_CACHE_DIR}`, "npm", "ci", ...(prod ? ["--omit=dev"] : [])],
        run: (script: string) => ["npm", "run", script],
      };
    case "pnpm":
      return {
        env,
        runEnv,
        cache: { target: PNPM_STORE_DIR, id: "imagespec-pnpm-store" },
        install: (prod: boolean) => [
          ...env,
          "pnpm",
          "install",
          "--frozen-lockfile",
          "--store-dir",
          PNPM_STORE_DIR,
          "--config.confirmModulesPurge=false",
          ...(prod ? ["--prod"] : []),
        ],
        run: (script: string) => ["pnpm", "run", script],
      };
    case "yarn":
      return {
        env,
        runEnv,
        cache: { target: YARN_CACHE_DIR, id: "imagespec-yarn" },
        install: (prod: boolean) => [
          ...env,
          "yarn",
          "install",
          "--frozen-lockfile",
          "--non-interactive",
          "--cache-folder",
          YARN_CACHE_DIR,
          ...(prod ? ["--production=true"] : []),
        ],
        run: (script: string) => ["yarn", "run", script],
      };
  }
}

/** The fields the project on disk gives now; a difference from the layer's means the files changed since. */
function fieldsFromProject(project: NodeProject): Partial<NodeProjectFields> {
  return {
    manager: project.workspace.manager,
    managerVersion: project.managerVersion,
    lockfile: project.workspace.lockfile,
    lockDigest: project.lockDigest,
    configFiles: project.workspace.configFiles,
    package: project.target.dir,
    closure: project.closure,
    runtimeClosure: project.runtimeClosure,
  };
}

function loadForLayer(image: Image, fields: NodeProjectFields, layerIndex: number): NodeProject {
  const project = loadNodeProject({
    root: image.root,
    package: inWorkspace(fields.workspace, fields.package),
    workspace: fields.workspace,
    nodeVersion: statedNodeVersion(image),
  });
  const now = fieldsFromProject(project);
  const changed = (Object.keys(now) as (keyof NodeProjectFields)[]).filter((key) => JSON.stringify(now[key]) !== JSON.stringify(fields[key]));
  if (changed.length > 0) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot render layers[${layerIndex}] (nodeProject): the workspace at ${project.workspace.root} changed after the image was defined (${changed.join(", ")})`,
      {
        field: `layers[${layerIndex}]`,
        hint: "Define the image again (withNodeProject reads the workspace when it is called), then build.",
      },
    );
  }
  return project;
}

const renderDocker: DockerLayerRenderer<NodeProjectFields> = (layer, ctx) => {
  const project = loadForLayer(ctx.image, layer, ctx.layerIndex);
  const pm = managerCommands(layer);
  const q = ctx.quote;
  const dst = layer.dst;
  const secrets: SecretMount[] = layer.npmrc === undefined ? [] : [{ id: `imagespec-npmrc-${ctx.layerIndex}`, src: layer.npmrc, target: NPMRC_TARGET }];
  const cache = () => ctx.cacheMount(pm.cache.target, pm.cache);
  const name = project.target.name ?? layer.package;

  // The package manager, and the checks on the base, in a stage both install stages start from.
  const tools = ctx.buildStage({ name: "tools" });
  const userCheck = `id -u ${shellQuote(layer.user)} >/dev/null 2>&1 || { echo ${shellQuote(`imagespec: the base image has no user ${layer.user}, which ${name} runs as; use a Node.js base image (they have the user node) or create the user in an earlier layer`)} >&2; exit 1; }`;
  const npmCheck = `command -v npm >/dev/null 2>&1 || { echo ${shellQuote("imagespec: the base image has no npm; use a Node.js base image (fromNodeBase) or install npm in it")} >&2; exit 1; }`;
  tools.add(ctx.run(`${userCheck}; ${npmCheck}`, { description: `check the base image for npm and the user ${layer.user}` }));
  if (layer.managerVersion !== undefined) {
    const want = `${layer.manager}@${layer.managerVersion}`;
    const install = shellJoin([...pm.env, `npm_config_cache=${NPM_CACHE_DIR}`, "npm", "install", "--global", "--force", want]);
    tools.add(
      ctx.run(`if [ "$(${shellQuote(layer.manager)} --version 2>/dev/null)" != ${shellQuote(layer.managerVersion)} ]; then ${install}; fi`, {
        mounts: [ctx.cacheMount(NPM_CACHE.target, NPM_CACHE)],
        secrets,
        description: `install ${want}`,
      }),
    );
  }

  // Manifests and the pruned lock: the install steps depend on these alone, so a source edit does not reinstall.
  const manifests: [contextPath: string, destination: string][] = [
    ...layer.configFiles.map((file): [string, string] => [ctx.addFile(inWorkspace(layer.workspace, file)), path.posix.join(dst, file)]),
    ...layer.closure
      .filter((dir) => dir !== ".")
      .map((dir): [string, string] => [ctx.addFile(inWorkspace(layer.workspace, `${dir}/package.json`)), path.posix.join(dst, dir, "package.json")]),
    [ctx.addContent(layer.lockfile, project.lockText), path.posix.join(dst, layer.lockfile)],
  ];
  const manifestCopies = (stage: DockerBuildStage) => {
    stage.add(`WORKDIR ${q.dockerfileWord(dst)}`, ...manifests.map(([source, destination]) => ctx.copy(source, destination)));
  };

  const deps = ctx.buildStage({ from: tools.name, name: "deps" });
  manifestCopies(deps);
  deps.add(
    ctx.run(shellJoin(pm.install(true)), {
      mounts: [cache()],
      secrets,
      description: `${layer.manager} install: the production dependencies of ${name} from the pruned ${layer.lockfile}`,
    }),
  );

  const build = ctx.buildStage({ from: tools.name, name: "build" });
  const builds =
    layer.buildScript === undefined
      ? []
      : layer.closure.filter((dir) => typeof project.workspace.packages.find((p) => p.dir === dir)?.manifest.scripts?.[layer.buildScript!] === "string");
  if (builds.length > 0) {
    manifestCopies(build);
    build.add(
      ctx.run(shellJoin(pm.install(false)), {
        mounts: [cache()],
        secrets,
        description: `${layer.manager} install: every dependency of ${name}, for its build`,
      }),
    );
    for (const file of layer.workspaceFiles ?? []) {
      const local = inWorkspace(layer.workspace, file);
      build.add(ctx.copy(isFolderInput(ctx, local) ? `${ctx.addFolder(local)}/` : ctx.addFile(local), inImage(dst, file)));
    }
  }
  // Each package's sources, then its build, dependencies first: an edit rebuilds that package and what depends on it.
  for (const dir of layer.closure) {
    const pkg = project.workspace.packages.find((p) => p.dir === dir)!;
    if (dir !== "." || project.workspace.packages.length === 1) {
      build.add(ctx.copy(`${ctx.addFolder(inWorkspace(layer.workspace, dir))}/`, `${inImage(dst, dir)}/`));
    }
    if (builds.includes(dir)) {
      build.add(
        ctx.run(`cd ${shellQuote(inImage(dst, dir))} && ${shellJoin([...pm.runEnv, ...pm.run(layer.buildScript!)])}`, {
          description: `${layer.manager} run ${layer.buildScript} in ${pkg.name ?? dir}`,
        }),
      );
    }
  }
  build.add(ctx.run(outputScript(project, layer), { description: `gather the files ${name} runs from` }));

  return [
    ctx.copy(dst, dst, { from: deps.name }),
    ctx.copy(`${OUTPUT_DIR}/`, `${dst}/`, { from: build.name }),
    `WORKDIR ${q.dockerfileWord(inImage(dst, layer.package))}`,
    ...ctx.env({ NODE_ENV: "production" }),
    `ENV PATH=${q.dockerfileWord(`${inImage(dst, layer.package)}/node_modules/.bin:${dst}/node_modules/.bin`)}:$PATH`,
    `USER ${q.dockerfileWord(layer.user)}`,
    ...(layer.command === undefined ? [] : [`CMD ${q.dockerfileJsonArray(layer.command)}`]),
  ];
};

function isFolderInput(ctx: DockerRenderContext, local: string): boolean {
  try {
    return statSync(path.resolve(ctx.image.root, local)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The shell script that gathers, from the built workspace, what the image runs: for each package it needs at run time,
 * its package.json and `files` (and `main`), or, without `files`, the whole folder but node_modules.
 */
function outputScript(project: NodeProject, fields: NodeProjectFields): string {
  const lines = ["set -e", `rm -rf ${shellQuote(OUTPUT_DIR)}`, `mkdir -p ${shellQuote(OUTPUT_DIR)}`];
  for (const dir of fields.runtimeClosure) {
    const pkg = project.workspace.packages.find((p) => p.dir === dir)!;
    const from = inImage(fields.dst, dir);
    const to = dir === "." ? OUTPUT_DIR : `${OUTPUT_DIR}/${dir}`;
    const files = runtimeFiles(pkg);
    lines.push(`mkdir -p ${shellQuote(to)}`, `cd ${shellQuote(from)}`);
    if (files === undefined) {
      lines.push(`tar -cf - --exclude=./node_modules . | tar -xf - -C ${shellQuote(to)}`);
      continue;
    }
    const listed = (pkg.manifest.files ?? []).map((f) => f.replace(/^\.\//, "").replace(/\/+$/, ""));
    for (const file of files) {
      const copy = `cp -a --parents ${shellQuote(file)} ${shellQuote(`${to}/`)}`;
      if (listed.includes(file)) {
        const missing = `imagespec: ${pkg.name ?? dir} lists ${file} in the "files" of its package.json, but ${from}/${file} does not exist after the build`;
        lines.push(`[ -e ${shellQuote(file)} ] || { echo ${shellQuote(missing)} >&2; exit 1; }; ${copy}`);
      } else if (!listed.some((entry) => file.startsWith(`${entry}/`))) {
        // package.json, and a `main` outside the listed folders (npm packs both whatever `files` says).
        lines.push(`if [ -e ${shellQuote(file)} ]; then ${copy}; fi`);
      }
    }
  }
  return lines.join("\n");
}

export const nodeProjectLayer = defineLayer<"nodeProject", NodeProjectFields>({
  specificationVersion: "v1",
  kind: "nodeProject",
  description:
    "One package of an npm, pnpm or yarn workspace with the workspace packages it depends on: production dependencies from the pruned lock, each package built in a build stage, run as a non-root user.",
  schema,
  inputs: (f) => [
    ...f.configFiles.map((file) => ({ field: `config[${file}]`, path: inWorkspace(f.workspace, file), type: "file" as const })),
    ...(f.workspaceFiles ?? []).map((file) => ({
      field: `workspaceFiles[${file}]`,
      path: inWorkspace(f.workspace, file),
      type: "auto" as const,
      exclude: ALWAYS_EXCLUDED,
    })),
    ...f.closure.map((dir) => ({ field: `sources[${dir}]`, path: inWorkspace(f.workspace, dir), type: "folder" as const, exclude: ALWAYS_EXCLUDED })),
    // Each manifest is also sent on its own, for the install steps that must not see the sources.
    ...f.closure
      .filter((dir) => dir !== ".")
      .map((dir) => ({ field: `manifest[${dir}]`, path: inWorkspace(f.workspace, `${dir}/package.json`), type: "file" as const })),
  ],
  // Where the .npmrc comes from is not part of the image: only that installs read one.
  identity: ({ npmrc, ...rest }) => ({ ...rest, npmrc: npmrc !== undefined }),
  renderers: { docker: renderDocker },
});

export interface NodeProjectOptions {
  /**
   * The package to build: its folder (relative to the image root) or its name in the workspace. Default: the image
   * root, a single project.
   */
  package?: string;
  /** The workspace root, where the lockfile is. Default: the nearest folder at or above the package with a lockfile. */
  workspace?: string;
  /** Files or folders at the workspace root that builds read (a tsconfig the packages extend), relative to it. */
  workspaceFiles?: readonly string[];
  /** Where the workspace goes in the image. Default `/app`. */
  dst?: string;
  /** The script each package of the closure runs in the build stage, when it has one. Default `build`; `false` builds nothing. */
  buildScript?: string | false;
  /**
   * An .npmrc for the installs (a private registry and its token), mounted as a secret: it never enters a layer, the
   * image's history or the tag. Default: the workspace's `.npmrc` when there is one; `false`: none.
   */
  npmrc?: string | false;
  /** The container's command. Default: the package's `start` script, else `node <main>`. */
  command?: readonly string[];
  /** The user the container runs as. Default `node` (the official images' user, uid 1000). */
  user?: string;
}

const posixRelative = (root: string, file: string) => {
  const rel = path.relative(root, path.resolve(root, file)).split(path.sep).join("/");
  return rel === "" ? "." : rel;
};

/**
 * One package of a Node.js workspace (pnpm, npm or yarn 1), with only what it depends on: the workspace packages it
 * uses, their sources, their entries of the lock. The lock is checked against every manifest of that closure now (a
 * stale lock is an error naming the package, before any build); the manifests, the sources of the closure and the
 * pruned lock enter the tag, so an edit to another package of the workspace changes neither the tag nor the image.
 */
export function withNodeProject(image: Image, options: NodeProjectOptions = {}): Image {
  const root = image.root;
  const project = loadNodeProject({
    root,
    package: options.package ?? ".",
    workspace: options.workspace === undefined ? undefined : posixRelative(root, options.workspace),
    nodeVersion: statedNodeVersion(image),
  });
  let npmrc: string | undefined;
  if (typeof options.npmrc === "string") {
    npmrc = posixRelative(root, options.npmrc);
    if (!existsSync(path.resolve(root, npmrc))) {
      throw new ImageSpecError("FILE_NOT_FOUND", `Cannot use the npmrc ${JSON.stringify(options.npmrc)}: ${path.resolve(root, npmrc)} does not exist`, {
        field: "npmrc",
        value: options.npmrc,
        hint: `Relative paths are relative to ${root}.`,
      });
    }
  } else if (options.npmrc === undefined && existsSync(path.join(project.workspace.root, ".npmrc"))) {
    npmrc = posixRelative(root, path.join(project.workspace.root, ".npmrc"));
  }
  const buildScript = options.buildScript === false ? undefined : (options.buildScript ?? "build");
  const command = options.command ?? project.command;
  const fields = {
    manager: project.workspace.manager,
    ...(project.managerVersion !== undefined && { managerVersion: project.managerVersion }),
    workspace: project.workspacePath,
    lockfile: project.workspace.lockfile,
    lockDigest: project.lockDigest,
    configFiles: project.workspace.configFiles,
    ...(options.workspaceFiles !== undefined && { workspaceFiles: options.workspaceFiles }),
    package: project.target.dir,
    closure: project.closure,
    runtimeClosure: project.runtimeClosure,
    ...(buildScript !== undefined && { buildScript }),
    ...(command !== undefined && { command }),
    user: options.user ?? "node",
    dst: options.dst ?? DEFAULT_NODE_DST,
    ...(npmrc !== undefined && { npmrc }),
  };
  return image.withLayer(nodeProjectLayer, fields as NodeProjectFields);
}
