package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/beehive/beehivetest"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
)

// The real bus is a Bus.
var _ Bus = (*beehive.Bus)(nil)

// fakeBus is the recorder's queue and a cloud that answers its requests.
type fakeBus struct{ *beehivetest.Bus }

func newFakeBus() fakeBus { return fakeBus{beehivetest.New()} }

// sent returns the events requested so far.
func (b fakeBus) sent(t *testing.T) []corev1.Event {
	t.Helper()
	var out []corev1.Event
	for _, m := range b.Requests() {
		var ev corev1.Event
		if err := json.Unmarshal(m.Content, &ev); err != nil {
			t.Fatalf("request content: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

func (b fakeBus) hub(op message.Operation) {
	b.Deliver(message.New(edgehub.Name, Name, op, message.Resource{}, nil))
}

func (b fakeBus) event(t *testing.T, ev corev1.Event) {
	t.Helper()
	m, err := NewMessage("edged", Name, ev)
	if err != nil {
		t.Fatal(err)
	}
	b.Deliver(m)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startRecorder runs a recorder on bus in the bubble; the returned stop
// cancels it and checks that Start returned nil.
func startRecorder(t *testing.T, bus fakeBus, buffer int) (*Recorder, func()) {
	t.Helper()
	r, err := New(Options{Bus: bus, Logger: testLogger(t), NodeName: "edge-1", Hub: edgehub.Name, QPS: 5, Burst: 10, Buffer: buffer})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	return r, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	good := Options{Bus: newFakeBus(), Logger: slog.New(slog.DiscardHandler), NodeName: "n", Hub: "edgehub", QPS: 1, Burst: 1, Buffer: 1}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Options){
		"no bus":    func(o *Options) { o.Bus = nil },
		"no logger": func(o *Options) { o.Logger = nil },
		"no node":   func(o *Options) { o.NodeName = "" },
		"no hub":    func(o *Options) { o.Hub = "" },
		"qps":       func(o *Options) { o.QPS = 0 },
		"burst":     func(o *Options) { o.Burst = 0 },
		"buffer":    func(o *Options) { o.Buffer = -1 },
	}
	for what, change := range bad {
		o := good
		change(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

// Events wait while offline and go up, in order and well formed, on connect.
func TestSendsWhileConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		r, stop := startRecorder(t, bus, 16)
		defer stop()
		bus.event(t, podEvent("web", "Pulled", "pulled"))
		bus.event(t, nodeEvent("edge-1", "NodeReady"))
		synctest.Wait()
		if n := len(bus.sent(t)); n != 0 {
			t.Fatalf("%d events sent while offline", n)
		}
		bus.hub(edgehub.OpCloudConnected)
		synctest.Wait()

		reqs := bus.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		for i, want := range []string{"apps/event/", "default/event/edge-1."} {
			m := reqs[i]
			if m.Route.Destination != edgehub.Name || m.Route.Group != kubemsg.Group || m.Route.Operation != message.OpInsert {
				t.Errorf("request %d route %+v", i, m.Route)
			}
			if got := m.Route.Resource.String(); len(got) <= len(want) || got[:len(want)] != want {
				t.Errorf("request %d resource %q, want %s...", i, got, want)
			}
		}
		evs := bus.sent(t)
		if evs[0].APIVersion != "v1" || evs[0].Kind != "Event" || evs[0].Count != 1 || evs[0].Source.Host != "edge-1" {
			t.Errorf("event %+v", evs[0])
		}
		if reqs[0].Route.Resource.Name != evs[0].Name || evs[1].Namespace != "default" {
			t.Errorf("resource %v for event %s/%s", reqs[0].Route.Resource, evs[0].Namespace, evs[0].Name)
		}
		if s := r.Stats(); s.Sent != 2 || s.Waiting != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// forbidden drops the event; any other error retries it with back-off.
func TestSenderOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		failures := 2
		bus.SetAnswer(func(ctx context.Context, req message.Message) (message.Message, error) {
			var ev corev1.Event
			_ = json.Unmarshal(req.Content, &ev)
			switch {
			case ev.InvolvedObject.Name == "other-node":
				return beehivetest.Refuse("forbidden: node edge-1 may not write events of other-node")(ctx, req)
			case failures > 0:
				failures--
				return beehivetest.Refuse("apiserver unavailable")(ctx, req)
			}
			return beehivetest.Accept(ctx, req)
		})
		r, stop := startRecorder(t, bus, 16)
		defer stop()
		bus.hub(edgehub.OpCloudConnected)
		bus.event(t, nodeEvent("other-node", "NodeReady"))
		bus.event(t, podEvent("web", "Started", "started"))
		synctest.Wait()
		if s := r.Stats(); s.Rejected != 1 || s.Sent != 0 || s.Waiting != 1 {
			t.Fatalf("before the back-off: %+v", s)
		}
		time.Sleep(retryInitial + 2*retryInitial) // both back-off waits, at most
		synctest.Wait()
		if s := r.Stats(); s.Rejected != 1 || s.Sent != 1 || s.Waiting != 0 {
			t.Fatalf("after the back-off: %+v", s)
		}
		if n := len(bus.sent(t)); n != 4 {
			t.Fatalf("%d requests, want 4 (one refused, two failed, one sent)", n)
		}
	})
}

// A hung request never blocks the receive loop, and a disconnect cancels it
// and keeps the event for the next connection.
func TestDisconnectKeepsEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		var cancelled atomic.Int32
		bus.SetAnswer(func(ctx context.Context, req message.Message) (message.Message, error) {
			defer cancelled.Add(1)
			return beehivetest.Hang(ctx, req)
		})
		r, stop := startRecorder(t, bus, 16)
		defer stop()
		bus.hub(edgehub.OpCloudConnected)
		bus.event(t, podEvent("web", "Started", "started"))
		synctest.Wait() // the request hangs
		bus.event(t, podEvent("db", "Started", "started"))
		bus.event(t, podEvent("db", "Started", "started"))
		synctest.Wait()
		if s := r.Stats(); s.Waiting != 2 || s.Aggregated != 1 {
			t.Fatalf("with a request hanging: %+v", s)
		}
		bus.hub(edgehub.OpCloudDisconnected)
		synctest.Wait()
		if s := r.Stats(); s.Waiting != 2 || s.Sent != 0 || s.Failed != 0 {
			t.Fatalf("after the disconnect: %+v", s)
		}
		if n := cancelled.Load(); n != 1 {
			t.Fatalf("%d requests cancelled by the disconnect, want 1", n)
		}

		bus.SetAnswer(beehivetest.Accept)
		bus.hub(edgehub.OpCloudConnected)
		synctest.Wait()
		evs := bus.sent(t)
		if s := r.Stats(); s.Waiting != 0 || s.Sent != 2 || len(evs) != 3 {
			t.Fatalf("after reconnecting: %+v, %d requests", s, len(evs))
		}
		if last := evs[2]; last.InvolvedObject.Name != "db" || last.Count != 2 {
			t.Fatalf("last sent %s count %d, want db count 2", last.InvolvedObject.Name, last.Count)
		}
	})
}

// If the hub's OpCloudConnected was lost, OpCloudSynced starts the sender;
// while one runs, OpCloudSynced leaves it be.
func TestSyncedStartsSenderWhenConnectWasLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		bus.SetAnswer(beehivetest.Hang)
		_, stop := startRecorder(t, bus, 16)
		defer stop()
		bus.event(t, podEvent("web", "Started", "started"))
		bus.hub(edgehub.OpCloudSynced)
		synctest.Wait()
		if n := len(bus.sent(t)); n != 1 {
			t.Fatalf("%d requests after OpCloudSynced alone, want 1", n)
		}
		bus.hub(edgehub.OpCloudSynced)
		synctest.Wait()
		if n := len(bus.sent(t)); n != 1 {
			t.Fatalf("%d requests: a second OpCloudSynced restarted the sender", n)
		}
		bus.hub(edgehub.OpCloudConnected)
		synctest.Wait()
		if n := len(bus.sent(t)); n != 2 {
			t.Fatalf("%d requests: OpCloudConnected did not restart the sender", n)
		}
	})
}

func TestSyncMessagesAreAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		_, stop := startRecorder(t, bus, 16)
		defer stop()
		good, _ := NewMessage("edged", Name, podEvent("web", "Started", "started"))
		good.Header.Sync = true
		bad := message.New("edged", Name, message.OpInsert, message.Resource{Type: kubemsg.TypeEvent}, []byte(`{"reason":"x"}`))
		bad.Header.Sync = true
		bus.Deliver(good)
		bus.Deliver(bad)
		synctest.Wait()
		if resps := bus.Responses(); len(resps) != 2 ||
			resps[0].Route.Operation != message.OpResponse || resps[0].Header.ParentID != good.Header.ID ||
			resps[1].Route.Operation != message.OpError || resps[1].Header.ParentID != bad.Header.ID {
			t.Fatalf("responses %+v", resps)
		}
	})
}

// Over random connects, disconnects, failures and hung requests, every event
// reaches the cloud with its full count once the cloud stays up.
func TestConvergesOverRandomConnections(t *testing.T) {
	for seed := range uint64(25) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { converge(t, seed) })
		})
	}
}

func converge(t *testing.T, seed uint64) {
	ops := rand.New(rand.NewPCG(seed, 1))
	answers := rand.New(rand.NewPCG(seed, 2)) // used by one sender at a time
	bus := newFakeBus()
	failuresLeft := maxAttempts - 1 // no event can be dropped for failing
	bus.SetAnswer(func(ctx context.Context, req message.Message) (message.Message, error) {
		switch n := answers.IntN(10); {
		case n == 0 && failuresLeft > 0:
			failuresLeft--
			return beehivetest.Refuse("apiserver unavailable")(ctx, req)
		case n == 1:
			return beehivetest.Hang(ctx, req) // until the disconnect
		case n < 5:
			select { // slow: repeats come in meanwhile
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
				return message.Message{}, ctx.Err()
			}
		}
		return beehivetest.Accept(ctx, req)
	})
	r, err := New(Options{Bus: bus, Logger: slog.New(slog.DiscardHandler), NodeName: "edge-1", Hub: edgehub.Name, QPS: 1000, Burst: 1000, Buffer: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()

	recorded := map[string]int32{}
	for range 60 {
		switch n := ops.IntN(10); {
		case n == 0:
			bus.hub(edgehub.OpCloudConnected)
		case n == 1:
			bus.hub(edgehub.OpCloudDisconnected)
		case n < 7:
			pod := fmt.Sprint("pod-", ops.IntN(4))
			recorded[pod]++
			bus.event(t, podEvent(pod, "BackOff", "back-off"))
		default:
			time.Sleep(time.Duration(ops.IntN(3000)) * time.Millisecond)
		}
		synctest.Wait()
	}
	bus.SetAnswer(beehivetest.Accept)
	bus.hub(edgehub.OpCloudConnected)
	time.Sleep(5 * time.Minute)
	synctest.Wait()

	if s := r.Stats(); s.Waiting != 0 || s.RateLimited+s.Overflowed+s.Rejected+s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
	last := map[string]int32{}
	for _, ev := range bus.sent(t) {
		last[ev.InvolvedObject.Name] = ev.Count
	}
	for pod, n := range recorded {
		if last[pod] != n {
			t.Errorf("%s: recorded %d times, last sent with count %d", pod, n, last[pod])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
}
