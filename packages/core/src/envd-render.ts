/**
 * The envd renderer extension point (types only), beside the Docker one (docker-render.ts). A layer package renders
 * its own kinds for @imagespec/builder-envd by giving its definition an `envd` renderer; the builder implements the
 * context, so layer packages never depend on the builder.
 *
 *   const renderEnvd: EnvdLayerRenderer<UvScriptFields> = (layer) =>
 *     layer.extraArgs?.length ? "envd cannot pass extra installer arguments" : { stage: "packages", statements: [...] };
 */

/** The envd stages a layer can belong to, in the order envd runs them. */
export type EnvdStage = "system" | "packages" | "copy" | "run";

/** What a layer package's `renderers.envd` returns for one layer. */
export interface EnvdLayerRendering {
  readonly stage: EnvdStage;
  /** Starlark statements, one line each, without indentation; every value written with `starlarkString`. */
  readonly statements: readonly string[];
}

export interface EnvdLayerContext {
  /** The absolute working directory earlier workdir layers set, if any. */
  readonly workdir: string | undefined;
  readonly pythonVersion: string | undefined;
  /** Where each file or folder the layer reads (its definition's `inputs`) is placed in the build context, by field. */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * `renderers.envd` of a layer definition: the layer's statements, or the reason envd cannot express it (a string),
 * which the builder reports from `supports()`. `fields` are the layer's validated fields, without `kind`.
 */
export type EnvdLayerRenderer<Fields extends object = Record<string, unknown>> = (
  fields: Readonly<Fields>,
  context: EnvdLayerContext,
) => EnvdLayerRendering | string;
