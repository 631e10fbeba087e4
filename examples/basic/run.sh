#!/usr/bin/env bash
# Builds the example image for real and runs it.
#   bash run.sh           # from examples/basic (the repo's scripts/example does the set-up first)
# Uses the project's test environment: a local Docker engine, a registry on 127.0.0.1:5000 and an offline Debian
# Python base image, since these machines reach no public registry. A second run finds the tag in the registry
# and skips the build.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)

eval "$(bash "$repo/scripts/test-env" env)"
docker_cli=${IMAGESPEC_DOCKER_CLI:-docker}

# The pip package comes from a package index served here; a fixed port keeps the index URL (part of the tag) stable.
port=${EXAMPLE_INDEX_PORT:-18765}
python3 "$repo/tools/example-index/serve_index.py" "$port" > "${TMPDIR:-/tmp}/imagespec-example-index.$$" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "${TMPDIR:-/tmp}/imagespec-example-index.$$"' EXIT
for _ in $(seq 1 50); do
  url=$(head -n 1 "${TMPDIR:-/tmp}/imagespec-example-index.$$" 2>/dev/null || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "run.sh: the example's package index did not start (is port $port free? set EXAMPLE_INDEX_PORT)" >&2; exit 3; }

export EXAMPLE_INDEX_URL=$url
export IMAGESPEC_REGISTRY=${IMAGESPEC_REGISTRY:-$IMAGESPEC_TEST_REGISTRY}
seed_template="$IMAGESPEC_TEST_REGISTRY/imagespec/python:{python_version}-slim-bookworm"
export IMAGESPEC_DEBIAN_BASE_IMAGE=${IMAGESPEC_DEBIAN_BASE_IMAGE:-$seed_template}

uri=$(pnpm exec imagespec build images.ts basic)
echo "run.sh: running $uri" >&2
"$docker_cli" run --rm "$uri"
