#!/usr/bin/env bash
# Builds the OCI image tars the CRI tests import into containerd, into
# $IMAGES_DIR, unless they are there and up to date:
#
#   busybox.tar  tether.local/busybox:test  Debian's static busybox, cmd sh
#   pause.tar    tether.local/pause:test    same rootfs, sleeps until SIGTERM
#
# Nothing can be pulled from a registry, so build/mkimage packs
# /bin/busybox (busybox-static) into a one-layer image. The output is
# deterministic; a stamp of the inputs decides when to rebuild.
# tests/testenv names the same images; its tests check that they agree.
. "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
busybox=${BUSYBOX:-/bin/busybox}
busybox_ref=tether.local/busybox:test
pause_ref=tether.local/pause:test
# PID 1 ignores signals it has no handler for: trap TERM so the pause
# container stops at once instead of waiting for SIGKILL.
pause_cmd='trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done'

stamp() {
  {
    cat "$busybox" "$0" "$root"/build/mkimage/*.go | sha256sum
    echo "$busybox_ref $pause_ref $pause_cmd $(uname -m)"
  } | sha256sum | cut -d' ' -f1
}

build() {
  [[ -x $busybox ]] || die "$busybox not found: run build/install-packages.sh (Debian package busybox-static)"
  local want
  want=$(stamp)
  if [[ -f $IMAGES_DIR/busybox.tar && -f $IMAGES_DIR/pause.tar &&
    $(cat "$IMAGES_DIR/.stamp" 2>/dev/null) == "$want" ]]; then
    log "test images cached in $IMAGES_DIR"
    return
  fi
  log "building test images into $IMAGES_DIR"
  mkdir -p "$IMAGES_DIR"
  mkimage=$(mktemp -d "${TMPDIR:-/tmp}/tether-mkimage.XXXXXX")
  trap 'rm -rf "$mkimage"' EXIT # mkimage is global so the trap can see it
  (cd "$root" && GOWORK=off go build -o "$mkimage/mkimage" ./build/mkimage)
  "$mkimage/mkimage" -busybox "$busybox" -ref "$busybox_ref" -o "$IMAGES_DIR/busybox.tar" -- sh
  "$mkimage/mkimage" -busybox "$busybox" -ref "$pause_ref" -o "$IMAGES_DIR/pause.tar" -- \
    /bin/sh -c "$pause_cmd"
  echo "$want" >"$IMAGES_DIR/.stamp"
  log "built $busybox_ref and $pause_ref"
}

with_lock "$TETHER_CACHE/images.lock" build
