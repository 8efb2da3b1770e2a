// Package objsync holds the pure state machines of Tether's reliable sync
// between cloudcore and one edge node (DESIGN.md, "Reliable cloud→edge
// sync"). Nothing here does I/O, starts a goroutine or reads a clock: the
// tunnel (common/tunnel) feeds events in and sends what comes out, and the
// property tests drive the same values through lossy, duplicating and
// reordering networks by hand.
//
// # Cloud to edge: Outbound and Inbound
//
// Outbound is the cloud's view of one node. It holds the node's desired set
// (Set, Delete), what the edge is known to hold (from the manifest the edge
// sends on connect, then from acks), and a queue of keys whose desired
// version differs from the edge's. The queue is keyed by object: a newer
// version replaces a queued one, so memory is bounded by the desired set,
// never by churn. Next hands out sync messages, each with the session's
// next sequence number, while fewer than Window are unacknowledged; Ack takes
// a cumulative acknowledgement. After the difference found at connect has
// been handed out, Next sends one OpSynced marker: an edge that has seen it
// holds everything the cloud wanted when it was sent.
//
// Inbound is the receiving end of a sequenced stream (used by the edge for
// sync messages and by the cloud for statuses). It accepts exactly the next
// sequence number, calls anything at or below the last accepted a duplicate,
// and anything beyond a gap a protocol error: the transports are ordered, so
// a gap means the session is broken and must be replaced, and the manifest
// of the next session repairs whatever was lost.
//
// # Edge to cloud: StatusQueue and StatusFilter
//
// Statuses are level-triggered. StatusQueue keeps the latest status per key
// (its version is the producer's Header.Timestamp; an older one never
// replaces a newer), keeps them across disconnects, and hands them out
// sequenced with the same window rule; a status leaves the queue only when
// acknowledged and not superseded. StatusFilter, on the cloud, drops a
// status older than the last one delivered for its key, so a late resend
// never overwrites a newer status. Ties are delivered: statuses are
// idempotent levels, and a restarted edge's clock never goes back to make
// its new statuses look old.
//
// # Sessions
//
// Sequence numbers start at 1 in every session (Connect). A session's
// messages must not be fed to the next one: the tunnel owns one Outbound
// per node and calls Disconnect before the next Connect.
//
// # Concurrency
//
// None of the types is safe for concurrent use; their owner holds a lock.
package objsync
