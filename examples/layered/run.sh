#!/usr/bin/env bash
# Builds the shared base and both apps for real, then runs the apps.
#   bash run.sh           # from anywhere (the repo's `bash scripts/bootstrap && pnpm turbo run build` first)
# Uses the project's test environment: a local Docker engine, a registry on 127.0.0.1:5000 and an offline Debian
# Python base image, since these machines reach no public registry. A second run finds every tag in the registry
# and builds nothing; after a change under apps/hello only the hello image is built again.
set -euo pipefail
cd "$(dirname "$0")"
source ../env.sh

# Every export of images.ts: the base first, then both apps (concurrently). Each one whose tag is already in the
# registry is skipped.
pnpm exec imagespec build images.ts > /dev/null

for app in hello report; do
  uri=$(pnpm exec imagespec tag images.ts "$app")
  echo "run.sh: running $uri" >&2
  "$docker_cli" run --rm "$uri"
done
