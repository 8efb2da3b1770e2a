package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// When DeviceController has not synced, the gate warns after
// syncWarnAfter and then every syncWarnEvery; each warning first probes the
// devices API for at most syncProbeTimeout to say why.
const (
	syncWarnAfter    = 15 * time.Second
	syncWarnEvery    = time.Minute
	syncProbeTimeout = 10 * time.Second
)

// syncGate is the module that holds CloudHub's admission (Ready) until
// every controller has loaded its desired sets, and says so in the log
// while DeviceController has not: it never syncs without the Device and
// DeviceModel CRDs. Ready stays closed across restarts of Start.
type syncGate struct {
	ready chan struct{}
	// closeReady closes ready once.
	closeReady func()
	// waits are the controllers' Synced channels.
	waits []<-chan struct{}
	// devices is DeviceController's Synced; nil when it does not run.
	devices <-chan struct{}
	// probe lists Devices and DeviceModels: why devices have not synced.
	probe func(ctx context.Context) error
	log   *slog.Logger
}

func newSyncGate(log *slog.Logger, devices <-chan struct{}, probe func(context.Context) error, waits ...<-chan struct{}) *syncGate {
	ready := make(chan struct{})
	if devices != nil {
		waits = append(waits, devices)
	}
	return &syncGate{
		ready:      ready,
		closeReady: sync.OnceFunc(func() { close(ready) }),
		waits:      waits,
		devices:    devices,
		probe:      probe,
		log:        log.With("module", "syncgate"),
	}
}

// Name implements beehive.Module.
func (g *syncGate) Name() string { return "syncgate" }

// Group implements beehive.Module.
func (g *syncGate) Group() string { return "syncgate" }

// Ready is closed once every controller has synced.
func (g *syncGate) Ready() <-chan struct{} { return g.ready }

// Start closes Ready once every controller has synced, warning while
// DeviceController has not, and then stays until ctx ends (a module that
// returns early would show as not running on /readyz).
func (g *syncGate) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	if g.devices != nil {
		wg.Go(func() { g.warnUntilSynced(ctx) })
	}
	if waitAll(ctx, g.waits...) {
		g.closeReady()
		g.log.Info("every controller has synced; CloudHub admits nodes")
	}
	wg.Wait()
	<-ctx.Done()
	return nil
}

// waitAll reports whether every one of chans was closed before ctx ended.
func waitAll(ctx context.Context, chans ...<-chan struct{}) bool {
	for _, c := range chans {
		select {
		case <-c:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// warnUntilSynced warns after syncWarnAfter, then every syncWarnEvery,
// until DeviceController has synced or ctx ends.
func (g *syncGate) warnUntilSynced(ctx context.Context) {
	start := time.Now()
	timer := time.NewTimer(syncWarnAfter)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.devices:
			return
		case <-timer.C:
		}
		g.warn(ctx, time.Since(start).Round(time.Second))
		timer.Reset(syncWarnEvery)
	}
}

// warn says that no node is admitted, and why as far as a probe of the
// devices API tells.
func (g *syncGate) warn(ctx context.Context, waited time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, syncProbeTimeout)
	defer cancel()
	err := g.probe(pctx)
	switch {
	case ctx.Err() != nil: // stopping
	case apierrors.IsNotFound(err):
		g.log.Warn("no node is admitted: waiting for the Device and DeviceModel CRDs; install them with kubectl apply -f build/crds/ (or set deviceController.enable: false)",
			"waited", waited, "err", err)
	case err != nil:
		g.log.Warn("no node is admitted: DeviceController cannot list Devices and DeviceModels",
			"waited", waited, "err", err)
	default:
		g.log.Warn("no node is admitted: DeviceController has not finished listing Devices and DeviceModels",
			"waited", waited)
	}
}
