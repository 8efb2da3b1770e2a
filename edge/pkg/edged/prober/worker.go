package prober

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// worker runs one probe of one container instance until its context ends,
// a liveness or startup probe fails for good, or a startup probe succeeds.
type worker struct {
	m         *Manager
	uid       types.UID
	key       workerKey
	container *corev1.Container // a copy, for named ports
	probe     *corev1.Probe     // in container
	params
	start  time.Time // the container's start; the initial delay counts from it
	cancel context.CancelFunc
	log    *slog.Logger

	// Owned by the worker's goroutine: the current run of equal results.
	successes, failures int
}

// run probes first at start+initialDelay (at once if that passed), then
// every period.
func (w *worker) run(ctx context.Context) {
	first := time.NewTimer(time.Until(w.start.Add(w.initialDelay)))
	defer first.Stop()
	select {
	case <-ctx.Done():
		return
	case <-first.C:
	}
	tick := time.NewTicker(w.period)
	defer tick.Stop()
	for w.step(ctx) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// step runs the probe once and acts on the result; false means the
// worker is done.
func (w *worker) step(ctx context.Context) bool {
	podIP, ok := w.m.gate(w)
	if !ok {
		return ctx.Err() == nil
	}
	success, detail, err := w.m.run(ctx, w.probe, w.timeout, target{
		containerID: w.key.containerID,
		podIP:       podIP,
		container:   w.container,
	})
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		// Says nothing about the container (the kubelet drops it too).
		w.log.Debug("probe errored", "err", err)
		return true
	}
	if success {
		w.successes, w.failures = w.successes+1, 0
	} else {
		w.successes, w.failures = 0, w.failures+1
		w.log.Debug("probe failed", "failures", w.failures, "detail", detail)
	}
	switch w.key.kind {
	case Readiness:
		if w.successes >= w.success {
			w.report(true)
		} else if w.failures >= w.failure {
			w.report(false)
		}
		return true
	case Startup:
		if success {
			w.report(true)
			return false
		}
	}
	if w.failures < w.failure {
		return true
	}
	w.failed(detail)
	return false
}

// report records a readiness or startup result and tells the caller when
// it changed.
func (w *worker) report(v bool) {
	if w.m.setResult(w, v) {
		w.log.Info("probe result changed", "result", v)
		if w.m.onChange != nil {
			w.m.onChange(w.uid)
		}
	}
}

// failed tells the caller that a liveness or startup probe failed
// failureThreshold times in a row.
func (w *worker) failed(detail string) {
	if !w.m.current(w) {
		return
	}
	msg := w.key.kind.String() + " probe failed: " + detail
	w.log.Info("container failed its probe, to be killed", "detail", detail)
	if w.m.onLiveness != nil {
		w.m.onLiveness(w.uid, w.container.Name, w.key.containerID, msg)
	}
}
