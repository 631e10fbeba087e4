#!/usr/bin/env node
// The installed binary. It is a committed file, not dist/cli.js itself, so package managers can link it even
// before the package is built (in this workspace `pnpm install` runs before `turbo run build`).
import "../dist/cli.js";
