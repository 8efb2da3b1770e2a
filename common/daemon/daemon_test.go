package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/config"
)

// fakeConfig is a config kind whose validity the test chooses.
type fakeConfig struct{ invalid bool }

func (c fakeConfig) Validate() error {
	if c.invalid {
		return errors.New("nodeName: Invalid value")
	}
	return nil
}
func (c fakeConfig) YAML() ([]byte, error) { return []byte("kind: Fake\n"), nil }

// fakeDaemon loads any path except one containing "bad", and sets *ran
// when it runs.
func fakeDaemon(ran *bool) Daemon[fakeConfig] {
	return Daemon[fakeConfig]{
		Name:     "faked",
		Defaults: func() fakeConfig { return fakeConfig{} },
		Load: func(path string) (fakeConfig, error) {
			if strings.Contains(path, "bad") {
				return fakeConfig{}, errors.New("config " + path + `: unknown field "x"`)
			}
			return fakeConfig{}, nil
		},
		Run: func(context.Context, fakeConfig) error { *ran = true; return nil },
	}
}

func execute(d Daemon[fakeConfig], args ...string) (string, error) {
	cmd := d.Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestDefaultConfigPrintsAndDoesNotRun(t *testing.T) {
	var ran bool
	out, err := execute(fakeDaemon(&ran), "--defaultconfig")
	if err != nil || out != "kind: Fake\n" {
		t.Errorf("--defaultconfig = %q, %v", out, err)
	}
	if ran {
		t.Error("--defaultconfig ran the daemon")
	}
}

func TestConfigLoadsAndRuns(t *testing.T) {
	var ran bool
	if _, err := execute(fakeDaemon(&ran), "--config", "good.yaml"); err != nil || !ran {
		t.Errorf("--config good.yaml: err %v, ran %v", err, ran)
	}
}

func TestConfigErrorStopsBeforeRun(t *testing.T) {
	var ran bool
	_, err := execute(fakeDaemon(&ran), "--config", "bad.yaml")
	if err == nil || !strings.Contains(err.Error(), `unknown field "x"`) {
		t.Errorf("err = %v, want the load error", err)
	}
	if ran {
		t.Error("the daemon ran despite a bad config")
	}
}

func TestInvalidDefaultsAreReported(t *testing.T) {
	d := fakeDaemon(new(bool))
	d.Defaults = func() fakeConfig { return fakeConfig{invalid: true} }
	_, err := execute(d)
	if err == nil || !strings.Contains(err.Error(), "default config") || !strings.Contains(err.Error(), "--defaultconfig") {
		t.Errorf("err = %v, want one that says the defaults are invalid and how to fix it", err)
	}
}

func TestRejectsArguments(t *testing.T) {
	if _, err := execute(fakeDaemon(new(bool)), "extra"); err == nil {
		t.Error("accepted a stray argument")
	}
}

// waiter is a module that runs until its context ends, or fails at once.
type waiter struct {
	name    string
	fail    error
	started chan struct{}
}

func (w *waiter) Name() string  { return w.name }
func (w *waiter) Group() string { return "test" }
func (w *waiter) Start(ctx context.Context) error {
	close(w.started)
	if w.fail != nil {
		return w.fail
	}
	<-ctx.Done()
	return nil
}

func testProcess(t *testing.T, mods ...*waiter) Process {
	return Process{
		Name:   "faked",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Bus:    config.Bus{QueueSize: 8, ShutdownTimeout: config.Duration{Duration: 5 * time.Second}},
		Modules: func(*beehive.Bus, prometheus.Registerer) ([]Entry, error) {
			var es []Entry
			for _, m := range mods {
				es = append(es, Entry{Module: m, Policy: beehive.Policy{OnError: beehive.StopProcess}})
			}
			return es, nil
		},
	}
}

func TestProcessRunsModulesUntilCancelled(t *testing.T) {
	m := &waiter{name: "a", started: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- testProcess(t, m).Run(ctx) }()
	select {
	case <-m.started:
	case <-time.After(5 * time.Second):
		t.Fatal("module not started within 5 s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancel")
	}
}

func TestProcessFailingModuleStopsIt(t *testing.T) {
	ok := &waiter{name: "ok", started: make(chan struct{})}
	bad := &waiter{name: "bad", fail: errors.New("boom"), started: make(chan struct{})}
	err := testProcess(t, ok, bad).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "bad") {
		t.Errorf("Run = %v, want the failing module's error naming it", err)
	}
}

func TestProcessHealthListenError(t *testing.T) {
	p := testProcess(t)
	p.Health.Address = "127.0.0.1:notaport"
	if err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "notaport") {
		t.Errorf("Run = %v, want a listen error naming the address", err)
	}
}

func TestProcessDuplicateModule(t *testing.T) {
	a1 := &waiter{name: "a", started: make(chan struct{})}
	a2 := &waiter{name: "a", started: make(chan struct{})}
	if err := testProcess(t, a1, a2).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "register module a") {
		t.Errorf("Run = %v, want a registration error naming the module", err)
	}
}

func TestProcessHealthzRunsModuleChecks(t *testing.T) {
	m := &waiter{name: "pods", started: make(chan struct{})}
	p := testProcess(t, m)
	addr := freeAddr(t)
	p.Health.Address = addr
	modules := p.Modules
	var failing atomic.Bool
	failing.Store(true)
	p.Modules = func(b *beehive.Bus, reg prometheus.Registerer) ([]Entry, error) {
		es, err := modules(b, reg)
		es[0].Healthz = func(context.Context) error {
			if failing.Load() {
				return errors.New("runtime is down")
			}
			return nil
		}
		return es, err
	}
	runProcess(t, p)
	code, body := getServed(t, "http://"+addr+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "pods: runtime is down") {
		t.Errorf("/healthz with a failing check = %d %q, want 503 naming the module and its error", code, body)
	}
	failing.Store(false)
	if code, body := getServed(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with a passing check = %d %q, want 200", code, body)
	}
}

// A metric a module registers is served on the health endpoint's /metrics,
// next to the Go runtime's and the process's.
func TestProcessServesModuleMetrics(t *testing.T) {
	m := &waiter{name: "pods", started: make(chan struct{})}
	p := testProcess(t, m)
	addr := freeAddr(t)
	p.Health.Address = addr
	modules := p.Modules
	p.Modules = func(b *beehive.Bus, reg prometheus.Registerer) ([]Entry, error) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "tether_test_things_total", Help: "Things."})
		reg.MustRegister(c)
		c.Add(3)
		return modules(b, reg)
	}
	runProcess(t, p)
	_, body := getServed(t, "http://"+addr+"/metrics")
	for _, want := range []string{"tether_test_things_total 3", "go_goroutines ", "process_open_fds "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

// A registry the caller passes is the one served: collectors registered on
// it before Run (edgecore's store) appear beside the modules' own.
func TestProcessServesCallersRegistry(t *testing.T) {
	p := testProcess(t, &waiter{name: "pods", started: make(chan struct{})})
	addr := freeAddr(t)
	p.Health.Address = addr
	p.Metrics = NewRegistry()
	early := prometheus.NewCounter(prometheus.CounterOpts{Name: "tether_test_early_total", Help: "Early things."})
	p.Metrics.MustRegister(early)
	early.Add(2)
	runProcess(t, p)
	_, body := getServed(t, "http://"+addr+"/metrics")
	for _, want := range []string{"tether_test_early_total 2", "go_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

// runProcess runs p until the test ends, then checks that it stopped cleanly.
func runProcess(t *testing.T, p Process) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	})
}

// getServed GETs url once the endpoint answers (within 5 s) and returns the
// status and body.
func getServed(t *testing.T, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tick := time.NewTicker(20 * time.Millisecond); ; <-tick.C {
		resp, err := http.Get(url)
		if err == nil {
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
