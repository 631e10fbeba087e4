import { Image } from "@imagespec/core";

/**
 * Three small images for the pool to share out. The remote builder pushes each one from the engine that built it,
 * so every image needs a registry (run.sh sets IMAGESPEC_REGISTRY).
 */
const base = (name: string) => Image.fromDebianBase({ pythonVersion: "3.11", name: `imagespec-example/remote-${name}` });

export const alpha = base("alpha").withCommands("echo alpha > /greeting").withEntrypoint(["cat", "/greeting"]);
export const beta = base("beta").withCommands("echo beta > /greeting").withEntrypoint(["cat", "/greeting"]);
export const gamma = base("gamma").withCommands("echo gamma > /greeting").withEntrypoint(["cat", "/greeting"]);
