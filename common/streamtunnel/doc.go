// Package streamtunnel carries kubelet-style HTTP requests (container logs,
// exec, attach, port-forward) from cloudcore to an edge node's local
// server.
//
// # Shape
//
// The edge dials cloudcore's stream tunnel port (10004) over TLS, presenting
// its node certificate and verifying cloudcore's serving certificate
// against the cluster CA. After the handshake the server writes one line,
// "ok" or "refused: <reason>", so a refused edge logs why; then both ends
// run yamux over the connection. yamux gives many concurrent streams, each
// with its own flow-control window (a slow reader stalls only its stream),
// and keepalive pings that end a half-open connection.
//
// Streams are opened only by cloudcore: each request the apiserver makes
// to the node's "kubelet" becomes one stream, on which the edge serves
// HTTP/1.1 (an upgrade for exec, attach and port-forward). The edge is the
// yamux server: Session implements net.Listener, so an http.Server serves
// it directly. A stream the edge opens is closed at once and never read
// (the edge reads EOF; yamux resets it if the edge holds it open past its
// close timeout): an edge cannot send requests toward the cloud.
//
// # Identity
//
// The node name is what ServerOptions.Admit makes of the client
// certificate (its CN), never anything the edge says.
//
// # Lifetimes
//
// Serve runs each admitted session's Handle in its own goroutine and closes
// the session when Handle returns; when Serve's ctx ends it stops
// accepting, closes every session and waits for the Handles. Closing a
// session ends every stream on it with an error: nothing hangs on a lost
// tunnel longer than the keepalive period plus its write timeout.
package streamtunnel
