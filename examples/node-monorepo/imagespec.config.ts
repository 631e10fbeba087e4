import { defineConfig } from "@imagespec/core";

export default defineConfig({
  // The package index listens on 127.0.0.1: the build must share the host's network to reach it.
  builders: { docker: { network: "host" } },
});
