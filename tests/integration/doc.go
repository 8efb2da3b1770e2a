// Package integration holds tests that run Tether's parts against the real
// components tests/testenv starts: etcd and kube-apiserver, containerd (2.4
// and Debian's 1.6) and Mosquitto. build/test-deps.sh provides them; a
// missing one fails the test with that hint, never skips it.
package integration
