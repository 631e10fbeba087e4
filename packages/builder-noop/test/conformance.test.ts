import { Image } from "@imagespec/core";
import { describeBuilderConformance } from "@imagespec/testing";
import { expect } from "vitest";
import { createNoopBuilder } from "../src/index.js";
import plugin from "../src/plugin.js";

describeBuilderConformance(() => createNoopBuilder(), {
  plugin,
  supported: [({ root }) => Image.fromBase("alpine:3.20", { root }), ({ root }) => Image.fromDebianBase({ root, pythonVersion: "3.12" })],
  refused: [
    ({ root }) => Image.fromDebianBase({ root }).withAptPackages("curl"),
    ({ root }) => Image.fromBase(Image.fromBase("alpine:3.20", { root }), { root }),
    ({ root, dockerfile }) => Image.fromDockerfile(dockerfile, { root }),
  ],
  build: {
    image: ({ root }) => Image.fromBase("alpine:3.20", { root }),
    check: (result, { events }) => {
      expect(result.uri).toBe("alpine:3.20");
      expect(result.pushed).toBe(false);
      expect(events).toContainEqual({ type: "log", line: "noop: using alpine:3.20 as is" });
    },
  },
  identity: { unsupported: "noop returns the base image unchanged, so the image cannot carry a new environment variable" },
});
