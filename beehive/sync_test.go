package beehive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// echo answers every request it receives with its content, upper-cased.
func echo(b *Bus, name string) *fakeModule {
	return &fakeModule{name: name, group: "echo", start: func(ctx context.Context) error {
		for {
			req, err := b.Receive(ctx, name)
			if err != nil {
				return nil
			}
			resp := req.Response(name, message.OpResponse, []byte(strings.ToUpper(string(req.Content))))
			if err := b.SendResponse(ctx, resp); err != nil {
				return err
			}
		}
	}}
}

func TestSendSyncMatchesResponseAmongTraffic(t *testing.T) {
	const callers = 8
	b, _ := newBus(t, Options{}, idle("client", ""))
	// The responder gathers every request, answers in reverse order, and
	// between answers sends unrelated responses nobody waits for.
	responder := &fakeModule{name: "resp", start: func(ctx context.Context) error {
		var reqs []message.Message
		for range callers {
			req, err := b.Receive(ctx, "resp")
			if err != nil {
				return err
			}
			if !req.Header.Sync {
				return fmt.Errorf("request %s without Sync", req.Header.ID)
			}
			reqs = append(reqs, req)
		}
		for i := len(reqs) - 1; i >= 0; i-- {
			stray := message.New("resp", "client", message.OpResponse, message.Resource{}, []byte("stray"))
			stray.Header.ParentID = message.NewID()
			if err := b.SendResponse(ctx, stray); err != nil {
				return err
			}
			r := reqs[i].Response("resp", message.OpResponse, append([]byte("re:"), reqs[i].Content...))
			if err := b.SendResponse(ctx, r); err != nil {
				return err
			}
		}
		<-ctx.Done()
		return nil
	}}
	if err := b.Register(responder, Policy{}); err != nil {
		t.Fatal(err)
	}
	stop := startBus(t, b)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			body := fmt.Sprintf("req%d", i)
			req := msg("client", "resp", body)
			resp, err := b.SendSync(context.Background(), req, 5*time.Second)
			if err != nil {
				t.Errorf("SendSync %s: %v", body, err)
				return
			}
			if resp.Header.ParentID != req.Header.ID || string(resp.Content) != "re:"+body {
				t.Errorf("SendSync %s got %+v", body, resp)
			}
		})
	}
	wg.Wait()
	for range callers {
		if m := recv(t, b, "client"); string(m.Content) != "stray" {
			t.Errorf("client got %q, want the stray responses", m.Content)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := len(b.sync.pending); n != 0 {
		t.Fatalf("%d waiters left behind", n)
	}
}

func TestSendSyncTimeoutAndLateResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, logs := newBus(t, Options{}, idle("client", ""), idle("slow", ""))
		req := msg("client", "slow", "q")
		start := time.Now()
		errc := make(chan error, 1)
		go func() {
			_, err := b.SendSync(context.Background(), req, 100*time.Millisecond)
			errc <- err
		}()
		got := recv(t, b, "slow")
		err := <-errc
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SendSync: %v, want ErrTimeout", err)
		}
		if waited := time.Since(start); waited != 100*time.Millisecond {
			t.Fatalf("SendSync gave up after %v, want 100ms", waited)
		}
		// The late response neither blocks the responder nor reaches the client.
		if err := b.SendResponse(context.Background(), got.Response("slow", message.OpResponse, nil)); err != nil {
			t.Fatalf("late SendResponse: %v", err)
		}
		assertEmpty(t, b, "client")
		if s := b.Stats(); s.LateResponses != 1 || s.SyncTimeouts != 1 {
			t.Fatalf("Stats %+v, want 1 late response and 1 timeout", s)
		}
		if !strings.Contains(logs.String(), "late response") || !strings.Contains(logs.String(), req.Header.ID) {
			t.Fatalf("no debug log for the late response:\n%s", logs)
		}
		if n := len(b.sync.pending); n != 0 {
			t.Fatalf("%d waiters left behind", n)
		}
	})
}

func TestSendSyncContextCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{}, idle("slow", ""))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := b.SendSync(ctx, msg("client", "slow", "q"), 0)
			errc <- err
		}()
		recv(t, b, "slow")
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("SendSync: %v, want context.Canceled", err)
		}
	})
}

func TestSendSyncTimesOutOnFullQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{QueueSize: 1}, idle("busy", ""))
		if err := b.TrySend(msg("x", "busy", "filler")); err != nil {
			t.Fatal(err)
		}
		_, err := b.SendSync(context.Background(), msg("client", "busy", "q"), time.Second)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("SendSync: %v, want ErrTimeout", err)
		}
		if n := len(b.sync.pending); n != 0 {
			t.Fatalf("%d waiters left behind", n)
		}
		if got := recv(t, b, "busy"); string(got.Content) != "filler" {
			t.Fatalf("busy got %q", got.Content)
		}
		assertEmpty(t, b, "busy")
	})
}

func TestSendSyncToGroup(t *testing.T) {
	b, _ := newBus(t, Options{})
	for _, name := range []string{"e1", "e2"} {
		if err := b.Register(echo(b, name), Policy{}); err != nil {
			t.Fatal(err)
		}
	}
	stop := startBus(t, b)
	var from []string
	for range 4 {
		req := message.NewToGroup("client", "echo", message.OpQuery, message.Resource{}, []byte("hi"))
		resp, err := b.SendSync(context.Background(), req, 5*time.Second)
		if err != nil || string(resp.Content) != "HI" {
			t.Fatalf("SendSync: %+v, %v", resp, err)
		}
		from = append(from, resp.Route.Source)
	}
	if got := strings.Join(from, ","); got != "e1,e2,e1,e2" {
		t.Fatalf("answered by %s, want e1,e2,e1,e2", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestAsyncResponseIsRouted(t *testing.T) {
	b, _ := newBus(t, Options{}, idle("client", ""), idle("server", ""))
	req := msg("client", "server", "q")
	if err := b.Send(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	got := recv(t, b, "server")
	if err := b.SendResponse(context.Background(), got.Response("server", message.OpResponse, []byte("a"))); err != nil {
		t.Fatalf("SendResponse: %v", err)
	}
	resp := recv(t, b, "client")
	if resp.Header.ParentID != req.Header.ID || string(resp.Content) != "a" {
		t.Fatalf("client got %+v", resp)
	}
	if s := b.Stats(); s.LateResponses != 0 {
		t.Fatalf("Stats %+v, want no late responses", s)
	}
}
