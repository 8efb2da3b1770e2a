package edgestream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/logs"
)

// LogReader writes a container's log file to w; logs.Read is the real one.
type LogReader func(ctx context.Context, path string, opts logs.Options, w io.Writer, running func() bool) error

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Runtime resolves containers and hands out streaming URLs. Required.
	Runtime Runtime
	// Logger is required.
	Logger *slog.Logger
	// ReadLogs reads a log file; nil means logs.Read.
	ReadLogs LogReader
	// Transport carries proxied exec, attach and port-forward requests to
	// the runtime's streaming server; nil means a plain HTTP/1.1 transport
	// that never uses a proxy from the environment.
	Transport http.RoundTripper
	// Now is the clock sinceSeconds counts back from; nil means time.Now.
	Now func() time.Time
}

// handler is the kubelet-compatible HTTP handler; see the package doc.
type handler struct {
	rt        Runtime
	log       *slog.Logger
	readLogs  LogReader
	transport http.RoundTripper
	now       func() time.Time
}

// NewHandler returns the kubelet-compatible handler: container logs, exec,
// attach, port-forward and /healthz. It is safe for concurrent use.
func NewHandler(o HandlerOptions) (http.Handler, error) {
	if o.Runtime == nil || o.Logger == nil {
		return nil, errors.New("edgestream: HandlerOptions need Runtime and Logger")
	}
	h := &handler{rt: o.Runtime, log: o.Logger, readLogs: o.ReadLogs, transport: o.Transport, now: o.Now}
	if h.readLogs == nil {
		h.readLogs = logs.Read
	}
	if h.transport == nil {
		h.transport = newStreamTransport()
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// newStreamTransport is the transport to the runtime's streaming server
// (loopback, plain HTTP/1.1: an upgrade needs HTTP/1.1).
func newStreamTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		MaxIdleConnsPerHost:   -1,
		DisableKeepAlives:     true,
	}
}

// route is one request's target, parsed from its path.
type route struct {
	kind string // "containerLogs", "exec", "attach", "portForward", "healthz"
	ctr  ContainerRef
}

// parseRoute splits the kubelet's paths:
//
//	/containerLogs/{ns}/{pod}/{container}
//	/exec/{ns}/{pod}[/{uid}]/{container}, and the same for /attach
//	/portForward/{ns}/{pod}[/{uid}]
//	/healthz
//
// ok is false for any other path, and for an empty segment.
func parseRoute(path string) (r route, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, p := range parts {
		if p == "" {
			return route{}, false
		}
	}
	r.kind, parts = parts[0], parts[1:]
	switch {
	case r.kind == "healthz" && len(parts) == 0:
	case r.kind == "containerLogs" && len(parts) == 3:
		r.ctr = ContainerRef{Namespace: parts[0], Pod: parts[1], Container: parts[2]}
	case (r.kind == "exec" || r.kind == "attach") && len(parts) == 3:
		r.ctr = ContainerRef{Namespace: parts[0], Pod: parts[1], Container: parts[2]}
	case (r.kind == "exec" || r.kind == "attach") && len(parts) == 4:
		r.ctr = ContainerRef{Namespace: parts[0], Pod: parts[1], UID: types.UID(parts[2]), Container: parts[3]}
	case r.kind == "portForward" && len(parts) == 2:
		r.ctr = ContainerRef{Namespace: parts[0], Pod: parts[1]}
	case r.kind == "portForward" && len(parts) == 3:
		r.ctr = ContainerRef{Namespace: parts[0], Pod: parts[1], UID: types.UID(parts[2])}
	default:
		return route{}, false
	}
	return r, true
}

// methods are the methods each kind of route answers, as the kubelet's.
var methods = map[string][]string{
	"healthz":       {http.MethodGet},
	"containerLogs": {http.MethodGet},
	"exec":          {http.MethodGet, http.MethodPost},
	"attach":        {http.MethodGet, http.MethodPost},
	"portForward":   {http.MethodGet, http.MethodPost},
}

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	log := h.log.With("method", req.Method, "path", req.URL.Path)
	log.Debug("stream request")
	r, ok := parseRoute(req.URL.Path)
	if !ok {
		h.fail(w, log, http.StatusNotFound, "404 page not found")
		return
	}
	allowed := methods[r.kind]
	if !slices.Contains(allowed, req.Method) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		h.fail(w, log, http.StatusMethodNotAllowed, "method "+req.Method+" not allowed")
		return
	}
	switch r.kind {
	case "healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	case "containerLogs":
		h.containerLogs(w, req, log, r.ctr)
	case "exec":
		h.exec(w, req, log, r.ctr)
	case "attach":
		h.attach(w, req, log, r.ctr)
	case "portForward":
		h.portForward(w, req, log, r.ctr.PodRef())
	}
}

// fail answers a plain-text error and logs it at Info.
func (h *handler) fail(w http.ResponseWriter, log *slog.Logger, code int, msg string) {
	log.Info("stream request failed", "status", code, "err", msg)
	http.Error(w, msg, code)
}

// failErr answers err with the status its sentinel stands for.
func (h *handler) failErr(w http.ResponseWriter, log *slog.Logger, err error) {
	h.fail(w, log, statusOf(err), err.Error())
}

// statusOf maps a Runtime error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnavailable):
		// Not 503: kube-apiserver replaces a 503's text with its own,
		// and the reason (the runtime is not reached) would not reach kubectl.
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}
