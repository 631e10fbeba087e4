#!/usr/bin/env bash
# Builds the example image for real and runs it.
#   bash run.sh           # from examples/basic (the repo's scripts/example does the set-up first)
# Uses the project's test environment: a local Docker engine, a registry on 127.0.0.1:5000 and an offline Debian
# Python base image, since these machines reach no public registry. A second run finds the tag in the registry
# and skips the build.
set -euo pipefail
cd "$(dirname "$0")"
source ../env.sh

# The pip package comes from a package index served here; a fixed port keeps the index URL (part of the tag) stable.
start_package_index "${EXAMPLE_INDEX_PORT:-18765}"
export EXAMPLE_INDEX_URL=$index_url

uri=$(pnpm exec imagespec build images.ts basic)
echo "run.sh: running $uri" >&2
"$docker_cli" run --rm "$uri"
