// Package edgehub is edgecore's end of the tunnel: a beehive module that
// obtains the node's certificate (certmanager), dials cloudcore over
// WebSocket or QUIC, keeps the node's store in step with the cloud's desired
// set, and carries messages between edge modules and the cloud.
//
// # Connecting
//
// Start first makes sure the node has a certificate (joining with the token
// the first time; retried with back-off while the cloud is away), then
// rotates it in the background. It dials with jittered exponential back-off
// (ReconnectInitial doubling to ReconnectMax, each wait drawn from its upper
// half); the back-off resets once a session has synced. Each session begins
// with the store's manifest; the cloud answers with the difference, which
// Apply writes to the Store before it is acknowledged, and then an
// objsync.OpSynced marker.
//
// Subscribers (module names) are told when the cloud comes
// (OpCloudConnected), when the store holds the cloud's desired set
// (OpCloudSynced) and when the cloud goes (OpCloudDisconnected). The
// notices are level-triggered: each subscriber has its own sender, which
// delivers the newest state and waits on the subscriber's queue, so the
// hub never blocks on a subscriber and no notice is lost to a full queue;
// a state replaced before delivery is skipped (a subscriber may see
// OpCloudSynced without the OpCloudConnected before it).
//
// Options.Metrics shows the tunnel's state: tether_edgehub_connected is 1
// while a session runs, and sessions begun, ended and failed attempts are
// counted, each labelled with the transport.
//
// # What edge modules send to "edgehub"
//
// Edge modules address a message for the cloud to Route.Destination
// "edgehub" and name the cloud group that should receive it in Route.Group.
//
//   - a request (SendSync): forwarded to the cloud group it names; the
//     answer comes back as the response. Without a session the answer is an immediate OpError.
//   - anything else is a status: level-triggered, the latest per
//     Route.Resource is kept (while offline too) and sent when the tunnel is
//     up; an older one (smaller Header.Timestamp) never replaces a newer.
//
// Messages to the cloud pass a token bucket (UpstreamQPS, UpstreamBurst);
// acks and keepalives do not.
//
// # What the hub delivers to edge modules
//
// A cloud module's request goes to Route.Destination or Route.Group with
// SendSync, and the answer goes back. One-way messages are delivered to the
// module they name; sync messages go to the Store, not the bus.
package edgehub
