#!/usr/bin/env bash
# Builds kube-apiserver, kube-scheduler and kube-controller-manager from the
# Kubernetes Go module at $K8S_VERSION into $K8S_BIN, unless already there.
#
# No package ships them and nothing may be downloaded but Go modules, so we
# build from the module zip. Its go.mod points every k8s.io/* staging module at
# a local folder the zip does not contain; we drop those replaces and require
# the published staging modules (v0.X.Y for v1.X.Y) instead.
. "$(dirname "$0")/lib.sh"

bins=(kube-apiserver kube-scheduler kube-controller-manager)

build() {
  have_all "$K8S_BIN" "${bins[@]}" && { log "kubernetes $K8S_VERSION binaries cached in $K8S_BIN"; return; }
  log "building kubernetes $K8S_VERSION (${bins[*]}); about 15 minutes on 2 cores when cold"
  local src staging
  src=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $src ]] || die "go mod download k8s.io/kubernetes@$K8S_VERSION gave no source folder"
  work=$(mktemp -d "${TMPDIR:-/tmp}/tether-k8s.XXXXXX")
  trap 'rm -rf "$work"' EXIT # work is global so the trap can see it
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  staging="v0.${K8S_VERSION#v1.}"
  (
    cd "$work"
    export GOWORK=off GOFLAGS=-mod=mod
    local m
    for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/.*$|\1|p' go.mod); do
      go mod edit -dropreplace="$m" -require="$m@$staging"
    done
    grep -q '=> ./staging/' go.mod && die "staging replaces left in go.mod"
    local pkg=k8s.io/component-base/version
    local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1"
    ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") -X $pkg.gitTreeState=clean"
    mkdir -p "$K8S_BIN.tmp"
    go build -ldflags "$ldflags" -o "$K8S_BIN.tmp/" "${bins[@]/#/./cmd/}"
  )
  rm -rf "$K8S_BIN"
  mkdir -p "$(dirname "$K8S_BIN")"
  mv "$K8S_BIN.tmp" "$K8S_BIN"
  log "built ${bins[*]} into $K8S_BIN"
}

with_lock "$TETHER_CACHE/kubernetes.lock" build
