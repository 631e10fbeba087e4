#!/usr/bin/env bash
# Builds spec.yaml for real with `imagespec build --image spec.yaml`, then runs the image.
#   bash run.sh           # from anywhere (the repo's `bash scripts/bootstrap && pnpm turbo run build` first)
# Uses the project's test environment: a local Docker engine, a registry on 127.0.0.1:5000 and an offline Debian
# Python base image, since these machines reach no public registry. A second run finds the tag in the registry
# and skips the build.
set -euo pipefail
cd "$(dirname "$0")"
source ../env.sh

uri=$(pnpm exec imagespec build --image spec.yaml)
echo "run.sh: running $uri" >&2
"$docker_cli" run --rm "$uri"
