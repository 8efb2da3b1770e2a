// Package controllerbench measures what cloudcore's memory grows with
// (BenchmarkController, in its test files), printed by
// `make bench BENCH=controller`.
//
// EdgeController is meant to hold only what edge nodes need: it watches
// the Nodes labelled node-role.kubernetes.io/edge, each edge node's pods
// (field selector spec.nodeName) and, one watch each, the configmaps and
// secrets those pods use; nothing cluster-wide (see
// cloud/pkg/edgecontroller). So cloudcore's memory should grow with the
// edge nodes' objects and not with the rest of the cluster. The figures
// check that with a real cloudcore process beside a real kube-apiserver
// (tests/testenv), reading its resident set size (VmRSS) once it has
// stopped growing, in three steps of one run:
//
//   - controller.rss_idle_mb (MB): with an empty cluster.
//   - controller.rss_nonedge_mb (MB): after adding a large cluster that
//     has no edge node: Nodes without the edge label, pods bound to them,
//     and the ~4 KiB configmaps and secrets those pods use. It should stay
//     about equal to rss_idle_mb.
//   - controller.rss_edge_mb (MB): after adding edge Nodes, pods bound to
//     them and a ~4 KiB configmap and secret of its own for each pod,
//     once the apiserver shows that cloudcore watches every one of them.
//   - controller.edge_kib_per_pod (KiB/pod): (rss_edge_mb - rss_nonedge_mb)
//     per edge pod, which covers the pod, its two objects and their two
//     watches.
//
// RSS is what the kernel sees: besides the objects it counts the goroutine
// stacks of every watch (an informer is several goroutines), and the Go
// heap's headroom and fragmentation, so the per-pod figure is well above
// the size of the objects.
//
// cloudcore opens each watch at its client rate limit (kubeAPI.qps,
// default 50/s). With the etcd the test stack uses (Debian's 3.4) the
// apiserver cannot serve watch-list streams, so every watch is a LIST
// (rate-limited) then a WATCH, and cloudcore needs about
// (edge nodes + 2 x edge pods) / 50 seconds to watch everything.
//
// The object counts are constants at the top of bench_test.go. The
// figures are measured once per process: the first of them to run
// measures all four (about a minute and a half on two cores, plus
// building cloudcore), and every later call, whatever b.N, reports what
// was measured.
//
// The figures need etcd and kube-apiserver (build/test-deps.sh).
package controllerbench
