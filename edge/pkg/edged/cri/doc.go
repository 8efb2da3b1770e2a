// Package cri is the CRI v1 client Edged runs pods with: a gRPC connection
// to the container runtime's unix socket (containerd), a snapshot of what
// the runtime holds for Edged's pods, the container event stream, and thin
// typed wrappers of the runtime and image calls pod workers make.
//
// # Start
//
// Dial checks the endpoint is a unix socket that exists and asks Version;
// it fails, naming the endpoint, unless the runtime answers CRI API v1. The
// runtime's name and version are kept (RuntimeName, RuntimeVersion).
//
// # Concurrency
//
// Every method of Client is safe to call from many goroutines at once: the
// client holds no state but the gRPC connections. Inspect writes into the
// Pod it is given, so that Pod must not be shared while it runs. Close ends
// calls in flight and any event stream.
//
// # Timeouts and errors
//
// Each call runs under its own timeout derived from the caller's context:
// Options.Timeout (default 2m); PullImage uses Options.PullTimeout (default
// 10m); StopContainer and ExecSync add their own grace or command timeout.
// Errors name the call and the object ("create container app of pod
// default/web (uid): ...") and wrap the gRPC status, so IsNotFound and
// IsUnimplemented (and status.Code) work on them.
//
// # Snapshot
//
// List makes two calls, ListPodSandbox then ListContainers, and groups
// their results by the runstate.LabelPodUID label (Group, a pure function);
// sandboxes and containers without it are not Edged's and are skipped.
// Inspect then fills container details and the newest sandbox's IP for the
// pods whose state changed; something that vanished meanwhile is left
// uninspected, not reported.
//
// # Events
//
// Events streams GetContainerEvents. A runtime without it (containerd 1.6)
// makes Events return ErrEventsUnsupported within about a second: the
// caller then relists on its normal period instead. A stream that ends
// (ctx done, runtime restarted or gone) closes its channel; its wait func
// tells why, and the caller relists and opens a new stream, since events
// may have been missed in between.
package cri
