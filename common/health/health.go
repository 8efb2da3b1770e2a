// Package health serves a binary's health endpoints as a beehive module:
//
//	GET /healthz  200 "ok" while the process serves requests and every Check passes
//	GET /readyz   200 "ok" when every module on the bus is running, else 503 naming those that are not
//	GET /status   JSON: each module's name, group, running, restart count and last error
//	GET /metrics  Prometheus text format, when Options.Metrics is set
//
// The listener is bound by New, so a port already in use is reported before
// any module starts. Start serves until its context ends, then shuts the
// server down gracefully. The endpoints are for operators and probes on the
// host; bind them to loopback (the defaults do).
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/httpserver"
)

// StatusSource reports the modules of a bus; *beehive.Bus implements it.
type StatusSource interface {
	Status() []beehive.ModuleStatus
}

// Check is a named liveness check run on every /healthz request.
type Check struct {
	Name string
	// Func returns nil when healthy; it must return promptly.
	Func func(ctx context.Context) error
}

// Options configure a Server.
type Options struct {
	// Address is host:port to listen on. Required.
	Address string
	// Source reports module status for /readyz and /status. Required.
	Source StatusSource
	// Logger is required.
	Logger *slog.Logger
	// Checks run on /healthz, in order. Optional.
	Checks []Check
	// Metrics, when set, is served on /metrics.
	Metrics prometheus.Gatherer
}

// Server is the health endpoint module.
type Server struct {
	opts    Options
	handler http.Handler

	ln *httpserver.Listener
}

// New validates opts and binds the listener.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Address == "":
		return nil, errors.New("health: Address is required")
	case opts.Source == nil:
		return nil, errors.New("health: Source is required")
	case opts.Logger == nil:
		return nil, errors.New("health: Logger is required")
	}
	ln, err := httpserver.Listen(opts.Address)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	s := &Server{opts: opts, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /status", s.status)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	s.handler = mux
	return s, nil
}

// Name implements beehive.Module.
func (s *Server) Name() string { return "health" }

// Group implements beehive.Module.
func (s *Server) Group() string { return "health" }

// Addr is the address the server listens on (useful with port 0); nil
// between a Start that has returned and the next.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	s.opts.Logger.Info("health endpoint serving", "address", s.opts.Address)
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
	if err := s.ln.Serve(ctx, srv, 2*time.Second); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	var failed []string
	for _, c := range s.opts.Checks {
		if err := c.Func(r.Context()); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", c.Name, err))
		}
	}
	if len(failed) > 0 {
		http.Error(w, strings.Join(failed, "\n"), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	var down []string
	for _, m := range s.opts.Source.Status() {
		if !m.Running {
			down = append(down, m.Name)
		}
	}
	if len(down) > 0 {
		sort.Strings(down)
		http.Error(w, "modules not running: "+strings.Join(down, ", "), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.opts.Source.Status()); err != nil {
		s.opts.Logger.Debug("write /status", "err", err)
	}
}
