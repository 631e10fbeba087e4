/** The conformance suite every builder runs, against the real engine of the test environment. */
import { Image } from "@imagespec/core";
import { runImage, testEnv } from "@imagespec/test-env";
import { describeBuilderConformance } from "@imagespec/testing";
import { expect } from "vitest";
import plugin from "../src/plugin.js";

const seed = () => testEnv().baseImage;

describeBuilderConformance(plugin.builders[0]!, {
  plugin,
  config: { network: "host" },
  supported: [
    ({ root }) => Image.fromBase(seed(), { root, pythonVersion: "3.11" }).withEnvVars({ A: "1" }),
    ({ root, requirements, folder, file, ignoreFile }) =>
      Image.fromDebianBase({ root, pythonVersion: "3.11" })
        .withAptPackages("curl")
        .withRequirements(requirements)
        .withDockerignore(ignoreFile)
        .withSourceFolder(folder, "/app")
        .withSourceFile(file, "/etc/")
        .withCommands("true", { secretMounts: ["TOKEN"] }),
    ({ dockerfile, root }) => Image.fromDockerfile(dockerfile, { root }),
  ],
  refused: [
    ({ root }) => Image.fromBase("ghcr.io/org/cuda-less:1", { root }).withCuda({ cuda: "12.4.1" }),
    ({ root }) => Image.fromDebianBase({ root, platform: "windows/amd64" }),
  ],
  build: {
    image: ({ root }) => Image.fromBase(seed(), { root, pythonVersion: "3.11", name: "builder-docker-test/conformance" }).withEnvVars({ CONFORMANCE: "yes" }),
    check: async (result, { image }) => {
      expect(result.digest).toMatch(/^sha256:/);
      expect(await runImage(result.uri, ["sh", "-c", 'echo "$CONFORMANCE $IMAGESPEC_IMAGE_ID"'])).toBe(`yes ${image.id}`);
    },
  },
  errors: [
    {
      name: "the engine is unreachable",
      image: ({ root }) => Image.fromBase(seed(), { root }),
      config: { host: "unix:///tmp/imagespec-no-such-docker.sock" },
      code: "ENVIRONMENT",
    },
    {
      name: "a command fails",
      image: ({ root }) => Image.fromBase(seed(), { root, name: "builder-docker-test/conformance-fails" }).withCommands("exit 7"),
      code: "BUILD_FAILED",
    },
  ],
  cancellation: {
    image: ({ root }) => Image.fromBase(seed(), { root, name: "builder-docker-test/conformance-slow" }).withCommands(`sleep 60 # ${Date.now()}`),
    abortAfterMs: 3000,
  },
});
