package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestWaitAll(t *testing.T) {
	tests := []struct {
		name  string
		n     int   // channels
		close []int // closed, in this order
		want  bool
	}{
		{"none", 0, nil, true},
		{"one closed", 1, []int{0}, true},
		{"one open", 1, nil, false},
		{"both closed, second first", 2, []int{1, 0}, true},
		{"first of two closed", 2, []int{0}, false},
		{"second of two closed", 2, []int{1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				chans := make([]chan struct{}, tt.n)
				ro := make([]<-chan struct{}, tt.n)
				for i := range chans {
					chans[i] = make(chan struct{})
					ro[i] = chans[i]
				}
				var got bool
				done := make(chan struct{})
				go func() {
					defer close(done)
					got = waitAll(ctx, ro...)
				}()
				for _, i := range tt.close {
					synctest.Wait()
					close(chans[i])
				}
				synctest.Wait()
				if !tt.want && closed(done) {
					t.Fatal("waitAll returned with a channel still open")
				}
				cancel() // ends a waitAll that is still waiting
				<-done
				if got != tt.want {
					t.Errorf("waitAll = %v, want %v", got, tt.want)
				}
			})
		})
	}
}

// syncLog collects what the gate logs.
type syncLog struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *syncLog) lines(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

var crdsMissing = apierrors.NewNotFound(schema.GroupResource{Group: "devices.kubeedge.io", Resource: "devicemodels"}, "")

// Ready closes only when both controllers have synced, whichever is last;
// while DeviceController has not, the gate warns after 15 s and then every
// minute, naming the CRDs and how to install them when the probe says they
// are missing, and stops warning once it has synced.
func TestSyncGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log syncLog
		edge, devices := make(chan struct{}), make(chan struct{})
		var probeErr error = crdsMissing
		var probeMu sync.Mutex
		probe := func(context.Context) error {
			probeMu.Lock()
			defer probeMu.Unlock()
			return probeErr
		}
		g := newSyncGate(slog.New(slog.NewTextHandler(&log, nil)), devices, probe, edge)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- g.Start(ctx) }()
		t.Cleanup(cancel) // when the test fails early

		close(edge)
		synctest.Wait()
		if closed(g.Ready()) {
			t.Fatal("Ready closed before DeviceController synced")
		}
		const crdHint = "kubectl apply -f build/crds/"
		time.Sleep(syncWarnAfter - time.Millisecond)
		synctest.Wait()
		if n := log.lines("level=WARN"); n != 0 {
			t.Fatalf("%d warnings before %s:\n%s", n, syncWarnAfter, log.String())
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := log.lines(crdHint); n != 1 {
			t.Fatalf("after %s: %d warnings naming the CRDs, want 1:\n%s", syncWarnAfter, n, log.String())
		}
		time.Sleep(syncWarnEvery - time.Millisecond)
		synctest.Wait()
		if n := log.lines("level=WARN"); n != 1 {
			t.Fatalf("%d warnings within a minute of the first, want 1", n)
		}

		probeMu.Lock()
		probeErr = errors.New("forbidden")
		probeMu.Unlock()
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if log.lines("level=WARN") != 2 || log.lines("cannot list Devices and DeviceModels") != 1 {
			t.Fatalf("second warning does not give the probe's error:\n%s", log.String())
		}

		close(devices)
		synctest.Wait()
		if !closed(g.Ready()) {
			t.Fatal("Ready still open after both controllers synced")
		}
		time.Sleep(10 * syncWarnEvery)
		synctest.Wait()
		if n := log.lines("level=WARN"); n != 2 {
			t.Errorf("%d warnings after DeviceController synced, want none more", n-2)
		}
		select {
		case err := <-done:
			t.Fatalf("Start returned %v before its context ended", err)
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start = %v", err)
		}
	})
}

// Without DeviceController the gate waits only for EdgeController, never
// warns, and a second Start (a restart) keeps Ready closed.
func TestSyncGateWithoutDevices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log syncLog
		edge := make(chan struct{})
		g := newSyncGate(slog.New(slog.NewTextHandler(&log, nil)), nil, nil, edge)
		for range 2 {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- g.Start(ctx) }()
			time.Sleep(time.Hour)
			synctest.Wait()
			if closed(edge) != closed(g.Ready()) {
				t.Fatalf("Ready closed %v, EdgeController synced %v", closed(g.Ready()), closed(edge))
			}
			if !closed(edge) {
				close(edge)
				synctest.Wait()
				if !closed(g.Ready()) {
					t.Fatal("Ready still open after EdgeController synced")
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Start = %v", err)
			}
		}
		if n := log.lines("level=WARN"); n != 0 {
			t.Errorf("%d warnings without DeviceController:\n%s", n, log.String())
		}
	})
}
