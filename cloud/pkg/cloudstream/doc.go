// Package cloudstream is cloudcore's CloudStream module: it lets
// kube-apiserver reach an edge node's kubelet-style server (kubectl logs,
// exec, attach, port-forward) through the node's stream tunnel.
//
// # Two ports
//
// The tunnel server (default :10004) accepts each edge's stream tunnel
// (common/streamtunnel): mutual TLS 1.3 with a node certificate signed by
// Options.NodeCAs; the node is certs.NodeName of that certificate, never
// anything the edge says. One session per node: a new session for a node
// replaces (closes) the one before.
//
// The stream server (default :10003) is where kube-apiserver connects when
// it talks to an edge node's "kubelet" (cloudcore writes its own address
// and this port on edge Nodes). It serves HTTPS (TLS 1.2 or later, HTTP/1.1
// only) and requires a client certificate for client authentication
// verified by Options.KubeletClientCAs: the apiserver's
// --kubelet-client-certificate. Anyone else fails the TLS handshake; in
// particular a node certificate is refused unless the two CAs are the same.
// Start loads those CAs (retrying, then every 10 minutes to follow a
// rotation) while it already serves: until the first load every handshake
// fails, so cloudcore starts even while the apiserver is away.
// When those CAs sign other clients too (a cluster's client CA signs users
// and kubelets), Options.Authorizer must decide who passes, as a kubelet's
// Webhook authorization does: AuthorizerFromClient asks a
// SubjectAccessReview for nodes/proxy of the node, and a refusal is 403.
//
// # Requests
//
// The stream server answers the kubelet's paths:
//
//	/containerLogs/{namespace}/{pod}/{container}
//	/exec/{namespace}/{pod}[/{uid}]/{container}
//	/attach/{namespace}/{pod}[/{uid}]/{container}
//	/portForward/{namespace}/{pod}[/{uid}]
//
// and 404 to anything else. A request is routed by the pod's node, which
// Options.Pods reads from the cluster for every request (these requests
// are rare and human-driven, so a fresh GET costs nothing that matters and
// never routes by stale data). The answer is 404 when the pod does not
// exist or is not bound, 403 when the Authorizer refuses, 503 when the
// node has no tunnel, 502 when the edge cannot be reached; otherwise the
// request goes unchanged (path, query, headers, body) to the edge over a
// new stream of the node's session, and the edge's answer comes back
// unchanged, flushed as it arrives. Upgrades (101 Switching Protocols,
// SPDY for exec, attach and port-forward) pass through, bytes both ways.
//
// Each request has its own stream, so a slow reader stalls only its own
// request (yamux flow control). When a tunnel is lost (closed, or its
// keepalive unanswered for a keepalive period plus the write timeout),
// every request on it ends with an error: a streamed response is cut
// without its terminating chunk, an upgraded connection is closed. An exec
// or attach upgraded to SPDY/3.1 would still look successful to
// kube-apiserver (remotecommand reads a closed, empty error stream as
// success), so unless the edge has already sent the command's result,
// CloudStream first sends a Failure on the error stream: "stream tunnel to
// node <node> lost: ..." (see spdyGuard).
//
// # Metrics
//
// Options.Metrics (NewMetrics) counts refusals by reason: a request the
// Authorizer forbids, a tunnel whose certificate names no node, a stream
// server handshake before the kubelet client CA has loaded. A handshake
// whose certificate fails verification is refused inside crypto/tls and is
// not counted.
//
// # Lifetime
//
// New validates the options and binds both listeners, so a port in use is
// reported before anything starts. Start serves until its ctx ends, then
// closes both listeners and every session, ends the requests in flight and
// returns once they have; a later Start binds the same addresses again.
// The module takes no bus messages.
package cloudstream
