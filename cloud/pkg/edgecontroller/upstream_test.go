package edgecontroller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// upBus feeds the upstream half and records its responses.
type upBus struct {
	in        chan message.Message
	responses chan message.Message
	closed    chan struct{} // closed: Receive fails as a closed bus does
}

func newUpBus() *upBus {
	return &upBus{in: make(chan message.Message), responses: make(chan message.Message, 16), closed: make(chan struct{})}
}

var errUpBusClosed = errors.New("bus closed")

func (b *upBus) Receive(ctx context.Context, module string) (message.Message, error) {
	select {
	case m := <-b.in:
		return m, nil
	case <-b.closed:
		return message.Message{}, errUpBusClosed
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
}

func (b *upBus) Send(ctx context.Context, m message.Message) error { return errors.New("not used") }

func (b *upBus) SendResponse(ctx context.Context, m message.Message) error {
	select {
	case b.responses <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startUpstream runs an upstream half over upTestIndex with no client: the
// messages a test sends must never reach the apiserver.
// stop cancels run and returns its error; wait returns it without
// cancelling.
func startUpstream(t *testing.T) (u *upstream, bus *upBus, stop, wait func() error) {
	t.Helper()
	bus = newUpBus()
	o := Options{Bus: bus, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Hub: "hub", Workers: 4, Now: time.Now}
	u = newUpstream(o, o.Logger, upTestIndex())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.run(ctx) }()
	wait = sync.OnceValue(func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Error("run did not return")
			return nil
		}
	})
	stop = func() error {
		cancel()
		return wait()
	}
	t.Cleanup(func() { _ = stop() })
	return u, bus, stop, wait
}

func (b *upBus) send(t *testing.T, m message.Message) {
	t.Helper()
	select {
	case b.in <- m:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream does not receive")
	}
}

func (b *upBus) response(t *testing.T, to message.Message) message.Message {
	t.Helper()
	select {
	case r := <-b.responses:
		if r.Header.ParentID != to.Header.ID {
			t.Fatalf("response %q to %s, want one to %s", r.Content, r.Header.ParentID, to.Header.ID)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("no response to %s %s", to.Route.Operation, to.Route.Resource)
		return message.Message{}
	}
}

func TestUpstreamRefusesAndDenies(t *testing.T) {
	u, bus, stop, _ := startUpstream(t)
	onA := func(ns, typ, name string) message.Resource {
		return message.Resource{Node: "edge-a", Namespace: ns, Type: typ, Name: name}
	}
	requests := []struct {
		m    message.Message
		says string
	}{
		{upMessage(message.OpQuery, message.Resource{Namespace: "default", Type: kubemsg.TypeSecret, Name: "creds"}, true, ""), "names no node"},
		{upMessage(message.OpUpdate, onA("default", "pod", "web"), true, ""), "unsupported: update default/pod/web"},
		{upMessage(message.OpDelete, onA("default", "pod", "web"), true, "{}"), "bad content for delete default/pod/web: no uid"},
		{upMessage(message.OpQuery, onA("default", kubemsg.TypeToken, "default"), true, "{"), "bad content for query default/serviceaccounttoken/default"},
		{upMessage(message.OpQuery, onA("default", kubemsg.TypeSecret, "db-creds"), true, ""), "forbidden: no pod of node edge-a uses secret default/db-creds"},
		{upMessage(message.OpInsert, onA("", kubemsg.TypeNode, "edge-b"), true, "{}"), "forbidden: node edge-a may write only its own Node"},
	}
	for _, r := range requests {
		bus.send(t, r.m)
		resp := bus.response(t, r.m)
		if resp.Route.Operation != message.OpError || !strings.Contains(string(resp.Content), r.says) {
			t.Errorf("%s %s answered %s %q, want an error saying %q", r.m.Route.Operation, r.m.Route.Resource, resp.Route.Operation, resp.Content, r.says)
		}
		if resp.Route.Source != Name || resp.Route.Destination != r.m.Route.Source {
			t.Errorf("response route %+v", resp.Route)
		}
	}
	// Statuses get no answer: denied, unknown or undecodable, they are
	// logged and dropped. A request of the same node after them is applied
	// after them, so its answer says they are done.
	for _, m := range []message.Message{
		upMessage(message.OpUpdate, onA("default", kubemsg.TypePodStatus, "db"), false, `{"uid":"uid-db"}`),
		upMessage(message.OpUpdate, onA(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-b"), false, `{"durationSeconds":40}`),
		upMessage(message.OpUpdate, onA("default", "pod", "web"), false, `{}`),
		upMessage(message.OpUpdate, onA("default", kubemsg.TypePodStatus, "web"), false, `{`),
	} {
		bus.send(t, m)
	}
	barrier := upMessage(message.OpQuery, onA("default", kubemsg.TypeConfigMap, "other"), true, "")
	bus.send(t, barrier)
	bus.response(t, barrier)
	if got := u.denials.Load(); got != 2+2+1 {
		t.Errorf("denials = %d, want 5 (2 requests, 2 statuses, the barrier)", got)
	}
	if err := stop(); err != nil {
		t.Errorf("run = %v after cancel, want nil", err)
	}
}

func TestUpstreamAnswersStatusSentAsRequest(t *testing.T) {
	_, bus, _, _ := startUpstream(t)
	m := upMessage(message.OpUpdate, message.Resource{Node: "edge-a", Type: kubemsg.TypeNodeStatus, Name: "edge-a"}, true, `{}`)
	bus.send(t, m)
	if r := bus.response(t, m); r.Route.Operation != message.OpError || !strings.Contains(string(r.Content), "one-way status") {
		t.Errorf("answered %s %q", r.Route.Operation, r.Content)
	}
}

func TestUpstreamFailsWhenTheBusDoes(t *testing.T) {
	_, bus, _, wait := startUpstream(t)
	close(bus.closed)
	if err := wait(); !errors.Is(err, errUpBusClosed) {
		t.Errorf("run = %v, want the bus's error", err)
	}
}
