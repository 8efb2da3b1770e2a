package beehive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tether-edge/tether/common/message"
)

func TestSendReceive(t *testing.T) {
	b, _ := newBus(t, Options{}, idle("a", ""), idle("b", ""))
	want := msg("a", "b", "hello")
	if err := b.Send(context.Background(), want); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := recv(t, b, "b")
	if got.Header.ID != want.Header.ID || string(got.Content) != "hello" || got.Route != want.Route {
		t.Fatalf("received %+v, want %+v", got, want)
	}
	assertEmpty(t, b, "a")
	assertEmpty(t, b, "b")
}

func TestFIFOPerSender(t *testing.T) {
	const senders, each = 4, 2000
	// A small queue makes the senders wait on it and interleave.
	b, _ := newBus(t, Options{QueueSize: 8}, idle("dst", ""))
	var wg sync.WaitGroup
	for s := range senders {
		src := fmt.Sprintf("src%d", s)
		wg.Go(func() {
			for i := range each {
				if err := b.Send(context.Background(), msg(src, "dst", strconv.Itoa(i))); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		})
	}
	next := map[string]int{}
	for range senders * each {
		m := recv(t, b, "dst")
		seq, _ := strconv.Atoi(string(m.Content))
		if seq != next[m.Route.Source] {
			t.Fatalf("from %s got #%d, want #%d", m.Route.Source, seq, next[m.Route.Source])
		}
		next[m.Route.Source]++
	}
	wg.Wait()
	if len(next) != senders {
		t.Fatalf("heard from %d senders, want %d", len(next), senders)
	}
	assertEmpty(t, b, "dst")
}

func TestUnknownModuleAndGroup(t *testing.T) {
	b, _ := newBus(t, Options{}, idle("a", "g"))
	ctx := context.Background()
	toNobody := msg("a", "nobody", "x")
	toNoGroup := message.NewToGroup("a", "nogroup", message.OpUpdate, message.Resource{}, nil)
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"Send", b.Send(ctx, toNobody), ErrUnknownModule},
		{"Send empty destination", b.Send(ctx, message.Message{}), ErrUnknownModule},
		{"TrySend", b.TrySend(toNobody), ErrUnknownModule},
		{"SendToGroup", b.SendToGroup(ctx, toNoGroup), ErrUnknownGroup},
		{"SendToGroup empty group", b.SendToGroup(ctx, toNobody), ErrUnknownGroup},
		{"Broadcast", b.Broadcast(ctx, toNoGroup), ErrUnknownGroup},
		{"SendResponse", b.SendResponse(ctx, toNobody), ErrUnknownModule},
	}
	_, err := b.Receive(ctx, "nobody")
	checks = append(checks, struct {
		name string
		err  error
		want error
	}{"Receive", err, ErrUnknownModule})
	_, err = b.SendSync(ctx, toNobody, 0)
	checks = append(checks, struct {
		name string
		err  error
		want error
	}{"SendSync", err, ErrUnknownModule})
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
		}
	}
	if len(b.sync.pending) != 0 {
		t.Errorf("%d SendSync waiters left behind", len(b.sync.pending))
	}
}

func TestFullQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{QueueSize: 2}, idle("dst", ""))
		for i := range 2 {
			if err := b.TrySend(msg("src", "dst", strconv.Itoa(i))); err != nil {
				t.Fatalf("TrySend #%d: %v", i, err)
			}
		}
		if err := b.TrySend(msg("src", "dst", "dropped")); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("TrySend on full queue: %v, want ErrQueueFull", err)
		}

		// Send waits on the full queue until its context is cancelled.
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- b.Send(ctx, msg("src", "dst", "cancelled")) }()
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Send on full queue returned %v without waiting", err)
		default:
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Send: %v, want context.Canceled", err)
		}

		// Send waits, and completes once the receiver makes room.
		go func() { errc <- b.Send(context.Background(), msg("src", "dst", "2")) }()
		synctest.Wait()
		if got := recv(t, b, "dst"); string(got.Content) != "0" {
			t.Fatalf("first message %q, want 0", got.Content)
		}
		if err := <-errc; err != nil {
			t.Fatalf("waiting Send: %v", err)
		}
		for _, want := range []string{"1", "2"} {
			if got := recv(t, b, "dst"); string(got.Content) != want {
				t.Fatalf("got %q, want %q", got.Content, want)
			}
		}
		assertEmpty(t, b, "dst")
	})
}

func TestSendToGroupRoundRobin(t *testing.T) {
	b, _ := newBus(t, Options{}, idle("a", "g"), idle("other", "h"), idle("b", "g"), idle("c", "g"))
	for i := range 9 {
		m := message.NewToGroup("src", "g", message.OpUpdate, message.Resource{}, []byte(strconv.Itoa(i)))
		if err := b.SendToGroup(context.Background(), m); err != nil {
			t.Fatalf("SendToGroup: %v", err)
		}
	}
	for j, name := range []string{"a", "b", "c"} {
		for k := range 3 {
			m := recv(t, b, name)
			if want := strconv.Itoa(3*k + j); string(m.Content) != want {
				t.Errorf("%s got %q, want %q", name, m.Content, want)
			}
			if m.Route.Destination != name || m.Route.Group != "g" {
				t.Errorf("%s got route %+v", name, m.Route)
			}
		}
		assertEmpty(t, b, name)
	}
	assertEmpty(t, b, "other")
}

func TestBroadcast(t *testing.T) {
	b, _ := newBus(t, Options{}, idle("a", "g"), idle("other", "h"), idle("b", "g"), idle("c", "g"))
	m := message.NewToGroup("src", "g", message.OpDelete, message.Resource{}, []byte("all"))
	if err := b.Broadcast(context.Background(), m); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	for _, name := range []string{"a", "b", "c"} {
		got := recv(t, b, name)
		if got.Header.ID != m.Header.ID || got.Route.Destination != name || string(got.Content) != "all" {
			t.Errorf("%s got %+v", name, got)
		}
		assertEmpty(t, b, name)
	}
	assertEmpty(t, b, "other")
}

func TestBroadcastStopsOnFullQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{QueueSize: 1}, idle("a", "g"), idle("b", "g"), idle("c", "g"))
		if err := b.TrySend(msg("src", "b", "filler")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			errc <- b.Broadcast(ctx, message.NewToGroup("src", "g", message.OpUpdate, message.Resource{}, nil))
		}()
		synctest.Wait()
		cancel()
		err := <-errc
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "delivered to 1 of 3") {
			t.Fatalf("Broadcast: %v, want cancellation after 1 of 3", err)
		}
		if got := recv(t, b, "a"); got.Route.Destination != "a" {
			t.Fatalf("a got %+v", got)
		}
		assertEmpty(t, b, "c")
	})
}

func TestClosedAfterRun(t *testing.T) {
	b, _ := newBus(t, Options{}, idle("a", "g"))
	stop := startBus(t, b)
	// A Receive waiting when Run returns wakes with ErrClosed.
	errc := make(chan error, 1)
	go func() {
		_, err := b.Receive(context.Background(), "a")
		errc <- err
	}()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("waiting Receive: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive still waiting 5s after Run returned")
	}
	ctx := context.Background()
	_, recvErr := b.Receive(ctx, "a")
	_, syncErr := b.SendSync(ctx, msg("x", "a", ""), 0)
	toGroup := message.NewToGroup("x", "g", message.OpUpdate, message.Resource{}, nil)
	for name, err := range map[string]error{
		"Send":        b.Send(ctx, msg("x", "a", "")),
		"TrySend":     b.TrySend(msg("x", "a", "")),
		"SendToGroup": b.SendToGroup(ctx, toGroup),
		"Broadcast":   b.Broadcast(ctx, toGroup),
		"Receive":     recvErr,
		"SendSync":    syncErr,
		"Run":         b.Run(ctx),
	} {
		want := ErrClosed
		if name == "Run" {
			want = ErrStarted
		}
		if !errors.Is(err, want) {
			t.Errorf("%s after Run: %v, want %v", name, err, want)
		}
	}
}
