package staticpod

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestNewSourceValidates(t *testing.T) {
	for _, o := range []Options{
		{NodeName: "edge-a"},
		{Dir: "/d"},
		{Dir: "/d", NodeName: "edge-a", Period: -time.Second},
	} {
		if _, err := NewSource(o); err == nil {
			t.Errorf("NewSource(%+v) = nil error", o)
		}
	}
	s, err := NewSource(Options{Dir: "/d", NodeName: "edge-a"})
	if err != nil || s.opts.Period != DefaultPeriod || s.opts.Logger == nil || s.opts.Now == nil {
		t.Errorf("defaults: %+v %v", s.opts, err)
	}
}

// syncBuffer is a log sink the test reads while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

// TestRun drives Run on a fake clock: the first scan is reported even
// when empty, unchanged scans are not, a new file, a broken file (kept,
// warned at every scan) and a removed file are.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		logs := &syncBuffer{}
		s, err := NewSource(Options{Dir: dir, NodeName: "edge-a", Period: time.Second,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu   sync.Mutex
			sets [][]*corev1.Pod
		)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.Run(ctx, func(pods []*corev1.Pod) {
				mu.Lock()
				defer mu.Unlock()
				sets = append(sets, pods)
			})
		}()
		calls := func() [][]*corev1.Pod {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(sets)
		}
		tick := func() { time.Sleep(time.Second) } // the fake clock: one period

		if got := calls(); len(got) != 1 || len(got[0]) != 0 {
			t.Fatalf("after the first scan: %d calls %v, want one, empty", len(got), got)
		}
		tick()
		if got := calls(); len(got) != 1 {
			t.Fatalf("an unchanged scan called onChange: %d calls", len(got))
		}

		writeFiles(t, dir, map[string]string{"web.yaml": webYAML})
		tick()
		got := calls()
		if len(got) != 2 || !slices.Equal(names(got[1]), []string{"default/web-edge-a"}) {
			t.Fatalf("after adding web.yaml: %d calls", len(got))
		}
		uid := got[1][0].UID
		got[1][0].Name = "changed by the callee" // the callee's own

		writeFiles(t, dir, map[string]string{"web.yaml": "kind: [broken"})
		tick()
		tick()
		if got := calls(); len(got) != 2 {
			t.Fatalf("a broken file called onChange: %d calls", len(got))
		}
		if n := logs.count("static pod manifest not used"); n != 2 {
			t.Errorf("%d warnings for the broken file over 2 scans, want 2", n)
		}

		if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{"db.json": dbJSON})
		tick()
		got = calls()
		if len(got) != 3 || !slices.Equal(names(got[2]), []string{"data/db-edge-a"}) {
			t.Fatalf("after replacing web by db: %d calls, last %v", len(got), names(got[len(got)-1]))
		}
		if s.prev["db.json"].UID == uid {
			t.Error("db got web's UID")
		}

		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run did not return after its context ended")
		}
	})
}

// TestRunReportsChangedContent: rewriting a file with other content (same
// pod name) is a change: the UID differs.
func TestRunReportsChangedContent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"web.yaml": webYAML})
		s, err := NewSource(Options{Dir: dir, NodeName: "edge-a", Period: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var uids []string
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, func(pods []*corev1.Pod) {
			for _, p := range pods {
				uids = append(uids, string(p.UID))
			}
		})
		synctest.Wait()
		writeFiles(t, dir, map[string]string{"web.yaml": strings.Replace(webYAML, "1.27", "1.28", 1)})
		time.Sleep(time.Second)
		synctest.Wait()
		if len(uids) != 2 || uids[0] == uids[1] {
			t.Errorf("uids %v, want two different", uids)
		}
		cancel()
		synctest.Wait()
	})
}
