#!/usr/bin/env node
// The installed binary. It is a committed file, not dist/cli.js itself, so package managers can link it even
// before the package is built (in this workspace `pnpm install` runs before `turbo run build`).
//
// Node 22.1 and later can keep the compiled code of the modules a process loads (this CLI, core, plugins, jiti) on
// disk, so the next start skips compiling them: a no-op `imagespec build` about 20 ms (7%) sooner. Node 20 has no such
// cache (the call is absent); NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE=<dir> moves it.
import module from "node:module";

module.enableCompileCache?.();
await import("../dist/cli.js");
