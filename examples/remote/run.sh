#!/usr/bin/env bash
# Builds three images on a pool of two remote engines with `imagespec build`, while the local Docker engine is made
# unreachable for imagespec, then pulls and runs them with the local engine.
#   bash run.sh           # after `bash scripts/bootstrap && pnpm turbo run build` at the repo root
# The pool is the test environment's second Docker engine (mutual TLS on 127.0.0.1:2376), listed under two addresses
# (:2376 and :2377) so the scheduler has two engines to spread builds over.
set -euo pipefail
cd "$(dirname "$0")"
source ../env.sh
local_docker_host=$DOCKER_HOST
if [ -z "${IMAGESPEC_TEST_REMOTE_ENGINE:-}" ]; then
  echo "run.sh: the test environment's remote engine is not running (see scripts/test-env status)" >&2
  exit 3
fi

export IMAGESPEC_REMOTE_ENGINES="$IMAGESPEC_TEST_REMOTE_ENGINE?name=pool-a&maxBuilds=1,$IMAGESPEC_TEST_REMOTE_ENGINE_2?name=pool-b&maxBuilds=1"
export DOCKER_CERT_PATH=$IMAGESPEC_TEST_REMOTE_CERT_PATH
# No local engine for imagespec: everything it builds is built, and pushed, by the pool.
uris=$(DOCKER_HOST=unix:///nonexistent/docker.sock pnpm exec imagespec build images.ts)

for uri in $uris; do
  DOCKER_HOST=$local_docker_host "$docker_cli" pull --quiet "$uri" > /dev/null
  DOCKER_HOST=$local_docker_host "$docker_cli" run --rm "$uri"
done
