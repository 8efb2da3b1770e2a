#!/usr/bin/env bash
# Builds containerd, containerd-shim-runc-v2 and ctr at $CONTAINERD_VERSION
# into $CONTAINERD_BIN, unless already there.
#
# Debian ships containerd 1.6, which does not stream CRI container events; the
# tests also need a current containerd, and nothing may be downloaded but Go
# modules, so we build it from its module (about 2 minutes on 2 cores, cold).
. "$(dirname "$0")/lib.sh"

bins=(containerd containerd-shim-runc-v2 ctr)

build() {
  have_all "$CONTAINERD_BIN" "${bins[@]}" && { log "containerd $CONTAINERD_VERSION cached in $CONTAINERD_BIN"; return; }
  log "building containerd $CONTAINERD_VERSION (${bins[*]}); about 2 minutes on 2 cores when cold"
  local mod=github.com/containerd/containerd/v2/cmd
  rm -rf "$CONTAINERD_BIN.tmp"
  mkdir -p "$CONTAINERD_BIN.tmp"
  local pkgs=() b
  for b in "${bins[@]}"; do pkgs+=("$mod/$b@$CONTAINERD_VERSION"); done
  # Run outside any module so the project's go.mod and go.work play no part.
  (cd / && GOWORK=off GOFLAGS= GOBIN="$CONTAINERD_BIN.tmp" go install "${pkgs[@]}")
  rm -rf "$CONTAINERD_BIN"
  mv "$CONTAINERD_BIN.tmp" "$CONTAINERD_BIN"
  log "built ${bins[*]} into $CONTAINERD_BIN"
}

with_lock "$TETHER_CACHE/containerd.lock" build
