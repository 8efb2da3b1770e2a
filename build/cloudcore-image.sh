#!/usr/bin/env bash
# Builds cloudcore's container image as an OCI image layout tar, the image
# deploy/cloudcore/deployment.yaml runs:
#
#   build/cloudcore-image.sh        # _output/images/cloudcore.tar
#   IMAGE=registry.example.com/tether/cloudcore:dev build/cloudcore-image.sh
#
#   IMAGE   the name stored in the tar (default ghcr.io/tether-edge/cloudcore:v0.1.0)
#   OUT     the tar (default _output/images/cloudcore.tar)
#   GOARCH  the architecture to build for (default this machine's)
#
# No Dockerfile and no docker: cloudcore is built static (CGO_ENABLED=0) and
# build/mkimage packs it alone at /usr/local/bin/cloudcore, running as
# nonroot (65532:65532), with /etc/passwd, /etc/group, /tmp and this host's
# CA bundle (/etc/ssl/certs/ca-certificates.crt, when present). The image has
# no Cmd: the Deployment passes --config. The same sources, Go version and
# CA bundle give the same image digest.
. "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
image=${IMAGE:-ghcr.io/tether-edge/cloudcore:v0.1.0}
out=${OUT:-$root/_output/images/cloudcore.tar}
case $out in /*) ;; *) out=$PWD/$out ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/tether-cloudcore-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

cd "$root"
log "building cloudcore (CGO_ENABLED=0, GOARCH=$(go env GOARCH))"
CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$work/cloudcore" ./cloud/cmd/cloudcore ||
  die "go build ./cloud/cmd/cloudcore failed"
# mkimage runs here, whatever GOARCH the image is for.
GOWORK=off GOOS= GOARCH= go build -o "$work/mkimage" ./build/mkimage || die "go build ./build/mkimage failed"
"$work/mkimage" -binary "$work/cloudcore" -entrypoint /usr/local/bin/cloudcore -user 65532:65532 \
  -ref "$image" -o "$out" || die "mkimage failed"

log "built $image: $out ($(du -h "$out" | cut -f1))"
log "load it with one of:"
log "  docker load -i $out"
log "  ctr -n k8s.io images import $out    # containerd, where kubelet finds it"
log "  skopeo copy oci-archive:$out docker://registry.example.com/tether/cloudcore:dev"
