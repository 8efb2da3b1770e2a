package tunneltest

import (
	"context"
	"crypto/tls"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
)

// ProbeName is the edge test module.
const ProbeName = "probe"

// EdgeOptions configure StartEdge.
type EdgeOptions struct {
	// Cert is the node's client certificate; required.
	Cert tls.Certificate
	// Transport and Address say how to reach the cloud; required.
	Transport, Address string
	// Store defaults to a new MemStore; pass one to keep it across restarts.
	Store *MemStore
	// KeepalivePeriod defaults to 1s.
	KeepalivePeriod time.Duration
	// UpstreamQPS defaults to 10000.
	UpstreamQPS float64
}

// Edge is edgehub and the probe module on one bus.
type Edge struct {
	Hub   *edgehub.Hub
	Bus   *beehive.Bus
	Store *MemStore
	Probe *Probe
	Stop  func()
}

// StartEdge runs an edge side until the test ends or Stop.
func StartEdge(t testing.TB, p *PKI, o EdgeOptions) *Edge {
	t.Helper()
	if o.Store == nil {
		o.Store = NewMemStore()
	}
	if o.KeepalivePeriod == 0 {
		o.KeepalivePeriod = time.Second
	}
	if o.UpstreamQPS == 0 {
		o.UpstreamQPS = 10000
	}
	bus, err := beehive.New(beehive.Options{Logger: Logger(), QueueSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := edgehub.New(edgehub.Options{
		Bus:              bus,
		Store:            o.Store,
		Certs:            StaticCerts{Cert: o.Cert, Roots: p.CA.Pool()},
		Logger:           Logger().With("side", "edge"),
		Transport:        o.Transport,
		Address:          o.Address,
		ServerName:       "127.0.0.1",
		KeepalivePeriod:  o.KeepalivePeriod,
		ReconnectInitial: 50 * time.Millisecond,
		ReconnectMax:     500 * time.Millisecond,
		UpstreamQPS:      o.UpstreamQPS,
		UpstreamBurst:    int(o.UpstreamQPS),
		RequestTimeout:   5 * time.Second,
		Subscribers:      []string{ProbeName},
	})
	if err != nil {
		t.Fatal(err)
	}
	probe := &Probe{bus: bus, synced: make(chan struct{}, 1)}
	for _, m := range []beehive.Module{hub, probe} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatal(err)
		}
	}
	e := &Edge{Hub: hub, Bus: bus, Store: o.Store, Probe: probe}
	e.Stop = Run(t, bus)
	return e
}

// Status sends a status up through the hub, as an edge module would.
func (e *Edge) Status(t testing.TB, key message.Resource, content []byte) {
	t.Helper()
	m := message.New(ProbeName, edgehub.Name, message.OpUpdate, key, content)
	m.Route.Group = SourceName // the cloud group that receives it
	if err := e.Bus.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// Probe is the edge test module: it answers requests with
// "edge:<content>" and records the hub's notifications.
type Probe struct {
	bus    *beehive.Bus
	synced chan struct{}

	// mu guards events.
	mu     sync.Mutex
	events []message.Operation
}

// Name implements beehive.Module.
func (p *Probe) Name() string { return ProbeName }

// Group implements beehive.Module.
func (p *Probe) Group() string { return ProbeName }

// Start implements beehive.Module.
func (p *Probe) Start(ctx context.Context) error {
	for {
		m, err := p.bus.Receive(ctx, ProbeName)
		if err != nil {
			return nil
		}
		if m.Header.Sync {
			resp := m.Response(ProbeName, message.OpResponse, append([]byte("edge:"), m.Content...))
			if err := p.bus.SendResponse(ctx, resp); err != nil {
				return nil
			}
			continue
		}
		p.mu.Lock()
		p.events = append(p.events, m.Route.Operation)
		p.mu.Unlock()
		if m.Route.Operation == edgehub.OpCloudSynced {
			select {
			case p.synced <- struct{}{}:
			default:
			}
		}
	}
}

// Events returns the notifications so far.
func (p *Probe) Events() []message.Operation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// Synced receives after each OpCloudSynced (coalesced).
func (p *Probe) Synced() <-chan struct{} { return p.synced }
