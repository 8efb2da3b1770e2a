package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/health"
)

// Entry is a module and what the bus does when it fails.
type Entry struct {
	Module beehive.Module
	Policy beehive.Policy
	// Healthz, when set, is run on every /healthz request under the
	// module's name: an error makes the process unhealthy.
	Healthz func(ctx context.Context) error
}

// Process is one binary's set of modules and the settings around them.
type Process struct {
	// Name is the binary's name, for the log.
	Name string
	// Logger is required.
	Logger *slog.Logger
	Bus    config.Bus
	// Health.Address empty means no health endpoint.
	Health config.Health
	// Metrics is the registry handed to Modules and served on /metrics;
	// nil means a new NewRegistry(). Pass one to register collectors of
	// parts built before Run (edgecore's store).
	Metrics *prometheus.Registry
	// Modules builds the binary's modules; they get the bus to talk on and
	// the registry for their metrics (served on the health endpoint's
	// /metrics). Required.
	Modules func(bus *beehive.Bus, metrics prometheus.Registerer) ([]Entry, error)
}

// Run builds the bus, registers the health endpoint and the modules, and runs
// them until ctx ends. It returns nil after a clean stop: every module
// returned within the bus's shutdown timeout.
func (p Process) Run(ctx context.Context) error {
	if p.Logger == nil || p.Modules == nil {
		return errors.New("daemon: Logger and Modules are required")
	}
	bus, err := beehive.New(beehive.Options{
		Logger:          p.Logger,
		QueueSize:       p.Bus.QueueSize,
		ShutdownTimeout: p.Bus.ShutdownTimeout.Duration,
	})
	if err != nil {
		return fmt.Errorf("build bus: %w", err)
	}
	metrics := p.Metrics
	if metrics == nil {
		metrics = NewRegistry()
	}
	entries, err := p.Modules(bus, metrics)
	if err != nil {
		return fmt.Errorf("build modules: %w", err)
	}
	if p.Health.Address != "" {
		var checks []health.Check
		for _, e := range entries {
			if e.Healthz != nil {
				checks = append(checks, health.Check{Name: e.Module.Name(), Func: e.Healthz})
			}
		}
		h, err := health.New(health.Options{Address: p.Health.Address, Source: bus, Logger: p.Logger, Checks: checks, Metrics: metrics})
		if err != nil {
			return err
		}
		entries = append(entries, Entry{Module: h, Policy: beehive.Policy{OnError: beehive.Restart}})
	}
	for _, e := range entries {
		if err := bus.Register(e.Module, e.Policy); err != nil {
			return fmt.Errorf("register module %s: %w", e.Module.Name(), err)
		}
	}
	p.Logger.Info(p.Name+" starting", "modules", len(entries))
	if err := bus.Run(ctx); err != nil {
		return err
	}
	p.Logger.Info(p.Name + " stopped")
	return nil
}

// NewRegistry is a metrics registry holding the Go runtime's and the
// process's collectors (goroutines, GC, memory, CPU, open files), to which
// the modules add their own.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
