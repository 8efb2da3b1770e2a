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

# go_build_progress TOTAL: a filter for `go build -v` output. It logs how
# many of TOTAL packages have been compiled each time another 5% is done, so
# a long build shows what it is doing and how far along it is, and passes
# every other line (compiler errors) through to stderr. Packages found in
# the build cache are not printed by go, so a warm build ends early.
go_build_progress() {
  awk -v total="$1" -v tag="[$(basename "$0")]" '
    /^[A-Za-z0-9_.\/~+-]+$/ {
      n++
      pct = int(n * 100 / total)
      if (pct >= next_pct) {
        printf "%s compiled %d of %d packages (%d%%)\n", tag, n, total, pct > "/dev/stderr"
        fflush("/dev/stderr")
        next_pct = pct - pct % 5 + 5
      }
      next
    }
    { print > "/dev/stderr" }'
}
