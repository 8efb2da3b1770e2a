// Package simulator runs many edge nodes in one process, cheaply, for
// cloudcore's scale benchmarks (connected-node memory, reconnect storms).
//
// A simulated node is not an edgecore: it has no bus, no store and no
// statuses. It speaks just enough of the tunnel protocol to be a well-behaved
// peer: it dials cloudcore's WebSocket with its own client certificate (its
// node name is the certificate's CN), writes an empty manifest, then runs a
// tunnel session whose only traffic is keepalives and cumulative acks of the
// sync stream. It notes when the session's OpSynced marker arrives. When a
// session ends it reconnects like edgehub does: jittered exponential
// back-off from ReconnectInitial doubling to ReconnectMax, each wait drawn
// from the upper half of the step, reset once a session has synced.
//
// # Concurrency and lifetimes
//
// Start launches one goroutine per node (plus the session's reader, writer
// and closer while connected) and returns at once; the nodes connect in the
// background, at most DialConcurrency handshakes at a time across all nodes,
// so thousands of nodes do not time out each other's TLS handshakes on a
// small machine. Stats may be called from any goroutine at any time. Stop
// cancels every node and returns after every goroutine has returned.
package simulator
