package cloudstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
)

// routes are the kubelet paths the stream server forwards.
var routes = []string{
	"/containerLogs/{namespace}/{pod}/{container}",
	"/exec/{namespace}/{pod}/{container}",
	"/exec/{namespace}/{pod}/{uid}/{container}",
	"/attach/{namespace}/{pod}/{container}",
	"/attach/{namespace}/{pod}/{uid}/{container}",
	"/portForward/{namespace}/{pod}",
	"/portForward/{namespace}/{pod}/{uid}",
}

// notFoundText answers paths CloudStream does not serve.
const notFoundText = "404 page not found: CloudStream serves only " +
	"/containerLogs/{namespace}/{pod}/{container}, " +
	"/exec/{namespace}/{pod}[/{uid}]/{container}, " +
	"/attach/{namespace}/{pod}[/{uid}]/{container} and " +
	"/portForward/{namespace}/{pod}[/{uid}]\n"

// routeKey carries a request's *route from the handler to the proxy's
// hooks.
type routeKey struct{}

// route is where a request goes and what came of it.
type route struct {
	node string
	// status is the edge's answer, or 502; set by the proxy's hooks, read
	// by the handler once the proxy has returned.
	status int
}

// routeOf returns the route the handler put in r's context.
func routeOf(r *http.Request) *route {
	return r.Context().Value(routeKey{}).(*route)
}

// streamHandler routes kubelet requests to the edge the pod runs on.
type streamHandler struct {
	pods    Pods
	authz   Authorizer // nil: allow
	tunnels *tunnels
	metrics *Metrics
	log     *slog.Logger
	proxy   *httputil.ReverseProxy
}

func newStreamHandler(pods Pods, authz Authorizer, t *tunnels, metrics *Metrics, log *slog.Logger) http.Handler {
	h := &streamHandler{pods: pods, authz: authz, tunnels: t, metrics: metrics, log: log}
	h.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			// Same path and query; the host names the node to dial.
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = routeOf(r.In).node
			r.Out.URL.RawQuery = r.In.URL.RawQuery
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				node, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				return t.dial(ctx, node)
			},
			// One stream per request: nothing idles on a tunnel.
			DisableKeepAlives:  true,
			DisableCompression: true,
		},
		// Flush every write: kubectl logs -f must stream.
		FlushInterval: -1,
		ModifyResponse: func(res *http.Response) error {
			rt := routeOf(res.Request)
			rt.status = res.StatusCode
			// An exec or attach must not look successful when its
			// tunnel is lost.
			res.Body = guardSPDY(res, rt.node, log)
			return nil
		},
		ErrorHandler: h.proxyError,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	mux := http.NewServeMux()
	for _, p := range routes {
		mux.HandleFunc(p, h.serveRoute)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.log.Info("stream request refused: unknown path", "path", r.URL.Path, "client", clientName(r))
		http.Error(w, notFoundText, http.StatusNotFound)
	})
	return mux
}

// serveRoute finds the pod's node and proxies the request to it.
func (h *streamHandler) serveRoute(w http.ResponseWriter, r *http.Request) {
	ns, pod := r.PathValue("namespace"), r.PathValue("pod")
	log := h.log.With("namespace", ns, "pod", pod, "path", r.URL.Path)
	node, err := h.pods.NodeOf(r.Context(), ns, pod)
	switch {
	case errors.Is(err, ErrPodNotFound):
		log.Info("stream request refused", "err", err)
		http.Error(w, fmt.Sprintf("pod %s/%s not found", ns, pod), http.StatusNotFound)
		return
	case err != nil:
		log.Info("stream request failed: look up the pod", "err", err)
		http.Error(w, fmt.Sprintf("look up pod %s/%s: %v", ns, pod, err), http.StatusServiceUnavailable)
		return
	}
	log = log.With("node", node)
	if !h.authorize(w, r, node, log) {
		return
	}
	if h.tunnels.session(node) == nil {
		log.Info("stream request refused: no stream tunnel")
		// 502, not 503: kube-apiserver passes a 502's text on to kubectl
		// but replaces a 503's with its own.
		http.Error(w, fmt.Sprintf("node %s has no stream tunnel to cloudcore (is edgecore running and connected?)", node),
			http.StatusBadGateway)
		return
	}
	rt := &route{node: node}
	// Deferred, so that a request the proxy aborts (panic
	// http.ErrAbortHandler, when the edge's answer is cut) is logged too.
	defer func() { log.Debug("stream request", "status", rt.status) }()
	h.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)))
}

// authorize asks the Authorizer, if any, and answers a refusal.
func (h *streamHandler) authorize(w http.ResponseWriter, r *http.Request, node string, log *slog.Logger) bool {
	if h.authz == nil {
		return true
	}
	req := authzRequest(r, node)
	err := h.authz.Authorize(r.Context(), req)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrForbidden):
		h.metrics.deny(DenyForbidden)
		log.Info("stream request refused", "user", req.User, "verb", req.Verb, "err", err)
		http.Error(w, err.Error(), http.StatusForbidden)
	default:
		log.Info("stream request failed: authorize", "user", req.User, "err", err)
		http.Error(w, fmt.Sprintf("authorize %s: %v", req.User, err), http.StatusServiceUnavailable)
	}
	return false
}

// proxyError answers a request the edge could not be asked or did not
// answer.
func (h *streamHandler) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	rt := routeOf(r)
	rt.status = http.StatusBadGateway
	node := rt.node
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		h.log.Debug("stream request canceled by the client", "node", node, "path", r.URL.Path)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	h.log.Info("stream request failed: the edge did not answer", "node", node, "path", r.URL.Path, "err", err)
	http.Error(w, fmt.Sprintf("node %s did not answer through its stream tunnel: %v", node, err), http.StatusBadGateway)
}

// clientName is the CN of the verified client certificate, for logs.
func clientName(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return r.TLS.PeerCertificates[0].Subject.CommonName
}
