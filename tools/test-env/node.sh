# shellcheck shell=bash
# Sourced by scripts/test-env: what @imagespec/node's tests and examples/node-monorepo need, offline.
#
# 1. A Node base image like the official node:<v>-bookworm-slim, made from Debian packages: debootstrap bookworm
#    minbase + Debian's nodejs (18) and npm, a `node` user (uid/gid 1000), CMD ["node"], pushed to the open
#    registry as 127.0.0.1:5000/imagespec/node:18-bookworm-slim.
# 2. A local npm registry on 127.0.0.1:4873 (verdaccio, from tools/test-env's dependencies), with no uplink: it
#    serves exactly the packages listed in NPM_SEED_PACKAGES (fetched once from the npm registry the host's npm uses,
#    cached as tarballs, published unchanged so their integrity is the public one) and one private package of its
#    own, @imagespec-test/private-greeting, that only a logged-in user can read (so an install that needs it needs
#    the token in an .npmrc).
#
# Neither is fatal: when one cannot be made, `up` says `... NOT STARTED: <why>` and everything else works; the
# IMAGESPEC_TEST_NODE_* / IMAGESPEC_TEST_NPM_* variables are then unset and nodeTestEnv() says why.
# Uses log/note/die/tail_of/spawn/http_code/owned_pid/pid_alive/unmount_under/json_str from scripts/test-env.

NODE_SEED_RECIPE=2 # bump when the rootfs post-processing below changes
NODE_SEED_SUITE=bookworm
# debootstrap takes nodejs; npm (hundreds of node-* packages, with virtual ones debootstrap cannot resolve) is then
# installed by apt-get inside the rootfs.
NODE_SEED_PACKAGES="nodejs ca-certificates"
NODE_SEED_APT_PACKAGES="npm"
NODE_SEED_VERSION=18 # the major of Debian bookworm's nodejs (18.20.x)
NODE_SEED_REPO=imagespec/node
NODE_SEED_TAG="${NODE_SEED_VERSION}-bookworm-slim"
NODE_SEED_LABEL=org.imagespec.test-env.node-seed-hash
NODE_SEED_HASH="$(printf 'recipe=%s\nsuite=%s\npackages=%s\napt=%s\n' "$NODE_SEED_RECIPE" "$NODE_SEED_SUITE" "$NODE_SEED_PACKAGES" "$NODE_SEED_APT_PACKAGES" | sha256sum | cut -c1-12)"
NODE_SEED_REF="${REGISTRY}/${NODE_SEED_REPO}:${NODE_SEED_TAG}"
NODE_DIR="$STATE/node"

NPM_REGISTRY_PORT="${IMAGESPEC_TEST_NPM_REGISTRY_PORT:-4873}"
NPM_REGISTRY_URL="http://127.0.0.1:${NPM_REGISTRY_PORT}/"
NPM_DIR="$STATE/npm-registry"
NPM_USER=imagespec
NPM_REGISTRY_JS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/npm-registry.mjs"
NPM_WAIT=60 # s for verdaccio to answer
# Exact versions: what examples/node-monorepo and packages/node's tests install (their locks name these), plus the
# package managers builds install with `npm install -g`. Changing the list reseeds (missing ones are published).
NPM_SEED_PACKAGES="pnpm@10.34.9 yarn@1.22.22 typescript@5.9.3 @types/node@18.19.130 undici-types@5.26.5 ms@2.1.3 ms@2.0.0"

NODE_SEED_DIGEST=""
NPM_TOKEN=""

# --------------------------------------------------------------------------------------------- node base image

node_seed_digest() {
  local headers
  headers="$(curl --noproxy '*' -s -m 10 -I -H "Accept: $MANIFEST_ACCEPT" \
    "http://$REGISTRY/v2/$NODE_SEED_REPO/manifests/$NODE_SEED_TAG" 2>/dev/null || true)"
  printf '%s\n' "$headers" | tr -d '\r' |
    awk '/^HTTP\//{code=$2} tolower($1)=="docker-content-digest:"{d=$2} END{if(code==200) print d}'
}

# Returns non-zero (after a note) when the rootfs cannot be made; never dies.
build_node_seed_tarball() {
  local tarball=$1 rootfs="$NODE_DIR/rootfs.tmp" dblog="$NODE_DIR/debootstrap.log"
  if [ "$(id -u)" != 0 ]; then note "node base image: NOT STARTED: debootstrap needs root; run scripts/test-env up once as root"; return 1; fi
  unmount_under "$rootfs"
  rm -rf --one-file-system "$rootfs"
  mkdir -p "$rootfs"
  log "debootstrap $NODE_SEED_SUITE minbase + ${NODE_SEED_PACKAGES} from $DEBIAN_MIRROR (log: $dblog; takes a few minutes) ..."
  local t0=$SECONDS
  if ! debootstrap --variant=minbase --include="${NODE_SEED_PACKAGES// /,}" "$NODE_SEED_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$dblog" 2>&1 9>&-; then
    tail_of "$dblog" 20
    tail_of "$rootfs/debootstrap/debootstrap.log" 20
    unmount_under "$rootfs"
    note "node base image: NOT STARTED: debootstrap failed (log: $dblog)"
    return 1
  fi
  unmount_under "$rootfs"
  log "debootstrap done ($((SECONDS - t0)) s); apt-get install ${NODE_SEED_APT_PACKAGES} in the rootfs ..."
  printf 'deb %s %s main\n' "$DEBIAN_MIRROR" "$NODE_SEED_SUITE" >"$rootfs/etc/apt/sources.list"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  if ! chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c "apt-get update && apt-get install -y --no-install-recommends $NODE_SEED_APT_PACKAGES" >>"$dblog" 2>&1 9>&-; then
    tail_of "$dblog" 20
    unmount_under "$rootfs"
    note "node base image: NOT STARTED: apt-get install ${NODE_SEED_APT_PACKAGES} in the rootfs failed (log: $dblog)"
    return 1
  fi
  unmount_under "$rootfs"
  log "adding the node user and cleaning the rootfs ..."
  # The official images' user: uid and gid 1000, a home, bash.
  if ! chroot "$rootfs" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node' >>"$dblog" 2>&1; then
    tail_of "$dblog" 5
    note "node base image: NOT STARTED: cannot create the node user in the rootfs (log: $dblog)"
    return 1
  fi
  printf 'deb http://deb.debian.org/debian %s main\n' "$NODE_SEED_SUITE" >"$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/archives/partial/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
    "$rootfs"/var/log/apt/* "$rootfs"/var/log/dpkg.log "$rootfs"/var/log/bootstrap.log \
    "$rootfs"/var/log/alternatives.log "$rootfs"/tmp/* "$rootfs"/root/.cache "$rootfs"/root/.npm "$rootfs/debootstrap"
  mkdir -p "$rootfs/var/lib/apt/lists/partial"
  : >"$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/hostname"
  tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf --one-file-system "$rootfs"
}

ensure_node_seed_image() {
  local have id t0 tarball="$NODE_DIR/rootfs-$NODE_SEED_HASH.tar"
  NODE_SEED_DIGEST=""
  mkdir -p "$NODE_DIR"
  have="$("$DOCKER_CLI" image inspect --format "{{index .Config.Labels \"$NODE_SEED_LABEL\"}}" "$NODE_SEED_REF" 2>/dev/null || true)"
  if [ "$have" = "$NODE_SEED_HASH" ]; then
    note "node base image: $NODE_SEED_REF present (seed hash $NODE_SEED_HASH)"
  else
    id="$("$DOCKER_CLI" images -q --filter "label=$NODE_SEED_LABEL=$NODE_SEED_HASH" 2>/dev/null | head -n 1 || true)"
    if [ -n "$id" ]; then
      "$DOCKER_CLI" tag "$id" "$NODE_SEED_REF"
      note "node base image: tagged existing image $id as $NODE_SEED_REF"
    else
      t0=$SECONDS
      if [ ! -s "$tarball" ]; then
        build_node_seed_tarball "$tarball" || return 0
        find "$NODE_DIR" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$NODE_SEED_HASH.tar" -delete
      else
        log "reusing the cached rootfs $tarball"
      fi
      log "importing $NODE_SEED_REF ..."
      if ! "$DOCKER_CLI" import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV LANG=C.UTF-8' \
        -c "LABEL $NODE_SEED_LABEL=$NODE_SEED_HASH" \
        -c 'CMD ["node"]' \
        "$tarball" "$NODE_SEED_REF" >"$NODE_DIR/import.log" 2>&1; then
        tail_of "$NODE_DIR/import.log" 10
        note "node base image: NOT STARTED: docker import failed (log: $NODE_DIR/import.log)"
        return 0
      fi
      note "node base image: built $NODE_SEED_REF (seed hash $NODE_SEED_HASH, $((SECONDS - t0)) s)"
    fi
  fi
  local remote repo_digests
  remote="$(node_seed_digest)"
  repo_digests="$("$DOCKER_CLI" image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$NODE_SEED_REF")"
  if [ -n "$remote" ] && grep -qxF "$REGISTRY/$NODE_SEED_REPO@$remote" <<<"$repo_digests"; then
    note "node base image: already in $REGISTRY ($remote)"
  else
    t0=$SECONDS
    log "pushing $NODE_SEED_REF ..."
    if ! "$DOCKER_CLI" push "$NODE_SEED_REF" >"$NODE_DIR/push.log" 2>&1; then
      tail_of "$NODE_DIR/push.log" 20
      note "node base image: NOT STARTED: docker push $NODE_SEED_REF failed (log: $NODE_DIR/push.log)"
      return 0
    fi
    remote="$(node_seed_digest)"
    if [ -z "$remote" ]; then note "node base image: NOT STARTED: pushed $NODE_SEED_REF but the registry does not list it"; return 0; fi
    note "node base image: pushed to $REGISTRY ($remote, $((SECONDS - t0)) s)"
  fi
  NODE_SEED_DIGEST="$remote"
}

# --------------------------------------------------------------------------------------------- npm registry

npm_password() {
  local f="$NPM_DIR/password"
  if [ ! -s "$f" ]; then
    (umask 077 && openssl rand -hex 16 >"$f.tmp") && mv "$f.tmp" "$f"
  fi
  cat "$f"
}

# verdaccio's config, as *.new beside the one it was started with. YAML is a superset of JSON.
write_npm_registry_config() {
  local private='{ "access": "$authenticated", "publish": "$authenticated", "unpublish": "$authenticated" }'
  local public='{ "access": "$all", "publish": "$authenticated", "unpublish": "$authenticated" }'
  {
    printf '{\n'
    printf '  "storage": %s,\n' "$(json_str "$NPM_DIR/storage")"
    printf '  "auth": { "htpasswd": { "file": %s, "max_users": 10 } },\n' "$(json_str "$NPM_DIR/htpasswd")"
    printf '  "uplinks": {},\n'
    printf '  "packages": { "@imagespec-test/*": %s, "**": %s },\n' "$private" "$public"
    printf '  "web": { "enable": false },\n'
    printf '  "publish": { "allow_offline": true },\n'
    printf '  "max_body_size": "200mb",\n'
    printf '  "log": { "type": "stdout", "format": "pretty", "level": "warn" }\n'
    printf '}\n'
  } >"$NPM_DIR/config.yaml.new"
}

npm_registry_answers() { [ "$(http_code "${NPM_REGISTRY_URL}-/ping")" = 200 ]; }

# Verdaccio from tools/test-env's node_modules (pnpm install puts it there).
verdaccio_bin() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  [ -f "$dir/node_modules/verdaccio/bin/verdaccio" ] && printf '%s\n' "$dir/node_modules/verdaccio/bin/verdaccio"
}

ensure_npm_registry() {
  local node bin pid t0 pidfile="$NPM_DIR/verdaccio.pid" logfile="$NPM_DIR/verdaccio.log"
  NPM_TOKEN=""
  mkdir -p "$NPM_DIR/storage" "$NPM_DIR/tarballs"
  node="$(command -v node || true)"
  if [ -z "$node" ]; then note "npm registry: NOT STARTED: node is not on PATH"; return 0; fi
  bin="$(verdaccio_bin || true)"
  if [ -z "$bin" ]; then note "npm registry: NOT STARTED: verdaccio is not installed in tools/test-env (run bash scripts/bootstrap, which runs pnpm install)"; return 0; fi
  write_npm_registry_config
  if npm_registry_answers && cmp -s "$NPM_DIR/config.yaml.new" "$NPM_DIR/config.yaml"; then
    if pid="$(owned_pid "$pidfile" verdaccio)"; then
      log "npm registry: running on $NPM_REGISTRY_URL (started by test-env, pid $pid)"
    else
      log "npm registry: found running on $NPM_REGISTRY_URL (not started by test-env)"
    fi
  else
    if [ -f "$pidfile" ]; then stop_owned "npm registry" "$pidfile" verdaccio 15; fi
    if port_listening "$NPM_REGISTRY_PORT"; then
      note "npm registry: NOT STARTED: something else listens on 127.0.0.1:$NPM_REGISTRY_PORT (set IMAGESPEC_TEST_NPM_REGISTRY_PORT)"
      return 0
    fi
    cp "$NPM_DIR/config.yaml.new" "$NPM_DIR/config.yaml"
    log "starting the npm registry (verdaccio) on $NPM_REGISTRY_URL (log: $logfile) ..."
    t0=$SECONDS
    : >"$logfile"
    spawn "$pidfile" "$logfile" "$node" "$bin" --config "$NPM_DIR/config.yaml" --listen "127.0.0.1:$NPM_REGISTRY_PORT"
    until npm_registry_answers; do
      pid="$(cat "$pidfile" 2>/dev/null || true)"
      if [ -n "$pid" ] && ! pid_alive "$pid"; then
        tail_of "$logfile" 20
        note "npm registry: NOT STARTED: verdaccio exited during startup (log: $logfile)"
        return 0
      fi
      if [ $((SECONDS - t0)) -ge "$NPM_WAIT" ]; then
        tail_of "$logfile" 20
        note "npm registry: NOT STARTED: verdaccio did not answer within ${NPM_WAIT} s (log: $logfile)"
        return 0
      fi
      sleep 0.3
    done
    log "npm registry: started on $NPM_REGISTRY_URL (pid $(cat "$pidfile"), $((SECONDS - t0)) s)"
  fi
  rm -f "$NPM_DIR/config.yaml.new"
  # Seeded before with this list and this script, and the token still opens the private package: nothing to do.
  local seed_key token
  seed_key="$(printf '%s\n%s\n' "$NPM_SEED_PACKAGES" "$(sha256sum <"$NPM_REGISTRY_JS")" | sha256sum | cut -c1-16)"
  token="$(sed -n 's/^.*:_authToken=//p' "$NPM_DIR/npmrc" 2>/dev/null || true)"
  if [ -n "$token" ] && [ "$(cat "$NPM_DIR/seeded" 2>/dev/null || true)" = "$seed_key" ] &&
    [ "$(http_code "${NPM_REGISTRY_URL}@imagespec-test%2fprivate-greeting" -H "Authorization: Bearer $token")" = 200 ]; then
    NPM_TOKEN="$token"
    note "npm registry: $NPM_REGISTRY_URL serves $(wc -w <<<"$NPM_SEED_PACKAGES") seeded packages and @imagespec-test/private-greeting (user $NPM_USER)"
    return 0
  fi
  # Log in (creating the user the first time), fetch missing tarballs, publish what the registry lacks.
  rm -f "$NPM_DIR/seeded"
  t0=$SECONDS
  if ! NPM_TOKEN="$("$node" "$NPM_REGISTRY_JS" seed --registry "$NPM_REGISTRY_URL" --user "$NPM_USER" \
    --password-file "$NPM_DIR/password" --tarballs "$NPM_DIR/tarballs" --npmrc "$NPM_DIR/npmrc" \
    $NPM_SEED_PACKAGES 2>"$NPM_DIR/seed.log")"; then
    tail_of "$NPM_DIR/seed.log" 20
    NPM_TOKEN=""
    note "npm registry: NOT STARTED: seeding it failed (log: $NPM_DIR/seed.log)"
    return 0
  fi
  printf '%s\n' "$seed_key" >"$NPM_DIR/seeded"
  note "npm registry: $NPM_REGISTRY_URL serves $(wc -w <<<"$NPM_SEED_PACKAGES") seeded packages and @imagespec-test/private-greeting (user $NPM_USER; seeded in $((SECONDS - t0)) s)"
}

# --------------------------------------------------------------------------------------------- hooks

# Called by cmd_up after the registries and the Python seed image.
ensure_node_env() {
  mkdir -p "$NPM_DIR" "$NODE_DIR"
  npm_password >/dev/null
  ensure_npm_registry
  ensure_node_seed_image
}

# KEY VALUE lines for write_env_files (only what is up).
node_env_values() {
  if [ -n "$NODE_SEED_DIGEST" ]; then
    printf 'IMAGESPEC_TEST_NODE_BASE_IMAGE %s\n' "$NODE_SEED_REF"
    printf 'IMAGESPEC_TEST_NODE_BASE_IMAGE_DIGEST %s\n' "$NODE_SEED_DIGEST"
    printf 'IMAGESPEC_TEST_NODE_VERSION %s\n' "$NODE_SEED_VERSION"
  fi
  if [ -n "$NPM_TOKEN" ]; then
    printf 'IMAGESPEC_TEST_NPM_REGISTRY %s\n' "$NPM_REGISTRY_URL"
    printf 'IMAGESPEC_TEST_NPM_USER %s\n' "$NPM_USER"
    printf 'IMAGESPEC_TEST_NPM_TOKEN %s\n' "$NPM_TOKEN"
  fi
}

node_env_down() {
  stop_owned "npm registry" "$NPM_DIR/verdaccio.pid" verdaccio 15
}

node_env_status() {
  local have pid
  if [ -x "$DOCKER_CLI" ] && docker_answers; then
    have="$("$DOCKER_CLI" image inspect --format "{{index .Config.Labels \"$NODE_SEED_LABEL\"}}" "$NODE_SEED_REF" 2>/dev/null || true)"
    if [ "$have" = "$NODE_SEED_HASH" ]; then printf 'node base image:  %s present locally (seed hash %s)\n' "$NODE_SEED_REF" "$NODE_SEED_HASH"
    elif [ -n "$have" ]; then printf 'node base image:  %s is stale (seed hash %s, want %s)\n' "$NODE_SEED_REF" "$have" "$NODE_SEED_HASH"
    else printf 'node base image:  %s missing locally\n' "$NODE_SEED_REF"; fi
  fi
  if npm_registry_answers; then
    if pid="$(owned_pid "$NPM_DIR/verdaccio.pid" verdaccio)"; then printf 'npm registry:     up at %s (started by test-env, pid %s)\n' "$NPM_REGISTRY_URL" "$pid"
    else printf 'npm registry:     up at %s (not started by test-env)\n' "$NPM_REGISTRY_URL"; fi
  else
    printf 'npm registry:     down (%s)\n' "$NPM_REGISTRY_URL"
  fi
}
