#!/usr/bin/env bash
# Installs the Debian packages the test stack needs, only when missing.
# Safe to run twice: a second run with everything present does nothing.
. "$(dirname "$0")/lib.sh"

# command -> package that provides it
declare -A want=(
  [etcd]=etcd-server
  [containerd]=containerd
  [runc]=runc
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [busybox]=busybox-static
  [mosquitto]=mosquitto
  [mosquitto_pub]=mosquitto-clients
  [flock]=util-linux
  [ip]=iproute2
)

missing=()
for cmd in "${!want[@]}"; do
  if [[ $cmd == /* ]]; then
    [[ -e $cmd ]] || missing+=("${want[$cmd]}")
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
  fi
done

if ((${#missing[@]} == 0)); then
  log "all Debian packages present"
  exit 0
fi

[[ $(id -u) == 0 ]] || die "need root to apt-get install: ${missing[*]}"
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts daemons it installs where it can; the tests run their own.
for svc in mosquitto containerd etcd; do
  pkill -x "$svc" 2>/dev/null || true
done
log "installed: ${missing[*]}"
