/**
 * A small third-party builder plugin, written the way any plugin package is (package.json with the
 * `imagespec.plugin` field, a module default-exporting definePlugin()). It "builds" by recording the image in a
 * state folder, so existence, skipping, failures, progress events and rendering can be exercised without Docker:
 *
 * - an image whose env has FAKE_FAIL=1 fails after logging a few lines (BUILD_FAILED);
 * - FAKE_STEP_MS=<ms> makes each step take that long (default 20), for interrupting a build;
 * - with FAKE_ENGINE=<unix socket path> it first connects to that socket, as a Docker client would, and lets a
 *   missing engine's raw connection error through.
 */

export const FAKE_BUILDER_PACKAGE = "imagespec-builder-fake";

const plugin = String.raw`
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { definePlugin, ImageSpecError } from "@imagespec/core";

const stateDir = () => process.env.FAKE_STATE_DIR || path.join(process.cwd(), ".fake-engine");
const fileOf = (uri) => path.join(stateDir(), encodeURIComponent(uri) + ".json");
const envOf = (image) => Object.assign({}, ...image.layers.filter((l) => l.kind === "env").map((l) => l.vars));

function connect(socket) {
  return new Promise((resolve, reject) => {
    const s = net.connect(socket);
    s.once("connect", () => { s.destroy(); resolve(); });
    s.once("error", reject);
  });
}

function render(image, baseUri) {
  const lines = ["FROM " + (baseUri ?? image.base.uri ?? "scratch")];
  for (const layer of image.layers) lines.push("# " + layer.kind + " " + JSON.stringify(layer));
  return lines.join("\n") + "\n";
}

function createFakeBuilder(config) {
  return {
    type: "fake",
    supports(image) {
      return image.base.type === "dockerfile" ? "fake does not build Dockerfiles" : true;
    },
    async exists(uri) {
      return existsSync(fileOf(uri)) ? { status: "present", digest: JSON.parse(readFileSync(fileOf(uri), "utf8")).digest } : { status: "absent" };
    },
    async render(image, context) {
      return { filename: "Fakefile", content: render(image, context.baseUri) };
    },
    async build(image, context) {
      if (process.env.FAKE_ENGINE) await connect(process.env.FAKE_ENGINE);
      const started = Date.now();
      const steps = image.layers.map((l, i) => ({ id: String(i + 1), name: "[" + (i + 1) + "/" + image.layers.length + "] " + l.kind }));
      for (const step of steps) {
        context.report({ type: "step", id: step.id, name: step.name, status: "started" });
        context.report({ type: "log", line: "running " + step.name });
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, Number(process.env.FAKE_STEP_MS || 20));
          context.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(new ImageSpecError("CANCELLED", "Cannot build " + context.uri + ": cancelled"));
          }, { once: true });
        });
        context.report({ type: "step", id: step.id, name: step.name, status: "done", durationMs: 20 });
      }
      if (envOf(image).FAKE_FAIL === "1") {
        context.report({ type: "log", line: "fake: error: the command returned exit code 7" });
        throw new ImageSpecError("BUILD_FAILED", "Cannot build " + context.uri + ": step " + steps.length + " exited with code 7", { hint: "See the log above." });
      }
      const digest = "sha256:" + "0".repeat(63) + String(steps.length % 10);
      mkdirSync(stateDir(), { recursive: true });
      writeFileSync(fileOf(context.uri), JSON.stringify({ uri: context.uri, digest, push: context.push, dockerfile: render(image, context.baseUri), config, started, finished: Date.now() }));
      return { uri: context.uri, digest, pushed: context.push };
    },
  };
}

export default definePlugin({
  specificationVersion: "v1",
  name: "imagespec-builder-fake",
  builders: [{ type: "fake", priority: 50, description: "records images in a folder; for tests", create: ({ config }) => createFakeBuilder(config) }],
});
`;

export const fakeBuilderFiles: Readonly<Record<string, string>> = {
  "package.json": `${JSON.stringify(
    {
      name: FAKE_BUILDER_PACKAGE,
      version: "1.2.3",
      type: "module",
      keywords: ["imagespec-plugin"],
      imagespec: { plugin: "./plugin.js" },
      peerDependencies: { "@imagespec/core": "*" },
    },
    null,
    2,
  )}\n`,
  "plugin.js": plugin,
};

/** A plugin package whose plugin module throws when loaded. */
export const brokenPluginFiles: Readonly<Record<string, string>> = {
  "package.json": `${JSON.stringify({ name: "imagespec-builder-broken", version: "0.0.1", type: "module", imagespec: { plugin: "./plugin.js" } }, null, 2)}\n`,
  "plugin.js": `throw new Error("this plugin is broken on purpose");\n`,
};
