#!/usr/bin/env bash
# Builds report.py into an image with `imagespec build images.ts`, then runs it.
#   bash run.sh           # from anywhere (the repo's `bash scripts/bootstrap && pnpm turbo run build` first)
# Uses the project's test environment: a local Docker engine, a registry on 127.0.0.1:5000 and an offline Debian
# Python base image, since these machines reach no public registry.
set -euo pipefail
cd "$(dirname "$0")"
source ../env.sh

pnpm exec imagespec build images.ts > /dev/null
uri=$(pnpm exec imagespec tag images.ts report)
echo "run.sh: running $uri" >&2
"$docker_cli" run --rm "$uri"
