package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether-edge/tether/beehive"
)

// fakeSource is a StatusSource whose answer the test sets.
type fakeSource struct {
	mu      sync.Mutex
	modules []beehive.ModuleStatus
}

func (f *fakeSource) Status() []beehive.ModuleStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]beehive.ModuleStatus(nil), f.modules...)
}

func (f *fakeSource) set(m ...beehive.ModuleStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modules = m
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer runs a Server on a free port until the test ends and returns its base URL.
func startServer(t *testing.T, src StatusSource, checks ...Check) (*Server, string) {
	t.Helper()
	s, err := New(Options{Address: "127.0.0.1:0", Source: src, Logger: discard(), Checks: checks})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v after cancel", err)
		}
	})
	return s, "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadyzNamesModulesNotRunning(t *testing.T) {
	src := &fakeSource{}
	src.set(beehive.ModuleStatus{Name: "edgehub", Running: true}, beehive.ModuleStatus{Name: "edged", Running: false},
		beehive.ModuleStatus{Name: "devicetwin", Running: false})
	_, base := startServer(t, src)

	code, body := get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "devicetwin, edged") || strings.Contains(body, "edgehub") {
		t.Errorf("readyz with two modules down = %d %q", code, body)
	}
	src.set(beehive.ModuleStatus{Name: "edgehub", Running: true})
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("readyz with all running = %d %q", code, body)
	}
}

func TestHealthzRunsChecks(t *testing.T) {
	var failing atomic.Bool
	check := Check{Name: "pleg", Func: func(context.Context) error {
		if failing.Load() {
			return errors.New("relist stalled")
		}
		return nil
	}}
	_, base := startServer(t, &fakeSource{}, check)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthy = %d %q", code, body)
	}
	failing.Store(true)
	code, body := get(t, base+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "pleg: relist stalled") {
		t.Errorf("unhealthy = %d %q", code, body)
	}
}

func TestStatusIsJSON(t *testing.T) {
	src := &fakeSource{}
	src.set(beehive.ModuleStatus{Name: "health", Group: "health", Running: true, Restarts: 2, LastError: "boom"})
	_, base := startServer(t, src)
	_, body := get(t, base+"/status")
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, body)
	}
	if len(got) != 1 || got[0]["name"] != "health" || got[0]["restarts"] != 2.0 || got[0]["lastError"] != "boom" {
		t.Errorf("status = %s", body)
	}
}

func TestNewReportsBusyPort(t *testing.T) {
	s, _ := startServer(t, &fakeSource{})
	_, err := New(Options{Address: s.Addr().String(), Source: &fakeSource{}, Logger: discard()})
	if err == nil || !strings.Contains(err.Error(), s.Addr().String()) {
		t.Errorf("second server on %s: err = %v, want one naming the address", s.Addr(), err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, opts := range []Options{
		{Source: &fakeSource{}, Logger: discard()},
		{Address: "127.0.0.1:0", Logger: discard()},
		{Address: "127.0.0.1:0", Source: &fakeSource{}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) accepted incomplete options", opts)
		}
	}
}

// After a stop, Start binds again on the same address (the bus restarts modules).
func TestStartAgainAfterStop(t *testing.T) {
	s, err := New(Options{Address: "127.0.0.1:0", Source: &fakeSource{}, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("first Start: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	waitServing(t, "http://"+addr+"/healthz")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("second Start: %v", err)
	}
}

// waitServing polls url until it answers, for at most 5 s.
func waitServing(t *testing.T, url string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-deadline:
			t.Fatalf("%s not serving within 5 s: %v", url, err)
		case <-tick.C:
		}
	}
}
