/**
 * The envd builder: renders build.envd, assembles its build context, and runs `envd build` after checking that
 * the installed envd is recent enough. envd's output is streamed to the engine as it comes.
 */

import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Image } from "@imagespec/core";
import {
  type BuildContext,
  type BuildEvent,
  type BuildResult,
  type ImageBuilder,
  type ImageIdentity,
  checkBuilderSettings,
  ImageSpecError,
  type RenderContext,
  type RenderedBuildFile,
} from "@imagespec/core/authoring";
import { inputType, writeBuildContext } from "./context.js";
import { compileEnvd, ENVD_FILENAME, type EnvdRendering } from "./render.js";
import { type EnvdBuilderOptions, envdBuilderSettings } from "./settings.js";
import { type EnvdVersion, isSupportedEnvdVersion, MIN_ENVD_VERSION, parseEnvdVersion } from "./version.js";

import { ENVD_BUILDER_TYPE } from "./type.js";

export { ENVD_BUILDER_TYPE };

export type { EnvdBuilderOptions } from "./settings.js";

const INSTALL_HINT =
  `Install envd ${MIN_ENVD_VERSION} or newer (\`pip install envd\`, or a release binary from https://github.com/tensorchord/envd/releases) and run \`envd bootstrap\` once; ` +
  "or point builders.envd.binary in imagespec.config.ts at it; or build with another builder (e.g. docker).";

/** Arguments of `envd build` for one image. */
export function envdBuildArgs(options: { readonly contextDir: string; readonly platform: string; readonly uri: string; readonly push: boolean }): string[] {
  if (/[,\s]/.test(options.uri)) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot pass ${JSON.stringify(options.uri)} to envd: an image reference has no commas or spaces`, {
      value: options.uri,
    });
  }
  const args = ["build", "--path", options.contextDir, "--platform", options.platform];
  return options.push ? [...args, "--output", `type=image,name=${options.uri},push=true`] : [...args, "--tag", options.uri];
}

export function createEnvdBuilder(options: EnvdBuilderOptions = {}): ImageBuilder {
  const supports = (image: Image): true | string => {
    const result = compileEnvd(image, {
      baseUri: image.base.type === "image" ? "base" : "uri" in image.base ? image.base.uri : "",
      id: image.id,
      typeOf: (_input, source) => detectType(image, source),
    });
    return "refusals" in result ? result.refusals.join("; ") : true;
  };

  const compile = async (image: Image, identity: ImageIdentity, baseUri: string | undefined, action: string): Promise<EnvdRendering> => {
    const base = image.base.type === "image" ? (baseUri ?? (await image.base.image.uri())) : "uri" in image.base ? image.base.uri : "";
    const result = compileEnvd(image, { baseUri: base, id: identity.id, typeOf: (input, source) => inputType(identity, input) ?? detectType(image, source) });
    if ("refusals" in result) {
      throw new ImageSpecError("NO_BUILDER", `Cannot ${action} ${image.name} with envd: ${result.refusals.join("; ")}`, {
        field: "builder",
        value: ENVD_BUILDER_TYPE,
        hint: "Build it with another builder (e.g. docker), or change what envd cannot express.",
      });
    }
    return result;
  };

  return {
    type: ENVD_BUILDER_TYPE,
    supports,

    async render(image: Image, context: RenderContext): Promise<RenderedBuildFile> {
      const rendering = await compile(image, context.identity, context.baseUri, "render build.envd for");
      return { filename: ENVD_FILENAME, content: rendering.content };
    },

    async build(image: Image, context: BuildContext): Promise<BuildResult> {
      if (context.signal.aborted) throw cancelled(image);
      const settings = readSettings(context.config, options);
      const rendering = await compile(image, context.identity, context.baseUri, "build");
      const version = await checkEnvd(settings.binary, image, context.signal);
      context.report({ type: "log", line: `envd ${version.text} (${settings.binary})` });

      const dir = await mkdtemp(path.join(os.tmpdir(), "imagespec-envd-"));
      try {
        await writeBuildContext(dir, image, context.identity, rendering);
        if (context.signal.aborted) throw cancelled(image);
        const args = envdBuildArgs({ contextDir: dir, platform: image.platforms[0]!, uri: context.uri, push: context.push });
        const log = await runEnvdBuild(settings.binary, args, image, context, registryConfigEnv(image));
        return { uri: context.uri, pushed: context.push, log };
      } finally {
        if (settings.keepContext) context.report({ type: "log", line: `envd build context kept in ${dir}` });
        else await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

function readSettings(config: Readonly<Record<string, unknown>>, defaults: EnvdBuilderOptions): { binary: string; keepContext: boolean } {
  const issues = checkBuilderSettings(envdBuilderSettings, config, { type: ENVD_BUILDER_TYPE, at: "builders.envd" });
  if (issues.length > 0) {
    throw new ImageSpecError(
      "CONFIG_ERROR",
      `Cannot configure the envd builder: ${issues.map((i) => `${i.field} = ${JSON.stringify(i.value)}: ${i.message}`).join("; ")}`,
      {
        field: issues[0]!.field,
        value: issues[0]!.value,
        issues,
        hint: "Fix builders.envd in imagespec.config.ts (or the image's builderConfig).",
      },
    );
  }
  const settings = config as EnvdBuilderOptions;
  return { binary: settings.binary ?? defaults.binary ?? "envd", keepContext: settings.keepContext ?? defaults.keepContext ?? false };
}

/** Runs `envd version` and refuses an envd that is missing, unreadable or older than MIN_ENVD_VERSION. */
export async function checkEnvd(binary: string, image: Image, signal: AbortSignal): Promise<EnvdVersion> {
  // execa is imported when envd runs, not when the plugin is discovered: every command would pay for it otherwise.
  const { execa } = await import("execa");
  const result = await execa(binary, ["version"], { reject: false, stdin: "ignore", all: true, cancelSignal: signal, timeout: 30_000 });
  if (result.isCanceled) throw cancelled(image);
  if (result.failed) {
    const code = (result as { code?: string }).code;
    if (code === "ENOENT") {
      throw new ImageSpecError(
        "ENVIRONMENT",
        `Cannot build ${image.name} with envd: the envd command ${JSON.stringify(binary)} was not found${binary.includes("/") ? "" : " on PATH"}`,
        {
          field: "builders.envd.binary",
          value: binary,
          hint: INSTALL_HINT,
        },
      );
    }
    if (code === "EACCES") {
      throw new ImageSpecError("ENVIRONMENT", `Cannot build ${image.name} with envd: ${JSON.stringify(binary)} is not executable`, {
        value: binary,
        hint: INSTALL_HINT,
      });
    }
    const why = result.timedOut ? "did not answer within 30 seconds" : `exited with ${result.exitCode ?? result.signal}`;
    throw new ImageSpecError("ENVIRONMENT", `Cannot build ${image.name} with envd: \`${binary} version\` ${why}${tail(String(result.all ?? ""))}`, {
      value: binary,
      hint: "Check that envd works: run `envd version` and `envd bootstrap`.",
    });
  }
  const output = String(result.all ?? "");
  const version = parseEnvdVersion(output);
  if (!version) {
    throw new ImageSpecError(
      "ENVIRONMENT",
      `Cannot build ${image.name} with envd: cannot read a version from \`${binary} version\`, which printed ${JSON.stringify(output.trim().split("\n")[0] ?? "")}`,
      {
        value: binary,
        hint: `Check that ${binary} is envd; this builder needs envd ${MIN_ENVD_VERSION} or newer.`,
      },
    );
  }
  if (!isSupportedEnvdVersion(version)) {
    throw new ImageSpecError(
      "ENVIRONMENT",
      `Cannot build ${image.name} with envd: envd ${version.text} is older than ${MIN_ENVD_VERSION}, the first version that reads the build.envd this builder writes (io.copy(source=..., target=...) and the v1 install functions)`,
      { value: version.text, hint: `Upgrade envd: \`pip install --upgrade 'envd>=${MIN_ENVD_VERSION}'\`, or a newer release binary.` },
    );
  }
  return version;
}

/** Runs `envd build`, reporting every output line, and BuildKit's plain progress lines as steps. */
async function runEnvdBuild(binary: string, args: readonly string[], image: Image, context: BuildContext, env: Record<string, string>): Promise<string> {
  context.report({ type: "log", line: `$ ${[binary, ...args].join(" ")}` });
  const { execa } = await import("execa");
  const subprocess = execa(binary, args, { reject: false, stdin: "ignore", all: true, cancelSignal: context.signal, forceKillAfterDelay: 5_000, env });
  const steps = new StepTracker(context.report);
  try {
    for await (const line of subprocess.iterable({ from: "all" })) {
      context.report({ type: "log", line });
      steps.observe(line);
    }
  } catch {
    // The outcome (exit code, cancellation, spawn error) is read from the result below.
  }
  const result = await subprocess;
  const log = String(result.all ?? "");
  if (result.isCanceled || context.signal.aborted) throw cancelled(image);
  if (result.failed) {
    const why = result.exitCode !== undefined ? `envd build exited with ${result.exitCode}` : `envd build could not run (${result.shortMessage})`;
    throw new ImageSpecError("BUILD_FAILED", `Cannot build ${image.name} with envd: ${why}${tail(log)}`, {
      hint: "The lines above are the end of envd's output; run the build with --debug for all of it.",
    });
  }
  return log;
}

/**
 * envd pushes with the Docker config's credentials; an image's `registryConfig` (a config.json, or the folder
 * holding one) is handed over as DOCKER_CONFIG, the variable Docker's own tools read.
 */
function registryConfigEnv(image: Image): Record<string, string> {
  if (image.registryConfig === undefined) return {};
  const file = path.resolve(image.root, image.registryConfig);
  let isDirectory = false;
  try {
    isDirectory = statSync(file).isDirectory();
  } catch {
    throw new ImageSpecError(
      "FILE_NOT_FOUND",
      `Cannot build ${image.name} with envd: the registry config ${JSON.stringify(image.registryConfig)} does not exist`,
      {
        field: "registryConfig",
        value: image.registryConfig,
      },
    );
  }
  if (!isDirectory && path.basename(file) !== "config.json") {
    throw new ImageSpecError(
      "CONFIG_ERROR",
      `Cannot build ${image.name} with envd: envd reads registry credentials from a folder's config.json, and ${JSON.stringify(image.registryConfig)} is not named config.json`,
      {
        field: "registryConfig",
        value: image.registryConfig,
        hint: "Name the file config.json (or give the folder that holds it).",
      },
    );
  }
  return { DOCKER_CONFIG: isDirectory ? file : path.dirname(file) };
}

/** BuildKit plain progress: `#5 [internal] load build definition`, `#5 DONE 0.2s`, `#5 CACHED`, `#5 ERROR: ...`. */
class StepTracker {
  readonly #names = new Map<string, string>();
  readonly #report: (event: BuildEvent) => void;

  constructor(report: (event: BuildEvent) => void) {
    this.#report = report;
  }

  observe(line: string): void {
    const match = /^#(\d+) (.+)$/.exec(line.trim());
    if (!match) return;
    const [, id, text] = match as unknown as [string, string, string];
    const name = this.#names.get(id);
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(text);
    if (name === undefined) {
      if (/^(DONE|CACHED|ERROR)\b/.test(text) || /^\d+(\.\d+)? /.test(text)) return;
      this.#names.set(id, text);
      this.#report({ type: "step", id, name: text, status: "started" });
    } else if (done) this.#report({ type: "step", id, name, status: "done", durationMs: Math.round(Number(done[1]) * 1000) });
    else if (text === "CACHED") this.#report({ type: "step", id, name, status: "cached" });
    else if (text.startsWith("ERROR")) this.#report({ type: "step", id, name, status: "failed" });
  }
}

function cancelled(image: Image): ImageSpecError {
  return new ImageSpecError("CANCELLED", `Cannot build ${image.name} with envd: the build was cancelled`);
}

function tail(text: string, lines = 20): string {
  const last = text.trimEnd().split("\n").slice(-lines).join("\n");
  return last ? `:\n${last}` : "";
}

function detectType(image: Image, source: string): "file" | "folder" {
  try {
    return statSync(path.resolve(image.root, source)).isFile() ? "file" : "folder";
  } catch {
    return "folder"; // missing: the build fails on it later with FILE_NOT_FOUND, from the identity
  }
}
