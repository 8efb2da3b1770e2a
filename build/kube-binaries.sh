#!/usr/bin/env bash
# Builds kube-apiserver, kube-scheduler, kube-controller-manager and kubectl
# from the Kubernetes Go module at $K8S_VERSION into $K8S_BIN: only those not
# already there. kubectl is built rather than taken from the machine so the
# tests drive the control plane with the client of its own version.
#
# No package ships them and nothing may be downloaded but Go modules, so we
# build from the module zip. Its go.mod points every k8s.io/* staging module at
# a local folder the zip does not contain; we drop those replaces and require
# the published staging modules (v0.X.Y for v1.X.Y) instead.
. "$(dirname "$0")/lib.sh"

bins=(kube-apiserver kube-scheduler kube-controller-manager kubectl)

build() {
  local missing=() b
  for b in "${bins[@]}"; do have_all "$K8S_BIN" "$b" || missing+=("$b"); done
  ((${#missing[@]})) || { log "kubernetes $K8S_VERSION binaries cached in $K8S_BIN"; return; }
  log "building kubernetes $K8S_VERSION (${missing[*]}); about 15 minutes on 2 cores when cold"
  log "step 1/3: downloading the k8s.io/kubernetes $K8S_VERSION module source"
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
    rm -rf "$K8S_BIN.tmp"
    mkdir -p "$K8S_BIN.tmp"
    local pkgs=("${missing[@]/#/./cmd/}") total
    log "step 2/3: downloading the modules they depend on and listing their packages"
    total=$(go list -deps "${pkgs[@]}" | wc -l)
    log "step 3/3: compiling $total packages"
    go build -v -ldflags "$ldflags" -o "$K8S_BIN.tmp/" "${pkgs[@]}" 2>&1 | go_build_progress "$total"
  )
  mkdir -p "$K8S_BIN"
  for b in "${missing[@]}"; do mv "$K8S_BIN.tmp/$b" "$K8S_BIN/$b"; done
  rm -rf "$K8S_BIN.tmp"
  log "built ${missing[*]} into $K8S_BIN"
}

with_lock "$TETHER_CACHE/kubernetes.lock" build
