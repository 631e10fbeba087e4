# Sourced by every example's run.sh. These machines reach no public registry, so the examples run against the
# project's test environment (scripts/test-env): a local Docker engine, a registry on 127.0.0.1:5000 and offline
# Debian Python and Node.js base images. Sets `repo` and `docker_cli`, points imagespec at that registry and base image (unless
# already set), and defines start_package_index.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
eval "$(bash "$repo/scripts/test-env" env)"
docker_cli=${IMAGESPEC_DOCKER_CLI:-docker}

export IMAGESPEC_REGISTRY=${IMAGESPEC_REGISTRY:-$IMAGESPEC_TEST_REGISTRY}
seed_template="$IMAGESPEC_TEST_REGISTRY/imagespec/python:{python_version}-slim-bookworm"
export IMAGESPEC_DEBIAN_BASE_IMAGE=${IMAGESPEC_DEBIAN_BASE_IMAGE:-$seed_template}
# The offline Node.js base image (Debian's nodejs and npm), for @imagespec/node's fromNodeBase.
node_seed_template="$IMAGESPEC_TEST_REGISTRY/imagespec/node:{node_version}-bookworm-slim"
export IMAGESPEC_NODE_BASE_IMAGE=${IMAGESPEC_NODE_BASE_IMAGE:-$node_seed_template}

# start_package_index PORT: serves the examples' package index (tools/example-index) on 127.0.0.1:PORT until the
# script exits, and sets index_url. A fixed port keeps the index URL, which is part of an image's tag, stable.
start_package_index() {
  local port=$1
  index_log=$(mktemp)
  python3 "$repo/tools/example-index/serve_index.py" "$port" > "$index_log" &
  index_server=$!
  trap 'kill "$index_server" 2>/dev/null || true; rm -f "$index_log"' EXIT
  index_url=""
  for _ in $(seq 1 50); do
    index_url=$(head -n 1 "$index_log" 2>/dev/null || true)
    [ -n "$index_url" ] && return 0
    sleep 0.1
  done
  echo "run.sh: the package index did not start on 127.0.0.1:$port (is the port free?)" >&2
  exit 3
}
