import { readFile } from "node:fs/promises";
import path from "node:path";
import { Image } from "@imagespec/core";
import { describeBuilderConformance } from "@imagespec/testing";
import { afterAll, expect } from "vitest";
import plugin from "../src/plugin.js";
import { createFakeEnvd, removeFakeEnvds } from "./support/fake-envd.js";

// envd cannot be installed on the test machines: each case points the builder at a fake envd (see fake-envd.ts).
const working = await createFakeEnvd({ buildOutput: ["#1 [internal] load build definition", "#1 DONE 0.2s"] });
const old = await createFakeEnvd({ version: "envd: v0.3.37" });
const failing = await createFakeEnvd({ buildOutput: ["ERROR: failed to solve"], buildExit: 1 });
const slow = await createFakeEnvd({ buildOutput: ["#1 building"], buildSleep: 60 });
afterAll(removeFakeEnvds);

describeBuilderConformance(plugin.builders[0]!, {
  plugin,
  config: { binary: working.binary },
  supported: [
    ({ root }) => Image.fromDebianBase({ root, pythonVersion: "3.11" }).withPipPackages("six"),
    ({ root, folder, requirements, ignoreFile }) =>
      Image.fromDebianBase({ root })
        .withAptPackages("curl")
        .withRequirements(requirements)
        .withDockerignore(ignoreFile)
        .withSourceFolder(folder, "/app")
        .withEnvVars({ A: "1" })
        .withWorkdir("/app")
        .withCommands("ls"),
    ({ root }) => Image.fromBase("ubuntu:22.04", { root }),
  ],
  refused: [
    ({ root }) => Image.fromDebianBase({ root }).withEntrypoint(["python"]),
    ({ root }) => Image.fromDebianBase({ root }).withPipPackages("six", { secretMounts: ["TOKEN"] }),
    ({ root }) => Image.fromDebianBase({ root }).withPipPackages("six", { extraArgs: ["--no-deps"] }),
    ({ root }) => Image.fromDebianBase({ root }).withPlatform("linux/amd64", "linux/arm64"),
    ({ root, dockerfile }) => Image.fromDockerfile(dockerfile, { root }),
  ],
  build: {
    image: ({ root, folder }) => Image.fromDebianBase({ root }).withSourceFolder(folder, "/app"),
    check: async (result, { identity, events }) => {
      expect(result).toMatchObject({ uri: identity.uri, pushed: false });
      expect(events).toContainEqual({ type: "step", id: "1", name: "[internal] load build definition", status: "done", durationMs: 200 });
      expect(await readFile(path.join(working.contextCopy, "build.envd"), "utf8")).toContain(identity.id);
    },
  },
  errors: [
    { name: "envd is not installed", image: ({ root }) => Image.fromDebianBase({ root }), config: { binary: "/nonexistent/envd" }, code: "ENVIRONMENT" },
    { name: "envd is older than 0.3.39", image: ({ root }) => Image.fromDebianBase({ root }), config: { binary: old.binary }, code: "ENVIRONMENT" },
    { name: "envd build fails", image: ({ root }) => Image.fromDebianBase({ root }), config: { binary: failing.binary }, code: "BUILD_FAILED" },
    { name: "the settings are wrong", image: ({ root }) => Image.fromDebianBase({ root }), config: { keepContext: "sometimes" }, code: "CONFIG_ERROR" },
  ],
  cancellation: { image: ({ root }) => Image.fromDebianBase({ root }), config: { binary: slow.binary }, abortAfterMs: 300 },
});
