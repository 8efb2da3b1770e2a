package beehive

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tether-edge/tether/common/message"
)

func TestNewAndRegisterValidate(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a Logger succeeded")
	}
	if _, err := New(Options{Logger: slog.Default(), QueueSize: -1}); err == nil {
		t.Error("New with a negative QueueSize succeeded")
	}
	b, _ := newBus(t, Options{}, idle("a", ""))
	if err := b.Register(idle("a", "other"), Policy{}); !errors.Is(err, ErrDuplicateModule) {
		t.Errorf("duplicate Register: %v, want ErrDuplicateModule", err)
	}
	if err := b.Register(idle("", ""), Policy{}); err == nil {
		t.Error("Register with an empty name succeeded")
	}
	if err := b.Register(nil, Policy{}); err == nil {
		t.Error("Register(nil) succeeded")
	}
	bad := []Policy{
		{OnError: 7},
		{BackoffInitial: -time.Second},
		{BackoffInitial: time.Minute, BackoffMax: time.Second},
	}
	for _, p := range bad {
		if err := b.Register(idle("b", ""), p); err == nil {
			t.Errorf("Register with policy %+v succeeded", p)
		}
	}
	if err := stopAfterStart(t, b); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := b.Register(idle("late", ""), Policy{}); !errors.Is(err, ErrStarted) {
		t.Errorf("Register after Run: %v, want ErrStarted", err)
	}
}

// stopAfterStart runs b with an already cancelled context.
func stopAfterStart(t *testing.T, b *Bus) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return b.Run(ctx)
}

func TestPolicyDefaults(t *testing.T) {
	p, err := Policy{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{OnError: Restart, BackoffInitial: time.Second, BackoffMax: 30 * time.Second, ResetAfter: 30 * time.Second}
	if p != want {
		t.Fatalf("defaults %+v, want %+v", p, want)
	}
}

func TestNextDelay(t *testing.T) {
	p := Policy{BackoffInitial: 10 * time.Millisecond, BackoffMax: 35 * time.Millisecond, ResetAfter: time.Second}
	ms := time.Millisecond
	for _, c := range []struct{ prev, ran, want time.Duration }{
		{0, 0, 10 * ms},
		{10 * ms, 0, 20 * ms},
		{20 * ms, 999 * ms, 35 * ms},
		{35 * ms, 0, 35 * ms},
		{35 * ms, time.Second, 10 * ms},
	} {
		if got := nextDelay(c.prev, c.ran, p); got != c.want {
			t.Errorf("nextDelay(%v, %v) = %v, want %v", c.prev, c.ran, got, c.want)
		}
	}
}

func TestRunStartsAndStopsModules(t *testing.T) {
	checkNoLeaks(t)
	var stopped sync.WaitGroup
	started := make(chan string, 2)
	mod := func(name string) *fakeModule {
		stopped.Add(1)
		return &fakeModule{name: name, start: func(ctx context.Context) error {
			defer stopped.Done()
			started <- name
			<-ctx.Done()
			return ctx.Err() // a cancelled module may say so
		}}
	}
	b, _ := newBus(t, Options{}, mod("a"), mod("b"))
	stop := startBus(t, b)
	got := map[string]bool{<-started: true, <-started: true}
	if !got["a"] || !got["b"] {
		t.Fatalf("started %v, want a and b", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	stopped.Wait()
	for _, s := range b.Status() {
		if s.Running || s.Restarts != 0 || s.LastError != "" {
			t.Errorf("status after stop: %+v", s)
		}
	}
}

func TestRestartWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{})
		var starts []time.Time
		fifth := make(chan struct{})
		flaky := &fakeModule{name: "flaky", start: func(ctx context.Context) error {
			starts = append(starts, time.Now())
			if len(starts) == 5 {
				close(fifth)
				<-ctx.Done()
				return nil
			}
			return errors.New("boom")
		}}
		p := Policy{BackoffInitial: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond}
		if err := b.Register(flaky, p); err != nil {
			t.Fatal(err)
		}
		stop := startBus(t, b)
		<-fifth
		st := b.Status()[0]
		if !st.Running || st.Restarts != 4 || st.LastError != "boom" {
			t.Errorf("status %+v, want running after 4 restarts with LastError boom", st)
		}
		want := []time.Duration{10, 20, 40, 40}
		for i, w := range want {
			if gap := starts[i+1].Sub(starts[i]); gap != w*time.Millisecond {
				t.Errorf("wait before restart %d: %v, want %v", i+1, gap, w*time.Millisecond)
			}
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestBackoffResetsAfterStableRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{})
		var starts []time.Time
		fourth := make(chan struct{})
		mod := &fakeModule{name: "m", start: func(ctx context.Context) error {
			starts = append(starts, time.Now())
			switch len(starts) {
			case 3: // runs fine for a while, then fails
				<-time.After(100 * time.Millisecond)
			case 4:
				close(fourth)
				<-ctx.Done()
				return nil
			}
			return errors.New("boom")
		}}
		p := Policy{BackoffInitial: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond, ResetAfter: 50 * time.Millisecond}
		if err := b.Register(mod, p); err != nil {
			t.Fatal(err)
		}
		stop := startBus(t, b)
		<-fourth
		// 10ms, 20ms, then 100ms of running and back to 10ms.
		if gap := starts[3].Sub(starts[2]); gap != 110*time.Millisecond {
			t.Errorf("third run to fourth: %v, want 100ms run + 10ms back-off", gap)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestRestartWaitStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{})
		failed := make(chan struct{})
		mod := &fakeModule{name: "m", start: func(context.Context) error {
			close(failed)
			return errors.New("boom")
		}}
		if err := b.Register(mod, Policy{BackoffInitial: time.Hour}); err != nil {
			t.Fatal(err)
		}
		stop := startBus(t, b)
		<-failed
		synctest.Wait()
		start := time.Now()
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("Run took %v to stop a module in back-off", waited)
		}
	})
}

func TestFinishedModuleIsNotRestarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, logs := newBus(t, Options{})
		calls := 0
		done := &fakeModule{name: "oneshot", start: func(context.Context) error {
			calls++
			return nil
		}}
		if err := b.Register(done, Policy{BackoffInitial: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		stop := startBus(t, b)
		synctest.Wait()
		<-time.After(time.Minute) // fake time: any restart would have happened
		if st := b.Status()[0]; calls != 1 || st.Running || st.Restarts != 0 {
			t.Errorf("after finishing: %d calls, status %+v", calls, st)
		}
		if !strings.Contains(logs.String(), "module finished") {
			t.Errorf("no log for the finished module:\n%s", logs)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

var errFatal = errors.New("disk gone")

func TestStopProcessFailureEndsRun(t *testing.T) {
	checkNoLeaks(t)
	b, _ := newBus(t, Options{})
	peerStopped := make(chan struct{})
	peer := &fakeModule{name: "peer", start: func(ctx context.Context) error {
		defer close(peerStopped)
		<-ctx.Done()
		return nil
	}}
	release := make(chan struct{})
	fatal := &fakeModule{name: "meta", start: func(ctx context.Context) error {
		<-release
		return errFatal
	}}
	if err := b.Register(peer, Policy{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(fatal, Policy{OnError: StopProcess}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- b.Run(context.Background()) }()
	close(release)
	err := <-errc
	if !errors.Is(err, errFatal) || !strings.Contains(err.Error(), `"meta"`) {
		t.Fatalf("Run: %v, want the meta module's error", err)
	}
	select {
	case <-peerStopped:
	default:
		t.Fatal("Run returned before joining the peer module")
	}
	if st := b.Status()[1]; st.LastError != errFatal.Error() {
		t.Fatalf("status %+v", st)
	}
}

func TestShutdownTimeoutNamesStuckModule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, Options{ShutdownTimeout: 2 * time.Second}, idle("polite", ""))
		release := make(chan struct{})
		stuck := &fakeModule{name: "stubborn", start: func(context.Context) error {
			<-release // ignores its context
			return nil
		}}
		if err := b.Register(stuck, Policy{}); err != nil {
			t.Fatal(err)
		}
		stop := startBus(t, b)
		synctest.Wait()
		start := time.Now()
		err := stop()
		if !errors.Is(err, ErrShutdownTimeout) || !strings.Contains(err.Error(), "stubborn") ||
			strings.Contains(err.Error(), "polite") {
			t.Fatalf("Run: %v, want ErrShutdownTimeout naming only stubborn", err)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Fatalf("Run waited %v, want the 2s ShutdownTimeout", waited)
		}
		close(release) // lets the module, and the bus's joiner, end
	})
}

func TestNoGoroutinesLeftAfterRun(t *testing.T) {
	checkNoLeaks(t)
	b, _ := newBus(t, Options{QueueSize: 4}, idle("client", ""))
	if err := b.Register(echo(b, "e1"), Policy{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(echo(b, "e2"), Policy{}); err != nil {
		t.Fatal(err)
	}
	stop := startBus(t, b)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				req := message.NewToGroup("client", "echo", message.OpQuery, message.Resource{}, []byte("x"))
				if _, err := b.SendSync(context.Background(), req, 5*time.Second); err != nil {
					t.Errorf("SendSync: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	// A sender left waiting on a full queue when Run returns wakes too.
	errc := make(chan error, 5)
	for range 5 {
		go func() { errc <- b.Send(context.Background(), msg("x", "client", "")) }()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Send waiting when Run returned: %v, want ErrClosed", err)
	}
}
