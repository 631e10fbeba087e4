/**
 * describeBuilderConformance: the contract every imagespec builder keeps, as vitest tests a builder author runs in
 * their own suite. The engine relies on each of these: it asks supports() of every builder (so it must answer and
 * never throw), falls back on a refusal (so the reason must say something), shows rendered files to users (so they
 * must be reproducible and carry the identity), maps errors to exit codes by `code`, and cancels builds.
 */

import { cp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  type BuilderFactory,
  type BuildEvent,
  checkBuilderSettings,
  type BuildResult,
  type ErrorCode,
  IMAGE_ID_ENV,
  type ImageBuilder,
  type ImageIdentity,
  type ImageSpecPlugin,
  isImageBuilder,
  isImageSpecError,
  isPlugin,
  SPECIFICATION_VERSION,
} from "@imagespec/core/authoring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALWAYS_REFUSED, type ConformanceFiles, conformanceCorpus, createBuildContext, createConformanceFiles } from "./fixtures.js";

/** How the suite gets a builder: a function like a BuilderFactory's `create`, or the factory itself. */
export type BuilderSource =
  | ((options: { readonly config: Readonly<Record<string, unknown>> }) => ImageBuilder | Promise<ImageBuilder>)
  | Pick<BuilderFactory, "create">;

/** Makes an image from the suite's sample files (use `files.root` as the image's root). */
export type ImageFixture = (files: ConformanceFiles) => Image | Promise<Image>;

export interface BuildFixture {
  readonly image: ImageFixture;
  /** BuildContext.config for this build (merged over the suite's `config`). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly push?: boolean;
  /** More checks on the result and the events the build reported. */
  readonly check?: (
    result: BuildResult,
    details: { readonly image: Image; readonly identity: ImageIdentity; readonly events: readonly BuildEvent[] },
  ) => void | Promise<void>;
}

export interface ErrorFixture extends Omit<BuildFixture, "check"> {
  /** Names the case in the test title, e.g. "envd is missing". */
  readonly name: string;
  /** The code (or one of the codes) the build must fail with. */
  readonly code: ErrorCode | readonly ErrorCode[];
}

export interface BuilderConformanceOptions {
  /** Title of the describe block. Default `<type> builder conformance`. */
  readonly name?: string;
  /** The configuration the builder is created with and that BuildContext/RenderContext carry. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Images the builder must accept: at least one. The first is also used for the cancellation checks. */
  readonly supported: readonly ImageFixture[];
  /** Images the builder must refuse, with a reason. */
  readonly refused?: readonly ImageFixture[];
  /** A build that completes on the test machine (with whatever fakes or real engines `config` points at). */
  readonly build?: BuildFixture;
  /** Builds that must fail, and with which error code. */
  readonly errors?: readonly ErrorFixture[];
  /** A build that takes long enough to be cancelled while it runs. */
  readonly cancellation?: Omit<BuildFixture, "check"> & { readonly abortAfterMs?: number };
  /**
   * Where IMAGESPEC_IMAGE_ID shows. Default: in the file `render()` returns (a builder with render() must put it
   * there). `probe` reads it from what a build produced (e.g. by running the image); `unsupported` states why the
   * builder cannot carry it (noop returns the base image unchanged).
   */
  readonly identity?: { readonly probe: (result: BuildResult, image: Image) => Promise<string | undefined> } | { readonly unsupported: string };
  /** The plugin the builder ships in: checked to offer a factory for this builder type. */
  readonly plugin?: ImageSpecPlugin;
  /** How long a cancelled build may take to settle. Default 10 000 ms. */
  readonly cancelWithinMs?: number;
  /** Timeout of each test. Default 120 000 ms. */
  readonly timeoutMs?: number;
}

const KNOWN_CODES: readonly ErrorCode[] = [
  "INVALID_SPEC",
  "FILE_NOT_FOUND",
  "FILE_CHANGED",
  "NOT_EXTENDABLE",
  "NO_BUILDER",
  "BUILD_FAILED",
  "REGISTRY_ERROR",
  "AUTH_ERROR",
  "PLUGIN_ERROR",
  "CONFIG_ERROR",
  "ENVIRONMENT",
  "CANCELLED",
];

/**
 * Declares the conformance tests for a builder. Call it at the top level of a vitest test file:
 *
 * ```ts
 * describeBuilderConformance(() => createMyBuilder(), {
 *   supported: [({ root }) => Image.fromBase("alpine:3.20", { root })],
 *   refused: [({ root }) => Image.fromDockerfile("Dockerfile", { root })],
 * });
 * ```
 */
export function describeBuilderConformance(source: BuilderSource, options: BuilderConformanceOptions): void {
  const timeout = options.timeoutMs ?? 120_000;
  const cancelWithin = options.cancelWithinMs ?? 10_000;
  const baseConfig = options.config ?? {};
  const create = async (): Promise<ImageBuilder> => {
    const made = typeof source === "function" ? source({ config: baseConfig }) : source.create({ config: baseConfig });
    return await made;
  };
  if (options.supported.length === 0) throw new Error("describeBuilderConformance: give at least one image in `supported`");

  let files: ConformanceFiles;
  let moved: ConformanceFiles;

  // Async so the builder exists at collection time: the title names its type, and checks that only apply to
  // builders with render() are declared only for them (nothing is skipped).
  describe(options.name ?? "builder conformance", async () => {
    const builder = await create();
    const type = typeof builder?.type === "string" ? builder.type : "(no type)";

    beforeAll(async () => {
      files = await createConformanceFiles();
      // The same files in another folder: a checkout moved elsewhere must render the same build file.
      const movedRoot = path.join(os.tmpdir(), `${path.basename(files.root)}-moved`);
      await cp(files.root, movedRoot, { recursive: true });
      moved = { ...files, root: movedRoot };
    });
    afterAll(async () => {
      if (files) await rm(files.root, { recursive: true, force: true });
      if (moved) await rm(moved.root, { recursive: true, force: true });
    });

    describe(type, () => {
      it("is an ImageBuilder with a lowercase type", () => {
        expect(isImageBuilder(builder), "createBuilder() must return { type, supports, build }").toBe(true);
        expect(builder.type).toMatch(/^[a-z][a-z0-9-]*$/);
      });

      if (options.plugin) {
        const plugin = options.plugin;
        it("ships in a plugin that offers it", async () => {
          expect(isPlugin(plugin), "the plugin must be made with definePlugin()").toBe(true);
          expect(plugin.specificationVersion, "the plugin must state the contract version this core implements").toBe(SPECIFICATION_VERSION);
          const factory = plugin.builders.find((b) => b.type === builder.type);
          expect(factory, `plugin ${plugin.name} offers no builder of type ${builder.type}`).toBeDefined();
          expect(Number.isFinite(factory!.priority)).toBe(true);
          const made = await factory!.create({ config: baseConfig });
          expect(made.type).toBe(builder.type);
        });

        const settings = plugin.builders.find((b) => b.type === type)?.settings;
        // Declared only for builders whose factory declares settings (a builder without them is not checked by core).
        if (settings !== undefined) {
          it("declares settings that refuse a key they do not know (so core never lets a misspelled setting through)", () => {
            const at = `builders.${type}`;
            expect(checkBuilderSettings(settings, baseConfig, { type, at }), "the configuration the suite builds with").toEqual([]);
            const unknown = checkBuilderSettings(settings, { "imagespec-conformance-unknown": true }, { type, at });
            expect(
              unknown.map((i) => i.field),
              "settings must be a strict schema: z.object({...}).strict()",
            ).toEqual([`${at}["imagespec-conformance-unknown"]`]);
          });
        }
      }

      it("answers supports() with true or a reason, never throwing, for every kind of image", () => {
        const problems: string[] = [];
        for (const { name, image } of conformanceCorpus(files)) {
          let first: unknown;
          try {
            first = builder.supports(image);
          } catch (error) {
            problems.push(`${name}: supports() threw ${String(error)}`);
            continue;
          }
          if (first !== true && (typeof first !== "string" || first.trim() === "")) {
            problems.push(`${name}: supports() returned ${JSON.stringify(first)} (expected true or a non-empty reason)`);
          } else if (builder.supports(image) !== first) {
            problems.push(`${name}: supports() changed its answer when asked again`);
          }
        }
        expect(problems, problems.join("\n")).toEqual([]);
      });

      it("refuses layer kinds it cannot know, rather than dropping them", () => {
        for (const { name, image } of conformanceCorpus(files).filter((c) => (ALWAYS_REFUSED as readonly string[]).includes(c.name))) {
          const verdict = builder.supports(image);
          expect(typeof verdict === "string" && verdict.trim() !== "", `${name}: a builder must refuse, with a reason, a layer it has no renderer for`).toBe(
            true,
          );
        }
      });

      it("accepts the images it says it builds", async () => {
        for (const [i, fixture] of options.supported.entries()) {
          expect(builder.supports(await fixture(files)), `supported[${i}]`).toBe(true);
        }
      });

      if (options.refused?.length) {
        it("refuses with a reason the images it cannot build", async () => {
          for (const [i, fixture] of options.refused!.entries()) {
            const verdict = builder.supports(await fixture(files));
            expect(typeof verdict, `refused[${i}] was accepted`).toBe("string");
            expect((verdict as string).trim().length, `refused[${i}]: the reason is empty`).toBeGreaterThan(0);
          }
        });
      }

      it(
        "fails with an ImageSpecError when asked to build or render an image it refuses",
        async () => {
          const refused = [
            ...(await Promise.all((options.refused ?? []).map((f) => f(files)))),
            ...conformanceCorpus(files)
              .filter((c) => (ALWAYS_REFUSED as readonly string[]).includes(c.name))
              .map((c) => c.image),
          ];
          for (const image of refused) {
            const context = await createBuildContext(image, { config: baseConfig });
            await expectImageSpecError(builder.build(image, context), KNOWN_CODES, "build() of a refused image");
            if (builder.render) {
              await expectImageSpecError(
                builder.render(image, { identity: context.identity, baseUri: context.baseUri, config: baseConfig }),
                KNOWN_CODES,
                "render() of a refused image",
              );
            }
          }
        },
        timeout,
      );

      if (builder.render) {
        it("renders the same bytes every time, from any checkout location", async () => {
          for (const [i, fixture] of options.supported.entries()) {
            const image = await fixture(files);
            const first = await renderOf(builder, image, baseConfig);
            const again = await renderOf(builder, await fixture(files), baseConfig);
            const fresh = await renderOf(await create(), image, baseConfig);
            const elsewhere = await renderOf(builder, await fixture(moved), baseConfig);
            expect(first.filename, `supported[${i}]: the file needs a name`).toMatch(/\S/);
            expect(again, `supported[${i}]: rendering twice differs`).toEqual(first);
            expect(fresh, `supported[${i}]: another builder instance renders differently`).toEqual(first);
            expect(elsewhere.content, `supported[${i}]: the same files in another folder render differently`).toBe(first.content);
          }
        });
      }

      const identity = options.identity;
      if (identity && "probe" in identity) {
        it(
          `carries the image's id as ${IMAGE_ID_ENV} in what it builds`,
          async () => {
            const fixture = options.build ?? { image: options.supported[0]! };
            const image = await fixture.image(files);
            const result = await builder.build(image, await createBuildContext(image, { config: { ...baseConfig, ...fixture.config } }));
            expect(await identity.probe(result, image)).toBe(image.id);
          },
          timeout,
        );
      } else if (!identity) {
        it(`carries the image's id as ${IMAGE_ID_ENV} in the file it renders`, async () => {
          expect(builder.render, "a builder without render() must give identity.probe, or identity.unsupported with the reason").toBeTypeOf("function");
          for (const [i, fixture] of options.supported.entries()) {
            const image = await fixture(files);
            const { content } = await renderOf(builder, image, baseConfig);
            expect(content, `supported[${i}]: ${IMAGE_ID_ENV} is missing from the rendered file`).toContain(IMAGE_ID_ENV);
            expect(content, `supported[${i}]: the image id is missing from the rendered file`).toContain(image.id);
          }
        });
      } else {
        it("states why it cannot carry the image's id", () => {
          expect(identity.unsupported).toMatch(/\S/);
        });
      }

      it(
        "rejects promptly, as CANCELLED, a build whose signal is already aborted",
        async () => {
          const fixture = options.build ?? { image: options.supported[0]! };
          const image = await fixture.image(files);
          const controller = new AbortController();
          controller.abort();
          const context = await createBuildContext(image, { config: { ...baseConfig, ...fixture.config }, signal: controller.signal });
          await expectCancelled(builder.build(image, context), cancelWithin);
        },
        timeout,
      );

      if (options.cancellation) {
        const fixture = options.cancellation;
        it(
          "stops a running build when its signal is aborted",
          async () => {
            const image = await fixture.image(files);
            const controller = new AbortController();
            const events: BuildEvent[] = [];
            const context = await createBuildContext(image, {
              config: { ...baseConfig, ...fixture.config },
              signal: controller.signal,
              onEvent: (e) => events.push(checkEvent(e)),
            });
            const running = builder.build(image, context);
            setTimeout(() => controller.abort(), fixture.abortAfterMs ?? 200);
            await expectCancelled(running, cancelWithin + (fixture.abortAfterMs ?? 200));
          },
          timeout,
        );

        it(
          "stops a build whose signal is aborted while it is being prepared",
          async () => {
            const image = await fixture.image(files);
            // Early aborts land while the builder still prepares (reads the context, opens a session, starts the
            // request): each must end the build, not leave it running to the end.
            for (const delayMs of [0, 10, 25, 50, 100, 200, 400]) {
              const controller = new AbortController();
              const context = await createBuildContext(image, { config: { ...baseConfig, ...fixture.config }, signal: controller.signal });
              const running = builder.build(image, context);
              setTimeout(() => controller.abort(), delayMs);
              await expectCancelled(running, cancelWithin + delayMs);
            }
          },
          timeout,
        );
      }

      if (options.build) {
        const fixture = options.build;
        it(
          "builds, reporting well-formed events and a result",
          async () => {
            const image = await fixture.image(files);
            const events: BuildEvent[] = [];
            const context = await createBuildContext(image, {
              config: { ...baseConfig, ...fixture.config },
              push: fixture.push ?? false,
              onEvent: (e) => events.push(checkEvent(e)),
            });
            const result = await builder.build(image, context);
            expect(result.uri).toMatch(/\S/);
            expect(typeof result.pushed).toBe("boolean");
            if (!context.push) expect(result.pushed, "pushed without being asked to").toBe(false);
            await fixture.check?.(result, { image, identity: context.identity, events });
          },
          timeout,
        );
      }

      for (const fixture of options.errors ?? []) {
        it(
          `fails as ${[fixture.code].flat().join(" or ")} when ${fixture.name}`,
          async () => {
            const image = await fixture.image(files);
            const context = await createBuildContext(image, { config: { ...baseConfig, ...fixture.config }, push: fixture.push ?? false });
            await expectImageSpecError(builder.build(image, context), [fixture.code].flat() as ErrorCode[], fixture.name);
          },
          timeout,
        );
      }
    });
  });
}

async function renderOf(builder: ImageBuilder, image: Image, config: Readonly<Record<string, unknown>>) {
  const identity = await image.identity();
  const baseUri = image.base.type === "image" ? await image.base.image.uri() : undefined;
  return builder.render!(image, { identity, baseUri, config });
}

async function expectImageSpecError(promise: Promise<unknown>, codes: readonly ErrorCode[], what: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  expect(error, `${what} should fail`).toBeDefined();
  expect(isImageSpecError(error), `${what} failed with ${String(error)}, not an ImageSpecError (recognised by isImageSpecError)`).toBe(true);
  const typed = error as { code: ErrorCode; message: string };
  expect(codes, `${what}: unexpected code ${typed.code} (${typed.message})`).toContain(typed.code);
  expect(typed.message, `${what}: messages say "Cannot <do what>: <why>"`).toMatch(/^Cannot [^:]+: \S/);
}

async function expectCancelled(promise: Promise<unknown>, withinMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    promise.then(
      () => ({ settled: "resolved" as const }),
      (error: unknown) => ({ settled: "rejected" as const, error }),
    ),
    new Promise<{ settled: "hung" }>((resolve) => {
      timer = setTimeout(() => resolve({ settled: "hung" }), withinMs);
    }),
  ]);
  clearTimeout(timer);
  expect(outcome.settled, `a cancelled build must reject within ${withinMs} ms`).toBe("rejected");
  const error = (outcome as { error: unknown }).error;
  const cancelled = (isImageSpecError(error) && error.code === "CANCELLED") || (error instanceof Error && error.name === "AbortError");
  expect(cancelled, `a cancelled build rejected with ${String(error)}; expected an ImageSpecError with code CANCELLED`).toBe(true);
}

/** Checks the shape of one reported event and returns it. */
export function checkEvent(event: BuildEvent): BuildEvent {
  switch (event?.type) {
    case "log":
      expect(typeof event.line, "a log event carries its line as a string").toBe("string");
      break;
    case "warning":
      expect(event.message, "a warning says something").toMatch(/\S/);
      break;
    case "step":
      expect(event.id, "a step has an id").toMatch(/\S/);
      expect(event.name, "a step has a name").toBeTypeOf("string");
      expect(["started", "done", "cached", "failed"]).toContain(event.status);
      if (event.durationMs !== undefined) expect(event.durationMs).toBeGreaterThanOrEqual(0);
      break;
    default:
      expect.fail(`unknown build event ${JSON.stringify(event)}`);
  }
  return event;
}
