// Package testenv starts the real components Tether's integration and
// end-to-end tests run against: etcd and kube-apiserver (optionally
// kube-scheduler and kube-controller-manager), containerd with runc and CNI,
// and Mosquitto.
//
// Every Start function takes a T (a testing.TB, or a ProgramT outside
// tests), puts its files in t.TempDir(),
// listens only on loopback ports it picked free, and registers cleanup that
// stops what it started (the whole process group; for containerd also its
// pods, shims and mounts). When the test failed, the cleanup logs the tail of
// each component's log. Readiness is awaited by polling with a deadline.
//
// Nothing here skips: when a binary or image is missing the test fails with
// the script that provides it (build/test-deps.sh installs and builds all of
// them; `make test` runs it first). Binaries and images are found through
// Paths; DefaultPaths matches build/lib.sh.
//
// The Start functions may be called from parallel tests: instances share
// nothing but the CNI bridge (see StartContainerd).
package testenv
