package tunneltest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/cloud/pkg/cloudhub"
	"github.com/tether-edge/tether/common/message"
)

// SourceName is the cloud test module that feeds desired sets and receives
// what edges send up.
const SourceName = "source"

// CloudOptions configure StartCloud.
type CloudOptions struct {
	// WebSocketAddress and QUICAddress default to 127.0.0.1:0.
	WebSocketAddress, QUICAddress string
	// KeepalivePeriod defaults to 1s.
	KeepalivePeriod time.Duration
	NodeLimit       int // default 1000
	SyncWindow      int // default objsync.DefaultWindow
}

// Cloud is cloudhub and the source module on one bus.
type Cloud struct {
	Hub    *cloudhub.Hub
	Bus    *beehive.Bus
	Source *Source
	// WebSocketAddr and QUICAddr are where the hub listens.
	WebSocketAddr, QUICAddr string
	Stop                    func()
}

// StartCloud runs a cloud side until the test ends or Stop.
func StartCloud(t testing.TB, p *PKI, o CloudOptions) *Cloud {
	t.Helper()
	if o.WebSocketAddress == "" {
		o.WebSocketAddress = "127.0.0.1:0"
	}
	if o.QUICAddress == "" {
		o.QUICAddress = "127.0.0.1:0"
	}
	if o.KeepalivePeriod == 0 {
		o.KeepalivePeriod = time.Second
	}
	if o.NodeLimit == 0 {
		o.NodeLimit = 1000
	}
	bus, err := beehive.New(beehive.Options{Logger: Logger(), QueueSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := cloudhub.New(cloudhub.Options{
		Bus:              bus,
		ServerCert:       p.Serving,
		ClientCAs:        p.CA.Pool(),
		WebSocketAddress: o.WebSocketAddress,
		QUICAddress:      o.QUICAddress,
		NodeLimit:        o.NodeLimit,
		KeepalivePeriod:  o.KeepalivePeriod,
		SyncWindow:       o.SyncWindow,
		RequestTimeout:   5 * time.Second,
		Logger:           Logger().With("side", "cloud"),
	})
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{bus: bus, ups: make(chan message.Message, 1<<16)}
	for _, m := range []beehive.Module{hub, src} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatal(err)
		}
	}
	c := &Cloud{Hub: hub, Bus: bus, Source: src, WebSocketAddr: hub.WebSocketAddr().String(), QUICAddr: hub.QUICAddr().String()}
	c.Stop = Run(t, bus)
	return c
}

// Set puts an object in node's desired set.
func (c *Cloud) Set(t testing.TB, node string, key message.Resource, uid, rv string, content []byte) {
	t.Helper()
	m := message.New(SourceName, cloudhub.Name, message.OpUpdate, key.OnNode(node), content)
	m.Header.ResourceVersion = rv
	if err := c.Bus.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// Delete takes an object out of node's desired set.
func (c *Cloud) Delete(t testing.TB, node string, key message.Resource) {
	t.Helper()
	if err := c.Bus.Send(context.Background(), message.New(SourceName, cloudhub.Name, message.OpDelete, key.OnNode(node), nil)); err != nil {
		t.Fatal(err)
	}
}

// Source is the cloud test module: it answers requests with "pong:<content>"
// and keeps every other message it receives.
type Source struct {
	bus *beehive.Bus
	ups chan message.Message

	// mu guards got.
	mu  sync.Mutex
	got []message.Message
}

// Name implements beehive.Module.
func (s *Source) Name() string { return SourceName }

// Group implements beehive.Module.
func (s *Source) Group() string { return SourceName }

// Start implements beehive.Module.
func (s *Source) Start(ctx context.Context) error {
	for {
		m, err := s.bus.Receive(ctx, SourceName)
		if err != nil {
			return nil
		}
		if m.Header.Sync {
			resp := m.Response(SourceName, message.OpResponse, append([]byte("pong:"), m.Content...))
			if err := s.bus.SendResponse(ctx, resp); err != nil {
				return nil
			}
			continue
		}
		s.mu.Lock()
		s.got = append(s.got, m)
		s.mu.Unlock()
	}
}

// Received returns the messages received so far.
func (s *Source) Received() []message.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message.Message(nil), s.got...)
}
