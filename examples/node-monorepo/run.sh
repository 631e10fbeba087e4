#!/usr/bin/env bash
# Builds both services of the pnpm workspace in ./workspace into images with `imagespec build images.ts`, then runs
# the api and asks it for an answer.
#   bash run.sh           # after `bash scripts/bootstrap && pnpm turbo run build` at the repo root
# Uses the project's test environment: a local Docker engine, a registry on 127.0.0.1:5000, an offline Node.js base
# image made from Debian's nodejs and npm, and a local npm registry on 127.0.0.1:4873 (the one the lock was made
# against), whose token run.sh writes into workspace/.npmrc (git ignores it; imagespec mounts it as a secret).
set -euo pipefail
cd "$(dirname "$0")"
source ../env.sh

[ -n "${IMAGESPEC_TEST_NPM_REGISTRY:-}" ] || { echo "run.sh: the test environment has no npm registry (scripts/test-env status says why)" >&2; exit 3; }
[ -n "${IMAGESPEC_TEST_NODE_BASE_IMAGE:-}" ] || { echo "run.sh: the test environment has no Node.js base image (scripts/test-env status says why)" >&2; exit 3; }
registry_host=${IMAGESPEC_TEST_NPM_REGISTRY#http://}
(umask 077 && printf 'registry=%s\n//%s:_authToken=%s\n' "$IMAGESPEC_TEST_NPM_REGISTRY" "$registry_host" "$IMAGESPEC_TEST_NPM_TOKEN" >workspace/.npmrc)

pnpm exec imagespec build images.ts api web >&2
api=$(pnpm exec imagespec tag images.ts api)
port=${PORT:-28016}
echo "run.sh: running $api on 127.0.0.1:$port" >&2
container=$("$docker_cli" run -d --rm --network host -e PORT="$port" -e HOST=127.0.0.1 "$api")
trap '"$docker_cli" rm -f "$container" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 50); do
  if curl --noproxy '*' -fs -m 2 "http://127.0.0.1:$port/"; then exit 0; fi
  sleep 0.2
done
echo "run.sh: the api did not answer on 127.0.0.1:$port" >&2
"$docker_cli" logs "$container" >&2 || true
exit 1
