package edgestream

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// parseStreams decodes the stream flags of an exec or attach query (the
// API server's names: input, output, error, tty; "1" is true). As the
// kubelet does, a TTY carries no separate stderr: with tty, error is
// dropped. At least one stream is required.
func parseStreams(q url.Values) (Streams, error) {
	s := Streams{
		Stdin:  q.Get(corev1.ExecStdinParam) == "1",
		Stdout: q.Get(corev1.ExecStdoutParam) == "1",
		Stderr: q.Get(corev1.ExecStderrParam) == "1",
		TTY:    q.Get(corev1.ExecTTYParam) == "1",
	}
	if s.TTY {
		s.Stderr = false
	}
	if !s.Stdin && !s.Stdout && !s.Stderr {
		return Streams{}, Errorf(ErrBadRequest, "you must specify at least 1 of stdin, stdout, stderr (query parameters %s, %s, %s)",
			corev1.ExecStdinParam, corev1.ExecStdoutParam, corev1.ExecStderrParam)
	}
	return s, nil
}

// parsePorts decodes the port query values (each a comma-separated list);
// there may be none: with SPDY the client names ports per stream.
func parsePorts(q url.Values) ([]int32, error) {
	var ports []int32
	for _, v := range q[corev1.PortHeader] {
		for p := range strings.SplitSeq(v, ",") {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil || n == 0 {
				return nil, Errorf(ErrBadRequest, "invalid value %q for query parameter %s: want ports from 1 to 65535", v, corev1.PortHeader)
			}
			ports = append(ports, int32(n))
		}
	}
	return ports, nil
}

// isUpgrade reports whether req asks to switch protocols (SPDY or
// WebSocket), as every exec, attach and port-forward request must.
func isUpgrade(req *http.Request) bool {
	for _, v := range req.Header.Values("Connection") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// exec serves /exec/{ns}/{pod}[/{uid}]/{container}?command=...
func (h *handler) exec(w http.ResponseWriter, req *http.Request, log *slog.Logger, ref ContainerRef) {
	q := req.URL.Query()
	streams, err := parseStreams(q)
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	cmd := q[corev1.ExecCommandParam]
	if len(cmd) == 0 {
		h.fail(w, log, http.StatusBadRequest, "query parameter "+corev1.ExecCommandParam+" is required")
		return
	}
	id, ok := h.runningContainer(w, req, log, ref)
	if !ok {
		return
	}
	target, err := h.rt.Exec(req.Context(), id, cmd, streams)
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	h.proxy(w, req, log, target)
}

// attach serves /attach/{ns}/{pod}[/{uid}]/{container}.
func (h *handler) attach(w http.ResponseWriter, req *http.Request, log *slog.Logger, ref ContainerRef) {
	streams, err := parseStreams(req.URL.Query())
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	id, ok := h.runningContainer(w, req, log, ref)
	if !ok {
		return
	}
	target, err := h.rt.Attach(req.Context(), id, streams)
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	h.proxy(w, req, log, target)
}

// runningContainer checks that req is an upgrade and resolves the running
// container it names; when not ok it has answered.
func (h *handler) runningContainer(w http.ResponseWriter, req *http.Request, log *slog.Logger, ref ContainerRef) (string, bool) {
	if !isUpgrade(req) {
		h.fail(w, log, http.StatusBadRequest, "Upgrade request required")
		return "", false
	}
	ctr, err := h.rt.Container(req.Context(), ref, false)
	if err != nil {
		h.failErr(w, log, err)
		return "", false
	}
	if !h.rt.Running(req.Context(), ctr.ID) {
		h.fail(w, log, http.StatusBadRequest, "container \""+ref.Container+"\" in pod \""+ref.Pod+"\" is not running")
		return "", false
	}
	return ctr.ID, true
}

// portForward serves /portForward/{ns}/{pod}[/{uid}].
func (h *handler) portForward(w http.ResponseWriter, req *http.Request, log *slog.Logger, ref PodRef) {
	ports, err := parsePorts(req.URL.Query())
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	if !isUpgrade(req) {
		h.fail(w, log, http.StatusBadRequest, "Upgrade request required")
		return
	}
	target, err := h.rt.PortForward(req.Context(), ref, ports)
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	h.proxy(w, req, log, target)
}

// proxy hands req, with its upgrade, to the runtime's streaming server at
// target and copies both ways until either side closes, as the kubelet's
// proxyStream does.
func (h *handler) proxy(w http.ResponseWriter, req *http.Request, log *slog.Logger, target *url.URL) {
	log.Debug("proxying to the runtime's streaming server", "target", target.Redacted())
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = &url.URL{
				Scheme: target.Scheme, Host: target.Host,
				Path: target.Path, RawPath: target.RawPath, RawQuery: target.RawQuery,
			}
			pr.Out.Host = ""
		},
		Transport:     h.transport,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			h.fail(w, log, http.StatusBadGateway, "proxy to the container runtime's streaming server: "+err.Error())
		},
	}
	rp.ServeHTTP(w, req)
}
