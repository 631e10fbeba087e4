import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Image } from "@imagespec/core";
import { describeBuilderConformance } from "@imagespec/testing";
import { afterAll, expect } from "vitest";
import plugin from "../src/plugin.js";

// The same suite imagespec's own builders pass.
const outDir = await mkdtemp(path.join(os.tmpdir(), "export-conformance-"));
afterAll(() => rm(outDir, { recursive: true, force: true }));

describeBuilderConformance(plugin.builders[0]!, {
  plugin,
  config: { outDir },
  supported: [
    ({ root }) => Image.fromBase("alpine:3.20", { root }),
    ({ root }) =>
      Image.fromDebianBase({ root })
        .withAptPackages("curl")
        .withEnvVars({ A: 'it\'s "quoted" $HOME' })
        .withWorkdir("/app")
        .withCommands(["echo 'hello' > hello.txt"])
        .withEntrypoint(["python3", "app.py"]),
  ],
  refused: [
    ({ root }) => Image.fromDebianBase({ root }).withCondaPackages(["numpy"]),
    ({ root, requirements }) => Image.fromDebianBase({ root }).withRequirements(requirements),
    ({ root, folder }) => Image.fromDebianBase({ root }).withSourceFolder(folder, "/app"),
    ({ root }) => Image.fromDebianBase({ root }).withCommands("cat /run/secrets/token", { secretMounts: ["token"] }),
    ({ root, dockerfile }) => Image.fromDockerfile(dockerfile, { root }),
  ],
  build: {
    image: ({ root }) => Image.fromDebianBase({ root }).withWorkdir("/app").withCommands("echo hello"),
    check: async (result, { identity, events }) => {
      expect(result).toMatchObject({ uri: identity.uri, pushed: false });
      const record = JSON.parse(await readFile(path.join(outDir, "imagespec", identity.tag, "image.json"), "utf8"));
      expect(record).toMatchObject({ uri: identity.uri, id: identity.id, tag: identity.tag });
      expect(events.filter((e) => e.type === "step").map((e) => e.status)).toEqual(["started", "done"]);
    },
  },
  errors: [
    {
      name: "the output folder cannot be created",
      image: ({ root }) => Image.fromBase("alpine:3.20", { root }),
      config: { outDir: "/dev/null/export" },
      code: "ENVIRONMENT",
    },
    { name: "outDir is not a path", image: ({ root }) => Image.fromBase("alpine:3.20", { root }), config: { outDir: 42 }, code: "CONFIG_ERROR" },
  ],
});
