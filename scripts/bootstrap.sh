# shellcheck shell=bash
# Sourced by ./osctl and ./scripts/*: installs what Bronze needs when it is
# missing and exports DENO (the pinned Deno binary). Nothing is downloaded from
# anywhere but the npm registry and Debian's archive.

BRONZE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BRONZE_DENO_VERSION="2.9.6"
BRONZE_TOOLS="$BRONZE_ROOT/.tools"
export BRONZE_ROOT NO_COLOR="${NO_COLOR:-1}"
export DENO_NO_UPDATE_CHECK=1

bronze_log() { echo "bootstrap: $*" >&2; }

# bronze_apt_install PKG... installs Debian packages (root only); runs
# apt-get update once per machine first.
bronze_apt_install() {
  if [ "$(id -u)" != "0" ]; then
    bronze_log "missing Debian packages: $*; install them with: sudo apt-get install -y $*"
    return 1
  fi
  if [ ! -f "$BRONZE_TOOLS/.apt-updated" ]; then
    bronze_log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    mkdir -p "$BRONZE_TOOLS" && touch "$BRONZE_TOOLS/.apt-updated"
  fi
  bronze_log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

bronze_need_deno() {
  local dir="$BRONZE_TOOLS/deno"
  DENO="$dir/node_modules/.bin/deno"
  if [ -x "$DENO" ] && "$DENO" --version 2>/dev/null | grep -q "^deno $BRONZE_DENO_VERSION "; then
    export DENO
    return 0
  fi
  command -v npm >/dev/null || { bronze_log "npm is required to install Deno (apt-get install npm)"; return 1; }
  bronze_log "installing deno@$BRONZE_DENO_VERSION from npm into .tools/deno"
  mkdir -p "$dir"
  # A package.json of its own keeps this install out of the project's graph.
  echo '{"name":"bronze-tools-deno","private":true}' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "deno@$BRONZE_DENO_VERSION" >&2) || return 1
  "$DENO" --version >/dev/null || { bronze_log "deno did not install"; return 1; }
  export DENO
}

bronze_need_nats() {
  if command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ]; then return 0; fi
  bronze_apt_install nats-server
}

# bronze_need_etcd installs Debian's etcd-server (etcd on control planes)
# and etcd-client (etcdctl, for operators and tests).
bronze_need_etcd() {
  local pkgs=()
  command -v etcd >/dev/null || [ -x /usr/bin/etcd ] || pkgs+=(etcd-server)
  command -v etcdctl >/dev/null || [ -x /usr/bin/etcdctl ] || pkgs+=(etcd-client)
  [ "${#pkgs[@]}" -eq 0 ] && return 0
  bronze_apt_install "${pkgs[@]}"
}

# bronze_need_cmd CMD PKG installs PKG when CMD is missing.
bronze_need_cmd() {
  command -v "$1" >/dev/null && return 0
  bronze_apt_install "$2"
}

# bronze_need_modules makes sure the npm packages in deno.json are cached.
bronze_need_modules() {
  (cd "$BRONZE_ROOT" && "$DENO" install --quiet --frozen >/dev/null 2>&1) ||
    (cd "$BRONZE_ROOT" && "$DENO" install --quiet >&2)
}

export PATH="$PATH:/usr/sbin:/sbin"
