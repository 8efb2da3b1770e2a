package prober

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// fakeExec answers exec probes by container ID and command name (the
// probe kinds' commands are "live", "ready" and "start" in these tests).
type fakeExec struct {
	// mu guards everything below.
	mu    sync.Mutex
	codes map[string]int32 // "containerID/cmd" → exit code; absent is 0
	errs  map[string]error // "containerID/cmd" → error
	calls map[string]int   // "containerID/cmd" → number of calls
	// block makes every call wait for its context to end.
	block bool
}

func newFakeExec() *fakeExec {
	return &fakeExec{codes: map[string]int32{}, errs: map[string]error{}, calls: map[string]int{}}
}

func (f *fakeExec) Exec(ctx context.Context, id string, cmd []string, _ time.Duration) ([]byte, []byte, int32, error) {
	k := id + "/" + cmd[0]
	f.mu.Lock()
	f.calls[k]++
	code, err, block := f.codes[k], f.errs[k], f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, nil, 0, ctx.Err()
	}
	return []byte("out of " + k), nil, code, err
}

func (f *fakeExec) set(k string, code int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes[k] = code
}

func (f *fakeExec) setErr(k string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[k] = err
}

func (f *fakeExec) count(k string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[k]
}

// failure is one OnLivenessFailure call.
type failure struct {
	uid                   types.UID
	name, id, messageHead string
}

// recorder records the Manager's callbacks.
type recorder struct {
	// mu guards everything below.
	mu       sync.Mutex
	changes  map[types.UID]int
	failures []failure
	// m, when set, is read from onChange: callbacks must not run under the
	// Manager's lock.
	m *Manager
}

func (r *recorder) onChange(uid types.UID) {
	if r.m != nil {
		r.m.Results(uid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changes == nil {
		r.changes = map[types.UID]int{}
	}
	r.changes[uid]++
}

func (r *recorder) onLiveness(uid types.UID, name, id, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	head, _, _ := strings.Cut(msg, ":")
	r.failures = append(r.failures, failure{uid, name, id, head})
}

func (r *recorder) changed(uid types.UID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changes[uid]
}

func (r *recorder) failed() []failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.failures)
}

func newManager(t *testing.T, f *fakeExec, r *recorder) *Manager {
	t.Helper()
	m, err := New(Options{
		Exec:              f.Exec,
		Logger:            slog.New(slog.DiscardHandler),
		OnChange:          r.onChange,
		OnLivenessFailure: r.onLiveness,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
	return m
}

// execProbe is an exec probe running cmd with the given period, initial
// delay and thresholds (seconds, counts; zero takes the defaults).
func execProbe(cmd string, period, delay, success, failure int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{cmd}}},
		PeriodSeconds:       period,
		InitialDelaySeconds: delay,
		SuccessThreshold:    success,
		FailureThreshold:    failure,
	}
}

func testPod(uid types.UID, cs ...corev1.Container) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: cs}}
	p.UID, p.Name, p.Namespace = uid, "web", "default"
	return p
}

// runningPod is a runstate.Pod whose containers run, started at start.
func runningPod(uid types.UID, start time.Time, ids map[string]string) *runstate.Pod {
	rp := &runstate.Pod{UID: uid}
	for name, id := range ids {
		rp.Containers = append(rp.Containers, runstate.Container{
			ID: id, Name: name, State: runstate.ContainerRunning,
			Detail: runstate.Detail{Inspected: true, StartedAt: start},
		})
	}
	return rp
}
