/**
 * ImageBuildEngine: picks a builder for each image, builds base images first (a DAG, deduplicated by URI,
 * independent images concurrently), skips images whose tag already exists unless forced, and pushes when the
 * image has a registry. An instance, not global state: two engines never see each other's builders.
 */

import path from "node:path";
import type { BuildEvent, BuildResult, ImageBuilder, PlatformBuild } from "./builder.js";
import { type BuilderSettingsSchema, checkBuilderSettings } from "./builder-settings.js";
import { errorMessage, ImageSpecError, isImageSpecError, showValue, type ValidationIssue } from "./errors.js";
import { ExistenceCache, existenceTtlMs } from "./existence-cache.js";
import { defaultCacheDir } from "./files.js";
import type { ImageIdentity } from "./identity.js";
import { type Image, isImage, type NativePlatform } from "./image.js";
import { limiter } from "./limiter.js";
import { parseImageReference } from "./reference.js";
import { type CredentialResolver, createDockerConfigResolver, type Existence, type PushAccess, RegistryClient } from "./registry/index.js";
import { type ImageSpec, isImageSpec } from "./spec.js";
import { closestMatch } from "./suggest.js";

export interface RegisterOptions {
  /** Higher wins when several builders support an image. Default 0. */
  readonly priority?: number;
  /** Where it came from (a package name, `config`), for `imagespec builders`. */
  readonly source?: string;
  /** Configuration handed to this builder in every BuildContext. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** The builder's settings schema (its factory's `settings`): images' builderConfig is checked against it. */
  readonly settings?: BuilderSettingsSchema;
}

export interface RegisteredBuilder {
  readonly builder: ImageBuilder;
  readonly priority: number;
  readonly source: string | undefined;
  readonly config: Readonly<Record<string, unknown>>;
  readonly settings: BuilderSettingsSchema | undefined;
  /** Registration order, the tie-breaker between equal priorities (earlier wins). */
  readonly order: number;
}

export type BuildTarget = Image | ImageSpec;

export interface BuildOptions {
  /** Build even when the tag exists (also `IMAGESPEC_FORCE_PUSH=true`, or `image.forcePush()`). */
  readonly force?: boolean;
  /** `false` never pushes (also `IMAGESPEC_PUSH=false`). */
  readonly push?: boolean;
  /** Use this builder type for every image (also `IMAGESPEC_BUILDER`); an image's own `builder` field comes first. */
  readonly builder?: string;
  /** Fast mode: code bundles are shipped separately, so left out of images and tags. */
  readonly fast?: boolean;
  /** How many independent images build at once. Default 3. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: EngineEvent) => void;
  /** Resolve, hash and check existence only; build nothing. */
  readonly dryRun?: boolean;
  /** Ask every registry, even where a recent answer said the tag exists (`--no-cache`). Fresh answers are still remembered. */
  readonly noCache?: boolean;
}

export type EngineEvent =
  | {
      readonly type: "image";
      readonly uri: string;
      readonly status: ImageStatus;
      readonly builder?: string;
      readonly reason?: string;
      /** With `built`: whether the builder pushed the image to its registry. */
      readonly pushed?: boolean;
    }
  | { readonly type: "build"; readonly uri: string; readonly event: BuildEvent }
  | { readonly type: "warning"; readonly uri?: string; readonly message: string };

export type ImageStatus = "queued" | "checking" | "building" | "built" | "skipped" | "failed" | "planned";

export interface BuildOutcome {
  readonly image: Image;
  readonly identity: ImageIdentity;
  readonly uri: string;
  readonly builder: string;
  /** `planned`: dry run, would be built. */
  readonly status: "built" | "skipped" | "failed" | "planned";
  readonly pushed: boolean;
  readonly digest?: string;
  /** Why it was skipped or failed, what existence said, or why a tag that was there is rebuilt (`rebuilt: ...`). */
  readonly reason?: string;
  readonly existence?: Existence;
  /** Several platforms: each platform's manifest digest (and the engine that built it), from the build or the registry. */
  readonly platforms?: readonly PlatformBuild[];
  /** Set on every failure: the builder's error, or an ImageSpecError (BUILD_FAILED when the base failed, CANCELLED). */
  readonly error?: unknown;
  readonly result?: BuildResult;
  /** True for images asked for directly; false for base images built on the way. */
  readonly requested: boolean;
}

export interface EngineOptions {
  /** Registry client for existence checks. Default: one with Docker config credentials. */
  readonly registry?: RegistryClient;
  readonly credentials?: CredentialResolver;
  /**
   * Environment variables to read (IMAGESPEC_PUSH, IMAGESPEC_FORCE_PUSH, IMAGESPEC_BUILDER, IMAGESPEC_EXISTENCE_TTL,
   * IMAGESPEC_CACHE_DIR). Default process.env.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * How long a registry's "the tag exists" answer is remembered, in ms, so the next `build` of the same URI skips it
   * without asking; 0 asks every time. Default: IMAGESPEC_EXISTENCE_TTL (seconds), else 300 s.
   */
  readonly existenceTtlMs?: number;
  /** Where remembered answers live. Default: IMAGESPEC_CACHE_DIR, else `$XDG_CACHE_HOME/imagespec` or `~/.cache/imagespec`. */
  readonly cacheDir?: string;
}

/** A builder that is created only when an image needs it (`registerFactory`), so a run that builds nothing loads none. */
export type BuilderCreator = () => ImageBuilder | Promise<ImageBuilder>;

interface Registration {
  readonly type: string;
  readonly priority: number;
  readonly source: string | undefined;
  readonly config: Readonly<Record<string, unknown>>;
  readonly settings: BuilderSettingsSchema | undefined;
  readonly order: number;
  builder?: ImageBuilder;
  create?: BuilderCreator;
}

interface Node {
  readonly image: Image;
  readonly identity: ImageIdentity;
  readonly base: Node | undefined;
  requested: boolean;
  /** Chosen for images that are built (or whose existence their builder's engine answers); not for skipped ones. */
  selected?: RegisteredBuilder;
  /** Asked before anything builds; undefined when forced. */
  existence?: Existence;
  /** How old the remembered answer was, when existence came from the existence cache. */
  rememberedMs?: number;
  outcome?: Promise<BuildOutcome>;
}

export class ImageBuildEngine {
  readonly #builders: Registration[] = [];
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #credentials: CredentialResolver;
  readonly #registry: RegistryClient;
  /** Clients for images that name their own Docker config file (`registryConfig`), by its path. */
  readonly #clientsByConfig = new Map<string, RegistryClient>();
  readonly #options: EngineOptions;
  #existenceCache: ExistenceCache | undefined;
  /** Builders whose creation failed, not yet reported in a build's events. */
  #creationFailures: string[] = [];
  readonly #resolversByConfig = new Map<string, CredentialResolver>();

  constructor(options: EngineOptions = {}) {
    this.#options = options;
    this.#env = options.env ?? process.env;
    this.#credentials = options.credentials ?? createDockerConfigResolver();
    this.#registry = options.registry ?? new RegistryClient({ credentials: this.#credentials });
  }

  /** Registers a builder. A later registration of the same type replaces the earlier one. */
  register(builder: ImageBuilder, options: RegisterOptions = {}): this {
    return this.#add(builder.type, { builder }, options);
  }

  /**
   * Registers a builder type that is created only when an image needs it: when one will be built, or when a local
   * image's existence is asked of its builder's engine. A run where every tag exists creates (and imports) no builder.
   * A creator that throws is dropped, with a warning event naming `options.source`.
   */
  registerFactory(type: string, create: BuilderCreator, options: RegisterOptions = {}): this {
    return this.#add(type, { create }, options);
  }

  #add(type: string, what: { builder?: ImageBuilder; create?: BuilderCreator }, options: RegisterOptions): this {
    const existing = this.#builders.findIndex((b) => b.type === type);
    const entry: Registration = {
      type,
      priority: options.priority ?? 0,
      source: options.source,
      config: options.config ?? {},
      settings: options.settings,
      order: existing >= 0 ? this.#builders[existing]!.order : this.#builders.length,
      ...what,
    };
    if (existing >= 0) this.#builders[existing] = entry;
    else this.#builders.push(entry);
    return this;
  }

  /** Creates every builder registered with `registerFactory` that is not created yet (failures are dropped, see there). */
  async loadBuilders(): Promise<void> {
    for (const entry of [...this.#builders]) {
      if (entry.builder || !entry.create) continue;
      const create = entry.create;
      entry.create = undefined;
      try {
        const builder = await create();
        if (!builder || typeof builder.supports !== "function" || typeof builder.build !== "function") throw new Error("its factory did not return a builder");
        entry.builder = builder;
      } catch (error) {
        // The user's settings are wrong: an error to fix, not a builder to skip (which would send builds elsewhere).
        if (isImageSpecError(error) && error.code === "CONFIG_ERROR") throw error;
        this.#builders.splice(this.#builders.indexOf(entry), 1);
        this.#creationFailures.push(`${entry.source ?? entry.type}: creating the ${entry.type} builder failed: ${errorMessage(error)}`);
      }
    }
  }

  /** Registered builders that are created, highest priority first (ties: registration order). See `loadBuilders`. */
  builders(): readonly RegisteredBuilder[] {
    return this.#builders
      .filter((b): b is Registration & { builder: ImageBuilder } => b.builder !== undefined)
      .sort((a, b) => b.priority - a.priority || a.order - b.order)
      .map(({ builder, priority, source, config, settings, order }) => ({ builder, priority, source, config, settings, order }));
  }

  /**
   * The builder for an image: the one it names (or `override`, or IMAGESPEC_BUILDER), else the highest-priority
   * one whose `supports()` accepts it. Throws NO_BUILDER listing every builder with its reason, and CONFIG_ERROR
   * when the image's builderConfig has a setting the chosen builder (or the builder a section names) does not know.
   */
  select(target: BuildTarget, override?: string): RegisteredBuilder {
    const image = toImage(target);
    const pending = this.#builders.filter((b) => !b.builder).map((b) => b.type);
    if (pending.length > 0) {
      throw new ImageSpecError("PLUGIN_ERROR", `Cannot choose a builder for ${image.name}: the builders ${pending.join(", ")} are not created yet`, {
        hint: "Call `await engine.loadBuilders()` before `select()`; `build()` and `existence()` do it themselves.",
      });
    }
    const selected = this.#select(image, override);
    this.#checkBuilderConfig(image, { type: selected.builder.type, settings: selected.settings });
    return selected;
  }

  #select(image: Image, override: string | undefined): RegisteredBuilder {
    const wanted = this.#wanted(image, override);
    const ordered = this.builders();
    if (wanted !== undefined) {
      const named = ordered.find((b) => b.builder.type === wanted);
      if (!named) {
        throw new ImageSpecError(
          "NO_BUILDER",
          `Cannot build ${image.name}: no builder of type ${showValue(wanted)} is registered (registered: ${ordered.map((b) => b.builder.type).join(", ") || "none"})`,
          {
            field: "builder",
            value: wanted,
            hint: "Install the builder's package (e.g. @imagespec/builder-docker) and list it in your package.json dependencies, or pick a registered builder.",
          },
        );
      }
      const verdict = safeSupports(named.builder, image);
      if (verdict !== true) {
        throw new ImageSpecError("NO_BUILDER", `Cannot build ${image.name} with the ${wanted} builder: ${verdict}`, { field: "builder", value: wanted });
      }
      return named;
    }
    const refusals: string[] = [];
    for (const candidate of ordered) {
      const verdict = safeSupports(candidate.builder, image);
      if (verdict === true) return candidate;
      refusals.push(`${candidate.builder.type} (priority ${candidate.priority}): ${verdict}`);
    }
    throw new ImageSpecError(
      "NO_BUILDER",
      ordered.length === 0
        ? `Cannot build ${image.name}: no builder is registered`
        : `Cannot build ${image.name}: no registered builder supports it:\n  - ${refusals.join("\n  - ")}`,
      { hint: "Install a builder package such as @imagespec/builder-docker and list it in your package.json dependencies." },
    );
  }

  /** The builder type an image asks for: its own, else the build's override, else IMAGESPEC_BUILDER. */
  #wanted(image: Image, override: string | undefined): string | undefined {
    return image.builder ?? override ?? (this.#env.IMAGESPEC_BUILDER || undefined);
  }

  /**
   * The image with every `native` platform (its own and its Image bases') replaced by the platform of the engine its
   * builder builds on. An image without `native` comes back as it is. Throws NO_BUILDER when the builder cannot say.
   */
  async resolvePlatforms(target: BuildTarget, options: { signal?: AbortSignal; builder?: string } = {}): Promise<Image> {
    return this.#resolveNative(toImage(target), options.builder, options.signal ?? new AbortController().signal, new Map(), new WeakMap());
  }

  async #resolveNative(
    image: Image,
    override: string | undefined,
    signal: AbortSignal,
    natives: Map<string, Promise<NativePlatform>>,
    done: WeakMap<Image, Promise<Image>>,
  ): Promise<Image> {
    let pending = done.get(image);
    if (pending === undefined) {
      pending = (async () => {
        let current = image;
        if (image.base.type === "image") {
          const base = await this.#resolveNative(image.base.image, override, signal, natives, done);
          if (base !== image.base.image) current = current.withBase(base);
        }
        if (!current.hasNativePlatform) return current;
        await this.loadBuilders();
        const selected = this.select(current, override);
        const { builder } = selected;
        if (!builder.nativePlatform) {
          throw new ImageSpecError(
            "NO_BUILDER",
            `Cannot resolve the platform "native" of ${image.name}: the ${builder.type} builder cannot tell which platform its engine runs`,
            {
              field: "platform",
              value: "native",
              hint: "Name the platform (e.g. linux/arm64), or build with a builder that resolves native (docker, remote).",
            },
          );
        }
        const config = this.#configFor(current, selected);
        const key = JSON.stringify([builder.type, config]);
        let native = natives.get(key);
        if (native === undefined) {
          native = builder.nativePlatform({ signal, config });
          natives.set(key, native);
        }
        const { platform, source } = await native;
        return current.resolveNativePlatform(platform, source);
      })();
      done.set(image, pending);
    }
    return pending;
  }

  /** Whether the image's tag exists: in its registry (always asked), or (a local image) in the selected builder's engine. */
  async existence(target: BuildTarget, options: { signal?: AbortSignal; builder?: string } = {}): Promise<Existence> {
    const image = await this.resolvePlatforms(target, options);
    const identity = await image.identity();
    const signal = options.signal ?? new AbortController().signal;
    if (image.registry !== undefined) return this.#existence(image, identity, undefined, signal);
    await this.loadBuilders();
    return this.#existence(image, identity, this.select(image, options.builder), signal);
  }

  async #existence(image: Image, identity: ImageIdentity, selected: RegisteredBuilder | undefined, signal: AbortSignal): Promise<Existence> {
    if (image.registry !== undefined) return this.#clientFor(image).manifestExists(identity.uri, { platforms: image.platforms, signal });
    if (selected?.builder.exists) {
      try {
        return await selected.builder.exists(identity.uri, { signal, config: this.#configFor(image, selected) });
      } catch (error) {
        return { status: "unknown", reason: `the ${selected.builder.type} builder could not check: ${errorMessage(error)}` };
      }
    }
    return { status: "absent" };
  }

  /** The registry client for an image: the engine's, or one reading the Docker config file the image names. */
  #clientFor(image: Image): RegistryClient {
    if (image.registryConfig === undefined) return this.#registry;
    const configPath = path.resolve(image.root, image.registryConfig);
    let client = this.#clientsByConfig.get(configPath);
    if (!client) {
      client = new RegistryClient({ credentials: this.#credentialsFor(image) });
      this.#clientsByConfig.set(configPath, client);
    }
    return client;
  }

  /**
   * The one credential resolver for everything an image's build does with registries (existence, the push
   * pre-flight, pulling its bases, the push): the Docker config file the image names (`registryConfig`), else the
   * engine's. A builder gets it as `BuildContext.credentials`.
   */
  #credentialsFor(image: Image): CredentialResolver {
    const configPath = image.registryConfig;
    if (configPath === undefined) return this.#credentials;
    const absolute = path.resolve(image.root, configPath);
    let resolver = this.#resolversByConfig.get(absolute);
    if (!resolver) {
      resolver = createDockerConfigResolver({ configPath: absolute });
      this.#resolversByConfig.set(absolute, resolver);
    }
    return resolver;
  }

  /**
   * What a builder gets as its configuration for an image: the config file's `builders.<type>`, then the image's
   * `builderConfig` — its flat keys, then its section for this builder type. A key naming a registered builder type
   * is such a section, so `{ network: "host" }` and `{ docker: { network: "host" } }` both reach the docker builder,
   * and another builder's section is never handed to the wrong one.
   */
  configFor(target: BuildTarget, selected: RegisteredBuilder): Readonly<Record<string, unknown>> {
    return this.#configFor(toImage(target), selected);
  }

  #configFor(image: Image, selected: RegisteredBuilder): Readonly<Record<string, unknown>> {
    const { flat, sections } = this.#splitBuilderConfig(image);
    return { ...selected.config, ...flat, ...sections.get(selected.builder.type) };
  }

  #splitBuilderConfig(image: Image): { flat: Record<string, unknown>; sections: Map<string, Record<string, unknown>> } {
    const own = image.builderConfig ?? {};
    const types = new Set(this.#builders.map((b) => b.type));
    const flat: Record<string, unknown> = {};
    const sections = new Map<string, Record<string, unknown>>();
    for (const [key, value] of Object.entries(own)) {
      if (!types.has(key)) flat[key] = value;
      else if (typeof value === "object" && value !== null && !Array.isArray(value)) sections.set(key, value as Record<string, unknown>);
    }
    return { flat, sections };
  }

  /**
   * The image's builderConfig against the settings each builder declares: the flat keys against the chosen builder's,
   * each section against its own builder's (an unused section is checked too, so a typo never waits for the day that
   * builder is chosen). Builders that declare no settings take what they are given. Without a chosen builder (an
   * image that is not built and names none) only the sections are checked.
   */
  #checkBuilderConfig(image: Image, selected: { readonly type: string; readonly settings: BuilderSettingsSchema | undefined } | undefined): void {
    if (image.builderConfig === undefined) return;
    const { flat, sections } = this.#splitBuilderConfig(image);
    const issues: ValidationIssue[] = [];
    const types = this.#builders.map((b) => b.type);
    if (selected?.settings !== undefined && Object.keys(flat).length > 0) {
      for (const issue of checkBuilderSettings(selected.settings, flat, { type: selected.type, at: "builderConfig" })) {
        // A misspelled section (`dokcer:`) lands among the flat keys: suggest the builder type too.
        const key = issue.field.slice("builderConfig.".length);
        const typo = /^is not a setting/.test(issue.message) && !issue.message.includes("did you mean") ? closestMatch(key, types) : undefined;
        issues.push(typo ? { ...issue, message: `${issue.message.replace(/ \(its settings: .*\)$/, "")}; did you mean the ${typo} section?` } : issue);
      }
    }
    for (const [type, section] of sections) {
      const settings = this.#builders.find((b) => b.type === type)?.settings;
      if (settings !== undefined) issues.push(...checkBuilderSettings(settings, section, { type, at: `builderConfig.${type}` }));
    }
    for (const [type, value] of Object.entries(image.builderConfig)) {
      if (types.includes(type) && !sections.has(type))
        issues.push({ field: `builderConfig.${type}`, value, message: `is the section of the ${type} builder: expected a mapping of its settings` });
    }
    if (issues.length === 0) return;
    const lines = issues.map((i) => `${i.field} = ${showValue(i.value)}: ${i.message}`);
    const by = selected ? ` with the ${selected.type} builder` : "";
    const example = selected?.type ?? types[0] ?? "docker";
    throw new ImageSpecError(
      "CONFIG_ERROR",
      `Cannot build ${image.name}${by}: ${lines.length === 1 ? lines[0] : `${lines.length} invalid settings:\n  - ${lines.join("\n  - ")}`}`,
      {
        field: issues[0]!.field,
        value: issues[0]!.value,
        issues,
        hint: `Fix the image's builderConfig: flat keys go to the builder that builds it${selected ? ` (here ${selected.type})` : ""}; settings for one builder only go in its section, e.g. builderConfig: { ${example}: { ... } }.`,
      },
    );
  }

  /**
   * Builds the targets and their base images. Selection problems throw before anything is built; a failed build
   * fails its dependants and is reported in its outcome, while independent images go on.
   */
  async build(targets: BuildTarget | readonly BuildTarget[], options: BuildOptions = {}): Promise<BuildOutcome[]> {
    const list = (Array.isArray(targets) ? targets : [targets]) as readonly BuildTarget[];
    const emit = (event: EngineEvent) => {
      try {
        options.onEvent?.(event);
      } catch {
        // A broken progress renderer must not break the build.
      }
    };
    const signal = options.signal ?? new AbortController().signal;
    const natives = new Map<string, Promise<NativePlatform>>();
    const resolved = new WeakMap<Image, Promise<Image>>();
    const images = await Promise.all(
      list.map((t) => this.#resolveNative(options.fast ? toImage(t).forFastRegistration() : toImage(t), options.builder, signal, natives, resolved)),
    );
    const reportCreationFailures = () => {
      for (const message of this.#creationFailures.splice(0)) emit({ type: "warning", message: `plugin ${message}` });
    };
    const select = async (selectFor: readonly Node[]) => {
      if (selectFor.every((node) => node.selected)) return;
      await this.loadBuilders();
      reportCreationFailures();
      for (const node of selectFor) node.selected ??= this.select(node.image, options.builder);
    };
    const nodes = await this.#graph(images, options);
    for (const node of nodes) emit({ type: "image", uri: node.identity.uri, status: "queued", builder: this.#wanted(node.image, options.builder) });

    // Existence of every image first. A registry answers for an image that has one, so no builder is needed (or
    // loaded) for an image whose tag exists; a local image is asked of its builder's engine, so its builder is
    // chosen first.
    const forced = (node: Node) => this.#forced(node.image, options);
    await select(nodes.filter((node) => node.image.registry === undefined && !forced(node)));
    const cache = this.#existenceCacheFor();
    const check = limiter(8);
    await Promise.all(
      nodes.map((node) =>
        check(async () => {
          if (forced(node)) return;
          emit({ type: "image", uri: node.identity.uri, status: "checking", builder: node.selected?.builder.type });
          const uri = node.identity.uri;
          const remembered = node.image.registry !== undefined && !options.noCache ? cache?.get(uri) : undefined;
          if (remembered) {
            node.existence = {
              status: "present",
              ...(remembered.digest !== undefined && { digest: remembered.digest }),
              ...(remembered.platforms !== undefined && { platforms: remembered.platforms }),
            };
            node.rememberedMs = remembered.ageMs;
            return;
          }
          node.existence = await this.#existence(node.image, node.identity, node.selected, signal);
          if (node.image.registry === undefined || !cache) return;
          if (node.existence.status === "present") cache.rememberPresent(uri, node.existence.digest, node.existence.platforms);
          else if (node.existence.status === "absent") cache.forget(uri);
        }),
      ),
    );
    cache?.flush();

    // Every image that will be built gets its builder now: selection problems throw before anything is built.
    const building = nodes.filter((node) => node.existence?.status !== "present");
    await select(building);

    // Whether each push that will happen can work: a registry that cannot be reached or refuses the credentials
    // decides the outcome, so it fails the run before anything is built.
    await this.#preflightPush(
      building.filter((node) => this.#pushes(node.image, options)),
      signal,
    );

    const run = limiter(Math.max(1, options.concurrency ?? 3));
    const start = (node: Node): Promise<BuildOutcome> => {
      node.outcome ??= (async () => {
        const baseOutcome = node.base ? await start(node.base) : undefined;
        return run(() => this.#buildOne(node, baseOutcome, options, signal, emit));
      })();
      return node.outcome;
    };
    // Only a registry's own answer is remembered, never a builder's word that it pushed: the next build asks once.
    return Promise.all(nodes.map(start));
  }

  /** The remembered existence answers, or undefined when remembering is off (TTL 0). */
  #existenceCacheFor(): ExistenceCache | undefined {
    if (!this.#existenceCache) {
      const ttlMs = this.#options.existenceTtlMs ?? existenceTtlMs(this.#env);
      const dir = this.#options.cacheDir ?? (this.#env.IMAGESPEC_CACHE_DIR || defaultCacheDir());
      this.#existenceCache = new ExistenceCache({ dir, ttlMs });
    }
    return this.#existenceCache.enabled ? this.#existenceCache : undefined;
  }

  /**
   * The DAG: every target and, recursively, its Image bases, deduplicated by URI. A builder type an image names must
   * be registered (checked here, without creating any builder).
   */
  async #graph(images: readonly Image[], options: BuildOptions): Promise<Node[]> {
    const byUri = new Map<string, Node>();
    const order: Node[] = [];
    const visit = async (image: Image, requested: boolean): Promise<Node> => {
      const identity = await image.identity();
      const existing = byUri.get(identity.uri);
      if (existing) {
        existing.requested ||= requested;
        return existing;
      }
      const base = image.base.type === "image" ? await visit(image.base.image, false) : undefined;
      const again = byUri.get(identity.uri); // a sibling may have added it while we awaited
      if (again) {
        again.requested ||= requested;
        return again;
      }
      const node: Node = { image, identity, base, requested };
      byUri.set(identity.uri, node);
      order.push(node);
      return node;
    };
    // Hash every image (and its bases) at once; the walk below then reads memoised identities in order.
    await Promise.all(images.map((image) => image.identity()));
    for (const image of images) await visit(image, true);
    for (const node of order) {
      const wanted = this.#wanted(node.image, options.builder);
      const named = wanted === undefined ? undefined : this.#builders.find((b) => b.type === wanted);
      if (wanted !== undefined && !named) {
        throw new ImageSpecError(
          "NO_BUILDER",
          `Cannot build ${node.image.name}: no builder of type ${showValue(wanted)} is registered (registered: ${
            [...this.#builders]
              .sort((a, b) => b.priority - a.priority || a.order - b.order)
              .map((b) => b.type)
              .join(", ") || "none"
          })`,
          {
            field: "builder",
            value: wanted,
            hint: "Install the builder's package (e.g. @imagespec/builder-docker) and list it in your package.json dependencies, or pick a registered builder.",
          },
        );
      }
      // Settings are checked from the registration, so a typo fails even the run where the tag exists.
      this.#checkBuilderConfig(node.image, named);
    }
    return order;
  }

  #forced(image: Image, options: BuildOptions): boolean {
    return options.force === true || image.forcePushRequested || this.#env.IMAGESPEC_FORCE_PUSH === "true";
  }

  #pushes(image: Image, options: BuildOptions): boolean {
    return image.registry !== undefined && options.push !== false && this.#env.IMAGESPEC_PUSH !== "false";
  }

  /** Throws REGISTRY_ERROR (unreachable) or AUTH_ERROR (refused) naming every repository a push to cannot work. */
  async #preflightPush(nodes: readonly Node[], signal: AbortSignal): Promise<void> {
    const repositories = new Map<string, { client: RegistryClient; domain: string; path: string }>();
    for (const node of nodes) {
      const ref = parseImageReference(node.identity.uri);
      if (!ref) continue;
      const client = this.#clientFor(node.image);
      repositories.set(
        `${node.image.registryConfig === undefined ? "" : path.resolve(node.image.root, node.image.registryConfig)}\0${ref.domain}/${ref.path}`,
        { client, domain: ref.domain, path: ref.path },
      );
    }
    const failed: { domain: string; path: string; access: Exclude<PushAccess, { status: "allowed" }> }[] = [];
    await Promise.all(
      [...repositories.values()].map(async ({ client, domain, path }) => {
        const access = await client.pushAccess({ domain, path }, { signal });
        if (access.status !== "allowed") failed.push({ domain, path, access });
      }),
    );
    if (failed.length === 0) return;
    failed.sort((a, b) => `${a.domain}/${a.path}`.localeCompare(`${b.domain}/${b.path}`));
    const unreachable = failed.some((f) => f.access.status === "unreachable");
    const domains = [...new Set(failed.map((f) => f.domain))];
    const message =
      failed.length === 1
        ? `Cannot push to ${describePushAccess(failed[0]!)}; nothing was built`
        : `Cannot push to ${domains.join(", ")}; nothing was built:\n${failed.map((f) => `  - ${describePushAccess(f)}`).join("\n")}`;
    throw new ImageSpecError(unreachable ? "REGISTRY_ERROR" : "AUTH_ERROR", message, {
      field: "registry",
      value: domains.length === 1 ? domains[0] : domains,
      hint: unreachable
        ? "Check the registry's address (the image's registry, IMAGESPEC_REGISTRY or the config's registry) and that it is running. --no-push (IMAGESPEC_PUSH=false) builds without pushing."
        : `Log in (docker login ${domains[0]}) or point registryConfig at a Docker config file with credentials that may push. --no-push (IMAGESPEC_PUSH=false) builds without pushing.`,
    });
  }

  async #buildOne(
    node: Node,
    baseOutcome: BuildOutcome | undefined,
    options: BuildOptions,
    signal: AbortSignal,
    emit: (e: EngineEvent) => void,
  ): Promise<BuildOutcome> {
    const { image, identity } = node;
    const selected = node.selected;
    // A skipped image has no builder chosen for it: it is reported with the one it names, if any.
    const type = selected?.builder.type ?? this.#wanted(image, options.builder) ?? "";
    const uri = identity.uri;
    const common = { image, identity, uri, builder: type, requested: node.requested };
    const fail = (reason: string, error: unknown): BuildOutcome => {
      emit({ type: "image", uri, status: "failed", builder: type, reason });
      return { ...common, status: "failed", pushed: false, reason, error };
    };
    if (baseOutcome?.status === "failed") {
      const reason = `its base image ${baseOutcome.uri} failed to build`;
      return fail(reason, new ImageSpecError("BUILD_FAILED", `Cannot build ${image.name}: ${reason}`, { value: baseOutcome.uri }));
    }
    if (signal.aborted) return fail("cancelled", new ImageSpecError("CANCELLED", `Cannot build ${image.name}: cancelled`));

    const force = this.#forced(image, options);
    const push = this.#pushes(image, options);

    const existence = node.existence;
    if (existence !== undefined) {
      if (existence.status === "present") {
        const remembered = node.rememberedMs !== undefined ? ` (as it said ${Math.round(node.rememberedMs / 1000)} s ago; --no-cache asks again)` : "";
        const reason = image.registry ? `${uri} already exists in ${image.registry}${remembered}` : `${uri} already exists in the ${type} builder's engine`;
        emit({ type: "image", uri, status: "skipped", builder: type, reason });
        return {
          ...common,
          status: "skipped",
          pushed: false,
          reason,
          existence,
          ...(existence.digest && { digest: existence.digest }),
          ...(existence.platforms && { platforms: existence.platforms }),
        };
      }
      if (existence.status === "unknown") {
        emit({ type: "warning", uri, message: `Cannot tell whether ${uri} exists (${existence.reason}); building it anyway` });
      }
    }
    // A tag that holds some platforms but not all is rebuilt: say why.
    const rebuild = existence?.status === "absent" && existence.reason !== undefined ? existence.reason : undefined;
    if (options.dryRun) {
      const reason = force ? "forced" : existence?.status === "unknown" ? `existence unknown: ${existence.reason}` : (rebuild ?? "not in the registry");
      emit({ type: "image", uri, status: "planned", builder: type, reason });
      return { ...common, status: "planned", pushed: false, reason, ...(existence && { existence }) };
    }

    if (!selected) throw new Error(`internal: no builder was chosen for ${uri}`);
    const config = this.#configFor(image, selected);
    emit({ type: "image", uri, status: "building", builder: type, ...(rebuild !== undefined && { reason: rebuild }) });
    try {
      const result = await selected.builder.build(image, {
        uri,
        identity,
        push,
        baseUri: image.base.type === "image" ? (baseOutcome?.uri ?? (await image.base.image.uri())) : undefined,
        credentials: this.#credentialsFor(image),
        config,
        signal,
        report: (event) => emit({ type: "build", uri, event }),
      });
      emit({ type: "image", uri, status: "built", builder: type, pushed: result.pushed, ...(rebuild !== undefined && { reason: `rebuilt: ${rebuild}` }) });
      return {
        ...common,
        uri: result.uri,
        status: "built",
        pushed: result.pushed,
        result,
        ...(result.digest && { digest: result.digest }),
        ...(result.platforms && { platforms: result.platforms }),
        ...(rebuild !== undefined && { reason: `rebuilt: ${rebuild}` }),
        ...(existence && { existence }),
      };
    } catch (error) {
      return fail(errorMessage(error), error);
    }
  }
}

function describePushAccess(found: { domain: string; path: string; access: Exclude<PushAccess, { status: "allowed" }> }): string {
  return `${found.domain}/${found.path}: ${found.access.reason}`;
}

function toImage(target: BuildTarget): Image {
  if (isImageSpec(target)) return target.toImage();
  if (isImage(target)) return target;
  throw new ImageSpecError("INVALID_SPEC", `Cannot build ${showValue(target)}: expected an Image or an ImageSpec`, { value: target });
}

function safeSupports(builder: ImageBuilder, image: Image): true | string {
  try {
    const verdict = builder.supports(image);
    return verdict === true ? true : typeof verdict === "string" && verdict ? verdict : "refused without a reason";
  } catch (error) {
    return `its supports() threw: ${errorMessage(error)}`;
  }
}
