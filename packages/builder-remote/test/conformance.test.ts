/** The conformance suite every builder runs, against the test environment's remote engine (mutual TLS). */
import { Image } from "@imagespec/core";
import { docker, remoteTestEnv, runImage, testEnv } from "@imagespec/test-env";
import { describeBuilderConformance } from "@imagespec/testing";
import { expect } from "vitest";
import plugin from "../src/plugin.js";

const remote = remoteTestEnv();
const { baseImage, registry } = testEnv();
const RUN = Date.now().toString(36);

describeBuilderConformance(plugin.builders[0]!, {
  plugin,
  config: { engines: [remote.remoteEngine, remote.remoteEngine2], certPath: remote.remoteCertPath, network: "host" },
  supported: [
    ({ root }) => Image.fromBase(baseImage, { root, registry, pythonVersion: "3.11" }).withEnvVars({ A: "1" }),
    ({ root, requirements, folder, file, ignoreFile }) =>
      Image.fromDebianBase({ root, registry, pythonVersion: "3.11" })
        .withAptPackages("curl")
        .withRequirements(requirements)
        .withDockerignore(ignoreFile)
        .withSourceFolder(folder, "/app")
        .withSourceFile(file, "/etc/")
        .withCommands("true"),
    ({ dockerfile, root }) => Image.fromDockerfile(dockerfile, { root, registry }),
    ({ root }) => Image.fromBase(baseImage, { root, registry }).withCommands("true", { secretMounts: ["TOKEN"], sshMounts: ["default"] }),
  ],
  refused: [
    ({ root }) => Image.fromBase(baseImage, { root, name: "no-registry" }),
    ({ root }) => Image.fromBase("ghcr.io/org/cuda-less:1", { root, registry }).withCuda({ cuda: "12.4.1" }),
  ],
  build: {
    image: ({ root }) =>
      Image.fromBase(baseImage, { root, registry, pythonVersion: "3.11", name: "builder-remote-test/conformance" }).withEnvVars({ CONFORMANCE: RUN }),
    push: true,
    check: async (result, { image }) => {
      expect(result.digest).toMatch(/^sha256:/);
      expect(result.engine).toMatch(/^tcp:\/\/127\.0\.0\.1:/);
      await docker(["pull", result.uri]);
      expect(await runImage(result.uri, ["sh", "-c", 'echo "$CONFORMANCE $IMAGESPEC_IMAGE_ID"'])).toBe(`${RUN} ${image.id}`);
      await docker(["image", "rm", result.uri]);
    },
  },
  errors: [
    {
      name: "no engine answers",
      image: ({ root }) => Image.fromBase(baseImage, { root, registry }),
      config: { engines: ["tcp://127.0.0.1:1?name=nothing-here"], healthCheckTimeoutMs: 2000 },
      code: "ENVIRONMENT",
    },
    {
      name: "the TLS material is bad",
      image: ({ root }) => Image.fromBase(baseImage, { root, registry }),
      config: { engines: [{ host: remote.remoteEngine, certPath: "/nonexistent/imagespec-certs" }] },
      code: "CONFIG_ERROR",
    },
    {
      name: "a command fails",
      image: ({ root }) => Image.fromBase(baseImage, { root, registry, name: "builder-remote-test/conformance-fails" }).withCommands(`exit 7 # ${RUN}`),
      code: "BUILD_FAILED",
    },
  ],
  cancellation: {
    image: ({ root }) => Image.fromBase(baseImage, { root, registry, name: "builder-remote-test/conformance-slow" }).withCommands(`sleep 60 # ${RUN}`),
    abortAfterMs: 3000,
  },
});
