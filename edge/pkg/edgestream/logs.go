package edgestream

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/logs"
)

// logRequest is a containerLogs query, decoded.
type logRequest struct {
	previous bool
	opts     logs.Options
}

// parseLogQuery decodes q as the kubelet decodes corev1.PodLogOptions
// (follow, previous, timestamps, tailLines or the older tail, limitBytes,
// sinceSeconds, sinceTime, stream) and validates it as the API server
// does. now is when sinceSeconds counts back from. Errors wrap
// ErrBadRequest and name the parameter.
func parseLogQuery(q url.Values, now time.Time) (logRequest, error) {
	var r logRequest
	r.opts.Follow = queryBool(q, "follow")
	r.previous = queryBool(q, "previous")
	r.opts.Timestamps = queryBool(q, "timestamps")
	tailParam := "tailLines"
	if tail := q.Get("tail"); tail != "" {
		tailParam = "tail"
		if tail == "all" {
			tailParam = ""
		}
	}
	var err error
	if tailParam != "" {
		if r.opts.TailLines, err = queryInt(q, tailParam, 0); err != nil {
			return logRequest{}, err
		}
	}
	if r.opts.LimitBytes, err = queryInt(q, "limitBytes", 1); err != nil {
		return logRequest{}, err
	}
	since, err := queryInt(q, "sinceSeconds", 1)
	if err != nil {
		return logRequest{}, err
	}
	if since != nil {
		r.opts.Since = now.Add(-time.Duration(*since) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if since != nil {
			return logRequest{}, Errorf(ErrBadRequest, "at most one of query parameters sinceSeconds and sinceTime may be given")
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return logRequest{}, Errorf(ErrBadRequest, "invalid value %q for query parameter sinceTime: want an RFC 3339 time", v)
		}
		r.opts.Since = t
	}
	if s := q.Get("stream"); s != "" && s != string(corev1.LogStreamAll) {
		return logRequest{}, Errorf(ErrBadRequest, "invalid value %q for query parameter stream: only %q is served", s, corev1.LogStreamAll)
	}
	return r, nil
}

// queryBool decodes a flag as the API's parameter codec does: absent,
// "false" and "0" are false, anything else (even empty) is true.
func queryBool(q url.Values, name string) bool {
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return false
	}
	return v[0] != "0" && !strings.EqualFold(v[0], "false")
}

// queryInt decodes an optional integer of at least min.
func queryInt(q url.Values, name string, min int64) (*int64, error) {
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return nil, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return nil, Errorf(ErrBadRequest, "invalid value %q for query parameter %s: want an integer", v[0], name)
	}
	if n < min {
		return nil, Errorf(ErrBadRequest, "invalid value %d for query parameter %s: must be at least %d", n, name, min)
	}
	return &n, nil
}

// containerLogs serves GET /containerLogs/{ns}/{pod}/{container}: the
// header goes out at once (so that `logs -f` gets its answer before the
// first line), then the log as it is read.
func (h *handler) containerLogs(w http.ResponseWriter, req *http.Request, log *slog.Logger, ref ContainerRef) {
	ctx := req.Context()
	lr, err := parseLogQuery(req.URL.Query(), h.now())
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	ctr, err := h.rt.Container(ctx, ref, lr.previous)
	if err != nil {
		h.failErr(w, log, err)
		return
	}
	if _, err := os.Stat(ctr.LogPath); errors.Is(err, fs.ErrNotExist) {
		h.fail(w, log, http.StatusNotFound, "no log file for container \""+ref.Container+"\" in pod \""+ref.Pod+"\"")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		log.Debug("flush the logs header", "err", err)
	}
	// w is an http.Flusher: the reader flushes after each batch.
	running := func() bool { return h.rt.Running(ctx, ctr.ID) }
	if err := h.readLogs(ctx, ctr.LogPath, lr.opts, w, running); err != nil && ctx.Err() == nil {
		log.Info("reading container log failed", "container", ctr.ID, "err", err)
	}
}
