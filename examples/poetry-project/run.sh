#!/usr/bin/env bash
# Builds the poetry project in this folder into an image with `imagespec build images.ts`, then runs it.
#   bash run.sh           # after `bash scripts/bootstrap && pnpm turbo run build` at the repo root
# Uses the project's test environment (a local Docker engine, a registry on 127.0.0.1:5000, an offline Debian Python
# base image with Debian's poetry) and the examples' package index on 127.0.0.1:18766, the index poetry.lock names.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)

eval "$(bash "$repo/scripts/test-env" env)"
docker_cli=${IMAGESPEC_DOCKER_CLI:-docker}

log="${TMPDIR:-/tmp}/imagespec-poetry-index.$$"
python3 "$repo/tools/example-index/serve_index.py" 18766 > "$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 50); do
  [ -s "$log" ] && break
  sleep 0.1
done
[ -s "$log" ] || { echo "run.sh: the package index did not start on 127.0.0.1:18766 (is the port free?)" >&2; exit 3; }

export IMAGESPEC_REGISTRY=${IMAGESPEC_REGISTRY:-$IMAGESPEC_TEST_REGISTRY}
seed_template="$IMAGESPEC_TEST_REGISTRY/imagespec/python:{python_version}-slim-bookworm"
export IMAGESPEC_DEBIAN_BASE_IMAGE=${IMAGESPEC_DEBIAN_BASE_IMAGE:-$seed_template}

uri=$(pnpm exec imagespec build images.ts app)
echo "run.sh: running $uri" >&2
"$docker_cli" run --rm "$uri"
