// Package edgestream is EdgeStream, the edge's kubelet-compatible server
// for container logs, exec, attach and port-forward.
//
// # Where requests come from
//
// kube-apiserver sends `kubectl logs/exec/attach/port-forward` for an edge
// pod to what it takes for the node's kubelet: cloudcore's CloudStream,
// which opens one stream per request on the node's stream tunnel
// (common/streamtunnel). The Module dials that tunnel (retrying with a
// jittered back-off, the node's certificate from Certs) and serves the
// handler on every stream cloudcore opens. The same handler also listens
// on Options.LocalAddress (loopback; it does not authenticate).
//
// # The handler
//
// NewHandler serves the kubelet's paths with the kubelet's query
// parameters:
//
//	GET  /containerLogs/{ns}/{pod}/{container}   corev1.PodLogOptions
//	GET|POST /exec/{ns}/{pod}[/{uid}]/{container}   command, input, output, error, tty
//	GET|POST /attach/{ns}/{pod}[/{uid}]/{container} input, output, error, tty
//	GET|POST /portForward/{ns}/{pod}[/{uid}]        port (optional)
//	GET  /healthz                                  "ok"
//
// Anything else is 404. Logs are read from the container's CRI log file
// (edged/logs); the 200 header goes out before the first line. Exec,
// attach and port-forward must be upgrade requests (SPDY or WebSocket):
// the handler asks the Runtime for the container runtime's streaming URL
// and proxies the request, upgrade included, to it, as the kubelet does.
// Errors are plain text: a Runtime error wrapping ErrNotFound is 404,
// ErrBadRequest 400, any other 500 (ErrUnavailable too: kube-apiserver
// replaces a 503's text with its own, and kubectl would not show why).
// The Runtime knows only this node's pods: a pod elsewhere is 404.
//
// # Lifetimes
//
// Start returns when its ctx ends, after closing the listener and the
// tunnel and waiting for every request it served: followed logs end and
// proxied streams are cut. A lost tunnel ends its streams with an error;
// the Module dials again. Connected and the handler are safe for
// concurrent use.
package edgestream
