package nodestatus

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/beehive/beehivetest"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
)

// The real bus is a Bus.
var _ Bus = (*beehive.Bus)(nil)

// fakeHost returns info, or err, and counts the reads of its Machine.
type fakeHost struct {
	info     HostInfo
	err      error
	machines atomic.Int32
	// mu guards the fields below it.
	mu sync.Mutex
	// pressure, or pressureErr, answer Pressure; asked are the filesystems
	// of each call.
	pressure    PressureReadings
	pressureErr error
	asked       [][]string
}

func (h *fakeHost) Machine() Machine { h.machines.Add(1); return h.info.Machine }

func (h *fakeHost) Resources() (Resources, error) { return h.info.Resources, h.err }

func (h *fakeHost) Pressure(filesystems []string) (PressureReadings, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked = append(h.asked, slices.Clone(filesystems))
	return h.pressure, h.pressureErr
}

func (h *fakeHost) setPressure(r PressureReadings, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pressure, h.pressureErr = r, err
}

func (h *fakeHost) pressureCalls() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.asked)
}

// fakeBus is the module's queue, the status sink (Send), the events module
// (TrySend) and a cloud that answers registration requests (SendSync).
type fakeBus struct{ *beehivetest.Bus }

func newFakeBus() fakeBus { return fakeBus{beehivetest.New()} }

var refuse = beehivetest.Refuse("apiserver unavailable")

func (b fakeBus) hub(op message.Operation) {
	b.Deliver(message.New(edgehub.Name, Name, op, message.Resource{}, nil))
}

// counts returns how many statuses, leases, events and requests were sent.
func (b fakeBus) counts() (statuses, leases, events, requests int) {
	for _, m := range b.Sent() {
		switch m.Route.Resource.Type {
		case kubemsg.TypeNodeStatus:
			statuses++
		case kubemsg.TypeLease:
			leases++
		}
	}
	return statuses, leases, len(b.TrySent()), len(b.Requests())
}

// reasons returns the reasons of the events sent.
func (b fakeBus) reasons(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range b.TrySent() {
		var ev corev1.Event
		if err := json.Unmarshal(m.Content, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.InvolvedObject.Kind != "Node" || ev.InvolvedObject.Name != "edge-1" || m.Route.Destination != "events" {
			t.Errorf("event %+v to %s", ev.InvolvedObject, m.Route.Destination)
		}
		out = append(out, ev.Reason)
	}
	return out
}

func testOptions(t *testing.T, bus fakeBus, period, lease time.Duration) Options {
	cfg := testConfig()
	cfg.UpdatePeriod = config.Duration{Duration: period}
	cfg.LeaseDuration = config.Duration{Duration: lease}
	return Options{
		Bus:         bus,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Host:        &fakeHost{info: testHostInfo()},
		NodeName:    "edge-1",
		Config:      cfg,
		CloudServer: "127.0.0.1",
		Version:     "v1.4.0",
		StatusSink:  "metamanager",
		Hub:         edgehub.Name,
		Events:      "events",
	}
}

// start runs a module in the bubble; the returned stop cancels it and
// checks that Start returned nil.
func start(t *testing.T, o Options) func() {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	good := testOptions(t, newFakeBus(), time.Second, time.Second)
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Options){
		"no bus":                     func(o *Options) { o.Bus = nil },
		"no host":                    func(o *Options) { o.Host = nil },
		"bad node name":              func(o *Options) { o.NodeName = "Edge_1" },
		"no sink":                    func(o *Options) { o.StatusSink = "" },
		"no hub":                     func(o *Options) { o.Hub = "" },
		"no IP and no cloud":         func(o *Options) { o.CloudServer = "" },
		"bad IP":                     func(o *Options) { o.Config.InternalIP = "10.0.0" },
		"no period":                  func(o *Options) { o.Config.UpdatePeriod.Duration = 0 },
		"short lease":                func(o *Options) { o.Config.LeaseDuration.Duration = time.Millisecond },
		"no pods":                    func(o *Options) { o.Config.MaxPods = 0 },
		"reserved bad quantity":      func(o *Options) { o.Config.Reserved = map[string]string{"cpu": "lots"} },
		"reserved unknown resources": func(o *Options) { o.Config.Reserved = map[string]string{"gpu": "1"} },
		"bad memory threshold":       func(o *Options) { o.Pressure.MemoryAvailable = "lots" },
		"negative memory threshold":  func(o *Options) { o.Pressure.MemoryAvailable = "-1Mi" },
		"disk percent over 100":      func(o *Options) { o.Pressure.DiskAvailablePercent = 101 },
		"negative pid percent":       func(o *Options) { o.Pressure.PIDAvailablePercent = -1 },
		"relative image fs":          func(o *Options) { o.ImageFSPath = "var/lib/containerd" },
	}
	for what, change := range bad {
		o := good
		change(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	o := good
	o.Config.InternalIP, o.CloudServer = "10.0.0.7", ""
	if _, err := New(o); err != nil {
		t.Errorf("InternalIP without CloudServer: %v", err)
	}
	o = good
	o.Pressure = config.Pressure{MemoryAvailable: "100Mi", DiskAvailablePercent: 100, PIDAvailablePercent: 5}
	o.ImageFSPath = "/var/lib/containerd"
	if _, err := New(o); err != nil {
		t.Errorf("pressure thresholds and image fs: %v", err)
	}
}

// Status and lease go to the sink on their periods, with the cloud away.
func TestReportsWhileOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		o := testOptions(t, bus, 10*time.Second, 20*time.Second)
		stop := start(t, o)
		defer stop()
		synctest.Wait()
		if s, l, e, r := bus.counts(); s != 1 || l != 1 || e != 1 || r != 0 {
			t.Fatalf("at start: %d statuses, %d leases, %d events, %d requests; want 1, 1, 1, 0", s, l, e, r)
		}
		time.Sleep(45 * time.Second)
		synctest.Wait()
		if s, l, _, r := bus.counts(); s != 5 || l != 10 || r != 0 {
			t.Fatalf("after 45s: %d statuses, %d leases, %d requests; want 5, 10, 0", s, l, r)
		}
		if n := o.Host.(*fakeHost).machines.Load(); n != 1 {
			t.Fatalf("the machine was read %d times, want once", n)
		}
		if got := bus.reasons(t); len(got) != 1 || got[0] != "Starting" {
			t.Fatalf("events %v", got)
		}

		for _, m := range bus.Sent() {
			if m.Route.Destination != "metamanager" || m.Route.Group != kubemsg.Group || m.Route.Operation != message.OpUpdate || m.Header.Sync {
				t.Fatalf("status route %+v sync %v", m.Route, m.Header.Sync)
			}
			switch res := m.Route.Resource.String(); res {
			case "null/nodestatus/edge-1":
				var s corev1.NodeStatus
				if err := json.Unmarshal(m.Content, &s); err != nil || len(s.Conditions) != 4 || s.Addresses[0].Address != "127.0.0.1" ||
					s.NodeInfo.MachineID != testHostInfo().MachineID || s.Capacity.Cpu().Value() != 4 {
					t.Fatalf("status %s: %v", m.Content, err)
				}
			case "kube-node-lease/lease/edge-1":
				var l kubemsg.LeaseRenewal
				if err := json.Unmarshal(m.Content, &l); err != nil || l.DurationSeconds != 20 {
					t.Fatalf("lease %s: %v", m.Content, err)
				}
			default:
				t.Fatalf("resource %q", res)
			}
		}
	})
}

// Registration retries until accepted, is followed by a status, and brings
// the node events once per process.
func TestRegistersOnConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		failures := 2
		bus.SetAnswer(func(ctx context.Context, req message.Message) (message.Message, error) {
			if failures > 0 {
				failures--
				return refuse(ctx, req)
			}
			return beehivetest.Accept(ctx, req)
		})
		stop := start(t, testOptions(t, bus, time.Hour, time.Hour))
		defer stop()
		synctest.Wait()
		bus.hub(edgehub.OpCloudConnected)
		synctest.Wait()
		if s, _, _, r := bus.counts(); s != 1 || r != 1 {
			t.Fatalf("after a refusal: %d statuses, %d requests", s, r)
		}
		time.Sleep(retryInitial + 2*retryInitial) // both back-off waits, at most
		synctest.Wait()
		if s, _, _, r := bus.counts(); s != 2 || r != 3 {
			t.Fatalf("after registering: %d statuses, %d requests; want 2 (one at start, one after registering), 3", s, r)
		}
		checkRegistration(t, bus.Requests()[0])

		bus.hub(edgehub.OpCloudDisconnected)
		bus.hub(edgehub.OpCloudConnected)
		synctest.Wait()
		if s, _, _, r := bus.counts(); s != 3 || r != 4 {
			t.Fatalf("after reconnecting: %d statuses, %d requests; want 3, 4", s, r)
		}
		want := []string{"Starting", "NodeReady", "RegisteredNode"}
		if got := bus.reasons(t); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("events %v, want %v (once per process)", got, want)
		}
	})
}

func checkRegistration(t *testing.T, req message.Message) {
	t.Helper()
	if req.Route.Destination != edgehub.Name || req.Route.Group != kubemsg.Group || req.Route.Operation != message.OpInsert {
		t.Errorf("registration route %+v", req.Route)
	}
	if res := req.Route.Resource.String(); res != "null/node/edge-1" {
		t.Errorf("registration resource %q", res)
	}
	var n corev1.Node
	if err := json.Unmarshal(req.Content, &n); err != nil {
		t.Fatal(err)
	}
	if n.APIVersion != "v1" || n.Kind != "Node" || n.Name != "edge-1" || n.Labels[LabelEdge] != "" || n.Status.NodeInfo.KubeletVersion != "v1.4.0" {
		t.Errorf("registered node %+v", n)
	}
}

// A disconnect ends retries, and cancels a request in flight.
func TestDisconnectStopsRegistration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		bus.SetAnswer(refuse)
		stop := start(t, testOptions(t, bus, time.Hour, time.Hour))
		defer stop()
		bus.hub(edgehub.OpCloudConnected)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		bus.hub(edgehub.OpCloudDisconnected)
		synctest.Wait()
		_, _, _, before := bus.counts()
		if before < 3 {
			t.Fatalf("%d attempts in 10s", before)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if _, _, _, after := bus.counts(); after != before {
			t.Fatalf("%d attempts after the disconnect", after-before)
		}

		bus.SetAnswer(beehivetest.Hang)
		bus.hub(edgehub.OpCloudConnected)
		synctest.Wait()
		bus.hub(edgehub.OpCloudDisconnected)
		synctest.Wait() // the registration was cancelled and joined
		if got := bus.reasons(t); len(got) != 1 {
			t.Fatalf("events %v: nothing was registered", got)
		}
	})
}

// If the hub's OpCloudConnected was lost, OpCloudSynced registers.
func TestSyncedRegistersWhenConnectWasLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		stop := start(t, testOptions(t, bus, time.Hour, time.Hour))
		defer stop()
		bus.hub(edgehub.OpCloudSynced)
		synctest.Wait()
		bus.hub(edgehub.OpCloudSynced)
		synctest.Wait()
		if _, _, _, r := bus.counts(); r != 1 {
			t.Fatalf("%d registrations, want 1", r)
		}
		bus.hub(edgehub.OpCloudConnected)
		bus.hub(edgehub.OpCloudSynced)
		synctest.Wait()
		if _, _, _, r := bus.counts(); r != 2 {
			t.Fatalf("%d registrations, want 2", r)
		}
	})
}

// A host that cannot be read skips the status, not the lease.
func TestHostErrorSkipsStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		o := testOptions(t, bus, 10*time.Second, 40*time.Second)
		o.Host = &fakeHost{err: errors.New("no /proc")}
		stop := start(t, o)
		defer stop()
		time.Sleep(25 * time.Second)
		synctest.Wait()
		if s, l, _, _ := bus.counts(); s != 0 || l != 3 {
			t.Fatalf("%d statuses, %d leases; want 0, 3", s, l)
		}
	})
}
