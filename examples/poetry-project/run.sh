#!/usr/bin/env bash
# Builds the poetry project in this folder into an image with `imagespec build images.ts`, then runs it.
#   bash run.sh           # after `bash scripts/bootstrap && pnpm turbo run build` at the repo root
# Uses the project's test environment (a local Docker engine, a registry on 127.0.0.1:5000, an offline Debian Python
# base image with Debian's poetry) and the examples' package index on 127.0.0.1:18766, the index poetry.lock names.
set -euo pipefail
cd "$(dirname "$0")"
source ../env.sh

start_package_index 18766

uri=$(pnpm exec imagespec build images.ts app)
echo "run.sh: running $uri" >&2
"$docker_cli" run --rm "$uri"
