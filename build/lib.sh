# Shared settings for the build/ scripts. Source it; do not run it.
#
# Everything built here goes into a cache keyed by version, so a second run
# (or a second `make test`) reuses it. Override the location with TETHER_CACHE.
set -euo pipefail

TETHER_CACHE="${TETHER_CACHE:-$HOME/.cache/tether}"
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"

K8S_BIN="$TETHER_CACHE/kubernetes/$K8S_VERSION/bin"
CONTAINERD_BIN="$TETHER_CACHE/containerd/$CONTAINERD_VERSION/bin"
IMAGES_DIR="$TETHER_CACHE/images"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# have_all DIR NAME...: true when every NAME is an executable in DIR.
have_all() {
  local dir=$1 b; shift
  for b in "$@"; do [[ -x $dir/$b ]] || return 1; done
}

# with_lock FILE CMD...: run CMD holding an exclusive lock on FILE, so two
# concurrent runs (make up and make test side by side) do not build twice.
with_lock() {
  local lock=$1; shift
  mkdir -p "$(dirname "$lock")"
  exec {fd}>"$lock"
  flock "$fd"
  "$@"
  flock -u "$fd"
}
