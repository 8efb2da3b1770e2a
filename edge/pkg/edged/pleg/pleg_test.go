package pleg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// start runs a PLEG over f inside the current synctest bubble and returns
// it with a stop function that cancels Run and checks it returned nil.
func start(t *testing.T, f *fakeRuntime, opts Options) (*PLEG, func()) {
	t.Helper()
	opts.Runtime = f
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	}
	t.Cleanup(cancel)
	return p, stop
}

// drain returns the events waiting on the channel.
func drain(p *PLEG) []Event {
	var got []Event
	for {
		select {
		case e := <-p.Events():
			got = append(got, e)
		default:
			return got
		}
	}
}

func eventStrings(events []Event) []string {
	var s []string
	for _, e := range events {
		s = append(s, e.String())
	}
	return s
}

func wantEvents(t *testing.T, p *PLEG, want ...string) {
	t.Helper()
	if got := eventStrings(drain(p)); !slices.Equal(got, want) {
		t.Errorf("events at %v:\n got %q\nwant %q", time.Now().Format("04:05.000"), got, want)
	}
}

func unsupported() *fakeRuntime {
	f := newFake()
	f.eventsErr = fmt.Errorf("wrapped: %w", cri.ErrEventsUnsupported)
	return f
}

func TestRelistModeEmitsEachSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := unsupported()
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", running}))
		p, stop := start(t, f, Options{})
		defer stop()

		synctest.Wait()
		wantEvents(t, p, "a SandboxChanged s1", "a ContainerStarted c1")

		f.set(pod("a", sb{"s1", ready}, ctr{"c1", exited}))
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		wantEvents(t, p) // not yet a second
		time.Sleep(time.Millisecond)
		synctest.Wait()
		wantEvents(t, p, "a ContainerDied c1")

		f.set(pod("a", sb{"s1", notRdy}, ctr{"c2", running}))
		time.Sleep(time.Second)
		synctest.Wait()
		wantEvents(t, p, "a SandboxChanged s1", "a ContainerRemoved c1", "a ContainerStarted c2")

		f.set()
		time.Sleep(time.Second)
		synctest.Wait()
		wantEvents(t, p, "a SandboxChanged s1", "a ContainerDied c2", "a ContainerRemoved c2", "a PodRemoved")

		time.Sleep(time.Second)
		synctest.Wait()
		wantEvents(t, p)
		if n := f.listCount(); n != 5 {
			t.Errorf("List called %d times in 4s, want 5", n)
		}
		s := p.Stats()
		if s.Mode != ModeRelisting || s.Relists != 5 || s.Events[ContainerStarted] != 2 || s.Events[PodRemoved] != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestUnsupportedEventsRelistsFromStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := unsupported()
		p, stop := start(t, f, Options{})
		defer stop()
		time.Sleep(10*time.Minute + time.Millisecond)
		synctest.Wait()
		f.with(func(f *fakeRuntime) {
			if f.eventCalls != 1 {
				t.Errorf("Events called %d times, want once", f.eventCalls)
			}
		})
		if n := f.listCount(); n != 601 {
			t.Errorf("List called %d times in 10m, want 601", n)
		}
		if m := p.Stats().Mode; m != ModeRelisting {
			t.Errorf("mode %v", m)
		}
	})
}

func TestEventedModeRelistsOnEventsAndSlowly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(pod("a", sb{"s1", ready}))
		p, stop := start(t, f, Options{})
		defer stop()
		synctest.Wait()
		if m := p.Stats().Mode; m != ModeEvented {
			t.Fatalf("mode %v, want evented", m)
		}
		wantEvents(t, p, "a SandboxChanged s1")
		base := f.listCount()

		// An event relists at once, without time passing.
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", running}))
		f.send(cri.ContainerEvent{ContainerID: "c1", Type: cri.EventStarted})
		synctest.Wait()
		wantEvents(t, p, "a ContainerStarted c1")
		if n := f.listCount(); n != base+1 {
			t.Errorf("List called %d times after one event, want %d", n, base+1)
		}

		// Without events, only the 30s safety net sees a change.
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", exited}))
		time.Sleep(29 * time.Second)
		synctest.Wait()
		wantEvents(t, p)
		time.Sleep(time.Second)
		synctest.Wait()
		wantEvents(t, p, "a ContainerDied c1")
		if n := f.listCount(); n != base+2 {
			t.Errorf("List called %d times, want %d", n, base+2)
		}
	})
}

func TestEventBurstCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		_, stop := start(t, f, Options{})
		defer stop()
		synctest.Wait()
		base := f.listCount()

		gate := make(chan struct{})
		f.with(func(f *fakeRuntime) { f.gate = gate })
		f.send(cri.ContainerEvent{ContainerID: "c1"})
		synctest.Wait() // one relist in flight, blocked in List
		for i := range 20 {
			f.send(cri.ContainerEvent{ContainerID: fmt.Sprint("c", i)})
		}
		synctest.Wait()
		f.with(func(f *fakeRuntime) { f.gate = nil })
		close(gate)
		synctest.Wait()
		if n := f.listCount(); n != base+2 {
			t.Errorf("List called %d times for 21 events during one relist, want %d (one in flight, one pending)", n-base, 2)
		}
	})
}

func TestBrokenStreamFallsBackToRelisting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		p, stop := start(t, f, Options{})
		defer stop()
		synctest.Wait()
		if m := p.Stats().Mode; m != ModeEvented {
			t.Fatalf("mode %v, want evented", m)
		}

		// The stream breaks and cannot be reopened for a while.
		f.with(func(f *fakeRuntime) { f.eventsErr = errors.New("connection refused") })
		before := f.listCount()
		f.breakStream()
		synctest.Wait()
		if m := p.Stats().Mode; m != ModeRelisting {
			t.Fatalf("mode %v after the stream broke, want relisting", m)
		}
		if n := f.listCount(); n != before+1 {
			t.Errorf("no relist right after the stream broke (%d lists)", n-before)
		}
		f.set(pod("a", ctr{"c1", running}))
		time.Sleep(time.Second)
		synctest.Wait()
		wantEvents(t, p, "a ContainerStarted c1")
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if n := f.listCount(); n != before+6 {
			t.Errorf("%d lists in 5s of relisting, want 6", n-before)
		}

		// Retries back off 1s, 2s, 4s, ...; once the runtime accepts, the
		// stream is back and relisting slows down.
		f.with(func(f *fakeRuntime) { f.eventsErr = nil })
		for i := 0; p.Stats().Mode != ModeEvented; i++ {
			if i == 60 {
				t.Fatal("stream not reopened within a minute")
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		s := p.Stats()
		if s.StreamOpens != 2 || s.StreamBreaks != 1 {
			t.Errorf("stream opens %d breaks %d, want 2 and 1", s.StreamOpens, s.StreamBreaks)
		}
		before = f.listCount()
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if n := f.listCount(); n != before {
			t.Errorf("%d relists in evented mode without events, want 0", n-before)
		}
	})
}

func TestHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := unsupported()
		p, err := New(Options{Runtime: f})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := p.Healthy(); ok || err == nil {
			t.Errorf("healthy before any relist: %v %v", ok, err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		synctest.Wait()
		if ok, err := p.Healthy(); !ok {
			t.Errorf("unhealthy after a relist: %v", err)
		}

		f.with(func(f *fakeRuntime) { f.listErr = errors.New("runtime down") })
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if ok, err := p.Healthy(); !ok {
			t.Errorf("unhealthy at exactly 3m: %v", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		ok, err := p.Healthy()
		if ok || err == nil || !strings.Contains(err.Error(), "3m1s ago") {
			t.Errorf("Healthy after 3m1s of failing lists = %v, %v; want false saying 3m1s", ok, err)
		}
		if s := p.Stats(); s.ListErrors != 181 || s.Relists != 1 {
			t.Errorf("list errors %d relists %d, want 181 and 1", s.ListErrors, s.Relists)
		}

		f.with(func(f *fakeRuntime) { f.listErr = nil })
		time.Sleep(time.Second)
		synctest.Wait()
		if ok, err := p.Healthy(); !ok {
			t.Errorf("still unhealthy after a successful relist: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func TestCacheWaitNewerReturnsAfterNextRelist(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := unsupported()
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", created}))
		p, stop := start(t, f, Options{})
		defer stop()
		synctest.Wait()

		got, fresh, ok := p.Cache().Get("a")
		if !ok || !got.Containers[0].Inspected || got.Containers[0].State != created {
			t.Fatalf("cache after first relist: %+v %v", got, ok)
		}
		// A worker starts the container and waits for state newer than that.
		acted := time.Now()
		if !fresh.Equal(acted) {
			t.Errorf("fresh %v, want %v", fresh, acted)
		}
		time.Sleep(100 * time.Millisecond)
		acted = time.Now()
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", running}))

		type result struct {
			pod   *runstate.Pod
			fresh time.Time
		}
		res := make(chan result, 1)
		go func() {
			pod, fresh, _, err := p.Cache().WaitNewer(t.Context(), "a", acted)
			if err != nil {
				t.Error(err)
			}
			res <- result{pod, fresh}
		}()
		synctest.Wait()
		select {
		case r := <-res:
			t.Fatalf("WaitNewer returned before the next relist: %+v", r)
		default:
		}
		time.Sleep(900 * time.Millisecond)
		synctest.Wait()
		r := <-res
		if !r.fresh.After(acted) || r.pod.Containers[0].State != running {
			t.Errorf("WaitNewer gave %v fresh at %v, want running fresh after %v", r.pod.Containers[0].State, r.fresh, acted)
		}

		// An unchanged pod is still current as of every relist.
		acted = time.Now()
		time.Sleep(time.Second)
		synctest.Wait()
		if _, fresh, _ := p.Cache().Get("a"); !fresh.After(acted) {
			t.Errorf("unchanged pod fresh at %v, want after %v", fresh, acted)
		}

		// A pod the runtime does not hold is known absent as of each relist.
		_, fresh, ok = p.Cache().Get("nope")
		if ok || !fresh.Equal(time.Now()) {
			t.Errorf("absent pod: ok %v fresh %v", ok, fresh)
		}
	})
}

func TestOverflowIsCountedAndNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := unsupported()
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", running}, ctr{"c2", running}, ctr{"c3", running}))
		p, stop := start(t, f, Options{EventBuffer: 2})
		defer stop()
		synctest.Wait()
		// Nobody reads; the relists go on.
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", exited}, ctr{"c2", exited}, ctr{"c3", exited}))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		s := p.Stats()
		if s.Relists != 6 || s.Dropped != 5 || s.Events[SandboxChanged] != 1 || s.Events[ContainerStarted] != 1 {
			t.Errorf("relists %d dropped %d events %v; want 6, 5, first two delivered", s.Relists, s.Dropped, s.Events)
		}
		wantEvents(t, p, "a SandboxChanged s1", "a ContainerStarted c1")
		// The cache is right even though events were dropped.
		if got, _, _ := p.Cache().Get("a"); got.Containers[2].State != exited {
			t.Errorf("cache: %+v", got)
		}
	})
}

func TestInspectOnlyChangedPodsAndRetryFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := unsupported()
		f.set(pod("a", ctr{"c1", running}), pod("b", ctr{"c2", running}))
		p, stop := start(t, f, Options{})
		defer stop()
		synctest.Wait()
		drain(p)
		f.with(func(f *fakeRuntime) { f.inspected = nil })

		// Only b changes, and its inspection fails: no events for it, its
		// cache entry stays old and is not covered by later relists.
		f.set(pod("a", ctr{"c1", running}), pod("b", ctr{"c2", exited}))
		f.with(func(f *fakeRuntime) { f.inspectErr["b"] = errors.New("status: deadline exceeded") })
		time.Sleep(time.Second)
		synctest.Wait()
		wantEvents(t, p)
		before := time.Now()
		bpod, bfresh, _ := p.Cache().Get("b")
		if bpod.Containers[0].State != running || !bfresh.Before(before) {
			t.Errorf("b after failed inspection: %v fresh %v", bpod.Containers[0].State, bfresh)
		}
		f.with(func(f *fakeRuntime) {
			if !slices.Equal(f.inspected, []types.UID{"b"}) {
				t.Errorf("inspected %v, want only b", f.inspected)
			}
			f.inspected = nil
			delete(f.inspectErr, "b")
		})

		// Next relist: inspection works, the events come now.
		time.Sleep(time.Second)
		synctest.Wait()
		wantEvents(t, p, "b ContainerDied c2")
		if bpod, bfresh, _ = p.Cache().Get("b"); bpod.Containers[0].State != exited || !bfresh.After(before) {
			t.Errorf("b after retry: %v fresh %v", bpod.Containers[0].State, bfresh)
		}
		if s := p.Stats(); s.InspectErrors != 1 {
			t.Errorf("inspect errors %d", s.InspectErrors)
		}
	})
}

// slowRuntime makes List take a fixed (virtual) time.
type slowRuntime struct {
	*fakeRuntime
	took time.Duration
}

func (s slowRuntime) List(ctx context.Context) (*runstate.Snapshot, error) {
	time.Sleep(s.took)
	return s.fakeRuntime.List(ctx)
}

func TestRelistDurationHistogram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(Options{Runtime: slowRuntime{unsupported(), 7 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		p.relist(t.Context())
		p.relist(t.Context())
		s := p.Stats()
		if s.LastRelistDuration != 7*time.Millisecond || s.RelistDuration.Counts[2] != 2 || s.RelistDuration.Sum != 14*time.Millisecond {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestHistogramBuckets(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{0, time.Millisecond, time.Millisecond + 1, 2500 * time.Millisecond, 3 * time.Second} {
		h.observe(d)
	}
	want := [len(RelistBuckets) + 1]uint64{0: 2, 1: 1, 9: 1, 10: 1}
	if h.Counts != want {
		t.Errorf("counts %v, want %v", h.Counts, want)
	}
}

func TestNewValidatesAndRunOnce(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a Runtime succeeded")
	}
	if _, err := New(Options{Runtime: newFake(), RelistPeriod: -1}); err == nil {
		t.Error("New with a negative period succeeded")
	}
	synctest.Test(t, func(t *testing.T) {
		p, stop := start(t, unsupported(), Options{})
		synctest.Wait()
		if err := p.Run(t.Context()); err == nil {
			t.Error("second Run succeeded")
		}
		stop()
	})
}
