#!/usr/bin/env bash
# Installs and builds everything the integration and end-to-end tests start:
# Debian packages, kube-apiserver & co., containerd 2.4 and the test images.
# Each step is cached, so a second run only checks and takes seconds.
# `make test` and `make up` run it first.
. "$(dirname "$0")/lib.sh"

dir=$(cd "$(dirname "$0")" && pwd)
for step in install-packages.sh kube-binaries.sh containerd.sh test-images.sh; do
  start=$SECONDS
  "$dir/$step" || die "$step failed"
  log "$step done in $((SECONDS - start))s"
done
