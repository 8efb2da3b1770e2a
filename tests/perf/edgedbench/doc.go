// Package edgedbench measures Edged, edgecore's pod runtime, against a
// real containerd (BenchmarkEdged, in its test files), printed by
// `make bench BENCH=edged`. Benchmarks only: `make test` runs none of it.
//
// Pod figures run the real Edged module with the real MetaManager and
// SQLite store, and a stand-in hub (tests/edgedtest), over containerd
// 2.4 (runtime events). Pods are host-network busybox pods, image
// present, grace period 0. A status counts when the hub receives it: the
// path a status takes to the cloud, minus the tunnel.
//
//   - edged.pod_start_p50_ms, edged.pod_start_p99_ms (ms): from handing a
//     pod over to the first status with every container running, 30 pods
//     one after another (after one untimed warm-up pod). Target p99 ≤ 800.
//   - edged.delete30_s (s): those 30 running pods deleted at once with
//     grace period 0, until the runtime lists none of their sandboxes and
//     containers. Target ≤ 5.
//   - edged.batch30_s (s): 30 pods handed over at once, until all of them
//     show every container running. Target ≤ 3.
//   - edged.exit_to_status_events_ms, edged.exit_to_status_relist_ms (ms):
//     the p50 over 10 pods (restartPolicy Never) of the time from a
//     container's exit (the runtime's FinishedAt, in nanoseconds) to the
//     status showing it terminated; with runtime events (containerd 2.4)
//     and with relisting every second (Debian's containerd 1.6). Targets
//     ≤ 100 and ≤ 1,100.
//   - edged.relist_100_ms (ms): one full relist as PLEG's first one does
//     it — List, then Inspect of every pod — with 100 running containers
//     (10 sandboxes × 10), the median of 10, through Edged's CRI client on
//     containerd 1.6. A steady-state relist inspects only the pods that
//     changed; its List alone is logged.
//   - edged.rss_idle_mb, edged.rss_30pods_mb (MB): the real edgecore
//     process's settled RSS (testenv.Process.SettledRSS), with Edged
//     enabled on containerd 2.4 and no cloud (the hub keeps retrying its
//     join): idle, then with 30 static pods running. Targets ≤ 30 and ≤ 50.
//   - edged.runtime_pod_start_p50_ms, edged.runtime_batch30_s,
//     edged.runtime_delete30_s, edged.runtime_exit_event_ms: the runtime
//     alone, the floor under the figures above. The same host-network
//     busybox pods on a containerd 2.4 of their own, driven straight
//     through CRI with the fewest calls (RunPodSandbox, CreateContainer,
//     StartContainer; StopPodSandbox, RemovePodSandbox), and the time from
//     a container's exit to the runtime's CONTAINER_STOPPED event.
//
// Each group of figures (pods on 2.4, exit on 1.6, relist, runtime, RSS) is
// measured once per process, by the first of its figures to run; later
// calls, whatever b.N, report what was measured. A run takes a few
// minutes on two cores. The figures need containerd 2.4, the test images
// and root (build/test-deps.sh).
package edgedbench
