// Package cloudhub is cloudcore's end of the tunnel: a beehive module that
// serves edge nodes over WebSocket and QUIC with mutual TLS, keeps each
// node's desired set, and carries messages between the edge and the cloud
// modules.
//
// # Identity and admission
//
// A node is the CN of its client certificate (system:node:<name>, checked
// by certs.NodeName) and nothing else. At most NodeLimit nodes are connected
// at once; a node connecting again replaces its earlier session, which is
// cancelled and joined before the new one starts. Until Options.Ready is
// closed (EdgeController has loaded every desired set), every node is
// refused as unavailable and retries: its manifest must not be compared
// with a half-loaded set.
//
// # What cloud modules send to "cloudhub"
//
// Every message names its node in Route.Resource (node/<node>/<ns>/<type>/<name>).
//
//   - insert or update with an object's JSON (metadata.uid set) and
//     Header.ResourceVersion: the object joins the node's desired set, or
//     replaces its older version there.
//   - delete: the object leaves the desired set.
//   - a request (Header.Sync, sent with SendSync): forwarded to the edge;
//     the edge module's answer, or an OpError when the node is not
//     connected or does not answer, comes back as the response.
//   - anything else: delivered to the edge at most once if it is connected,
//     else dropped with a debug log.
//
// The desired set lives here, so it survives disconnects; it is rebuilt from
// the informers after a cloudcore restart. On every connect the edge sends a
// manifest of what it holds and the hub sends only the difference, then an
// objsync.OpSynced marker; see common/objsync. Nothing is written to the
// apiserver per acknowledged message.
//
// # What the hub delivers to cloud modules
//
// Messages from the edge go to Route.Group (SendToGroup) if set, else to
// Route.Destination, with Route.Resource in cloud form (node added).
// Statuses (sequenced) are delivered in order, at most once per version and
// never older than one already delivered for the same key, then
// acknowledged. An edge's request is forwarded with SendSync and a fresh ID,
// and the answer goes back to the edge. A message for an unknown module is
// logged and dropped.
//
// # Metrics
//
// Options.Metrics (NewMetrics) counts sessions by transport, reconnects,
// connections refused after the TLS handshake (by reason), the messages and
// wire frame bytes each way (measured on the session's conn, so once
// whatever the transport), and the latency from handing a sequenced message
// to the writer to its ack. A node's queue depth series exists only while
// it has a session. A handshake that fails certificate verification is
// refused by crypto/tls before the hub sees it, and is not counted.
//
// # Concurrency
//
// Start runs the servers and the bus loop until its context ends. Each
// connection has one session context owning its reader and writer; the
// per-node state is guarded by the node's mutex.
package cloudhub
