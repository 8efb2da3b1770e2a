package beehive

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tether-edge/tether/common/message"
)

// fakeModule is a Module whose Start is a test-supplied function.
type fakeModule struct {
	name, group string
	start       func(ctx context.Context) error
}

func (f *fakeModule) Name() string  { return f.name }
func (f *fakeModule) Group() string { return f.group }
func (f *fakeModule) Start(ctx context.Context) error {
	if f.start == nil {
		<-ctx.Done()
		return nil
	}
	return f.start(ctx)
}

// idle returns a module that only waits for its context.
func idle(name, group string) *fakeModule { return &fakeModule{name: name, group: group} }

// logBuffer collects log output for assertions; safe for concurrent use.
type logBuffer struct {
	// mu guards buf.
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newBus returns a bus logging at debug level into the returned buffer,
// with the modules registered under the zero Policy.
func newBus(t *testing.T, opts Options, mods ...Module) (*Bus, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, m := range mods {
		if err := b.Register(m, Policy{}); err != nil {
			t.Fatalf("Register %s: %v", m.Name(), err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bus log:\n%s", logs)
		}
	})
	return b, logs
}

// startBus runs b in a goroutine and returns a function that cancels Run
// and returns its error.
func startBus(t *testing.T, b *Bus) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx) }()
	return func() error {
		cancel()
		return <-errc
	}
}

// msg returns a message from src to dst with content body.
func msg(src, dst, body string) message.Message {
	return message.New(src, dst, message.OpUpdate, message.Resource{}, []byte(body))
}

// recv receives one message for module, failing the test after a deadline.
func recv(t *testing.T, b *Bus, module string) message.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := b.Receive(ctx, module)
	if err != nil {
		t.Fatalf("Receive(%s): %v", module, err)
	}
	return m
}

// assertEmpty fails if module has a message queued.
func assertEmpty(t *testing.T, b *Bus, module string) {
	t.Helper()
	e, err := b.lookup(module)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.queue); n != 0 {
		t.Fatalf("%s has %d queued messages, want 0", module, n)
	}
}

// checkNoLeaks fails the test, at cleanup, if goroutines started during it
// are still running 5s later. goleak.Find alone gives up after about 0.4s,
// too soon for goroutines a loaded -race run is still unwinding.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if err = goleak.Find(opt); err == nil {
				return
			}
		}
		t.Error(err)
	})
}
