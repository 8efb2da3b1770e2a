package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tether-edge/tether/edge/pkg/edged/pleg"
	"github.com/tether-edge/tether/tests/testenv"
)

// TestPLEG runs PLEG over the real runtime both ways: containerd 2.4
// streams container events (evented mode, a slow safety-net relist),
// Debian's 1.6 does not (relisting every second). Either way a container
// that starts and one that is stopped come out as lifecycle events, and
// the cache holds the inspected state.
func TestPLEG(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version string
		mode    pleg.Mode
	}{{testenv.Containerd24, pleg.ModeEvented}, {testenv.Containerd16, pleg.ModeRelisting}} {
		t.Run(c.version, func(t *testing.T) {
			t.Parallel()
			ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{Version: c.version})
			client := dialCRI(t, ctd)
			p, err := pleg.New(pleg.Options{Runtime: client, Logger: criLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("PLEG.Run: %v", err)
				}
			})
			if c.mode == pleg.ModeEvented {
				testenv.WaitFor(t, criEventsWithin, "PLEG in evented mode", func() error {
					if m := p.Stats().Mode; m != pleg.ModeEvented {
						return fmt.Errorf("mode %s", m)
					}
					return nil
				})
			}

			pod := runCRIPod(t, client)
			waitPLEGEvent(t, p, pleg.ContainerStarted, pod.ctrID)
			cached, _, ok := p.Cache().Get(pod.uid)
			if !ok || len(cached.Containers) != 1 || !cached.Containers[0].Inspected || cached.Containers[0].StartedAt.IsZero() {
				t.Fatalf("cache after the start: %+v (ok %v); want the inspected running container", cached, ok)
			}
			if err := client.StopContainer(t.Context(), pod.ctrID, 0); err != nil {
				t.Fatal(err)
			}
			waitPLEGEvent(t, p, pleg.ContainerDied, pod.ctrID)
			cached, _, _ = p.Cache().Get(pod.uid)
			if c := cached.Containers[0]; c.FinishedAt.IsZero() || c.ExitCode == 0 {
				t.Fatalf("cache after the stop: %+v; want a finish time and the kill's exit code", c)
			}
			if m := p.Stats().Mode; m != c.mode {
				t.Fatalf("mode %s; want %s", m, c.mode)
			}
			if ok, err := p.Healthy(); !ok {
				t.Fatalf("PLEG unhealthy: %v", err)
			}
		})
	}
}

// waitPLEGEvent reads p's events until one of typ for container id.
func waitPLEGEvent(t *testing.T, p *pleg.PLEG, typ pleg.EventType, id string) {
	t.Helper()
	deadline := time.After(criEventsWithin)
	for {
		select {
		case ev := <-p.Events():
			if ev.Type == typ && ev.ContainerID == id {
				return
			}
		case <-deadline:
			t.Fatalf("no %v event for container %s within %v", typ, id, criEventsWithin)
		}
	}
}
