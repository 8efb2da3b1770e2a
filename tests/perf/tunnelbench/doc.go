// Package tunnelbench holds the tunnel's benchmark figures (BenchmarkTunnel,
// in its test files), printed by `make bench BENCH=tunnel`:
//
//   - tunnel.ws_objects, tunnel.quic_objects (objects/s): 1 KiB objects put
//     in one node's desired set through the cloud bus until the edge has
//     stored and acknowledged them all, with cloudhub and edgehub in this
//     process (tests/tunneltest) over real TLS on loopback.
//   - tunnel.rtt50ms_objects (objects/s): the same over WebSocket through a
//     TCP proxy that adds 25 ms each way.
//   - tunnel.nodes_1000_rss_mb, tunnel.nodes_5000_rss_mb (MB, KiB/node): the
//     resident memory of a real cloudcore process (beside a real
//     kube-apiserver) with that many simulated nodes connected over TLS
//     WebSocket (tests/perf/simulator), and what each node added to it.
//   - tunnel.reconnect_5000_s (s): the seconds from starting cloudcore again
//     after a SIGTERM until all 5,000 simulated nodes have reconnected and
//     received the OpSynced marker of their new session.
//
// The throughput figures run b.N objects per iteration as usual. The
// process figures are measured once per process: one iteration is the whole
// measurement (tens of seconds, so go test keeps b.N at 1), and should go
// test call again for a longer -benchtime, the figure measured the first
// time is reported again instead of measuring it anew.
//
// The process figures need etcd and kube-apiserver (build/test-deps.sh).
package tunnelbench
