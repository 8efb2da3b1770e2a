package prober

import (
	"errors"
	"log/slog"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

const uid = types.UID("u1")

func TestNewValidates(t *testing.T) {
	f := newFakeExec()
	if _, err := New(Options{Logger: nil, Exec: f.Exec}); err == nil {
		t.Error("New without Logger: no error")
	}
	if _, err := New(Options{Logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Error("New without Exec: no error")
	}
}

// TestReadinessThresholds runs a readiness probe every second with the
// scripted exit codes and checks the result after each run.
func TestReadinessThresholds(t *testing.T) {
	tests := []struct {
		name             string
		success, failure int32
		codes            []int32
		want             []bool
		changes          int
	}{
		{"defaults", 0, 0, []int32{0, 1, 1, 1, 0}, []bool{true, true, true, false, true}, 3},
		{"two and two", 2, 2, []int32{0, 0, 1, 1, 0, 1, 0, 0}, []bool{false, true, true, false, false, false, false, true}, 3},
		{"never ready", 1, 1, []int32{1, 1, 1}, []bool{false, false, false}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, r := newFakeExec(), &recorder{}
				m := newManager(t, f, r)
				defer m.Stop()
				pod := testPod(uid, corev1.Container{Name: "app", ReadinessProbe: execProbe("ready", 1, 0, tt.success, tt.failure)})
				if ready, _ := m.Results(uid); ready != nil {
					t.Fatalf("Results before Sync = %v, want nil", ready)
				}
				for i, code := range tt.codes {
					f.set("c1/ready", code)
					if i == 0 {
						m.Sync(pod, runningPod(uid, time.Now(), map[string]string{"app": "c1"}), "")
					} else {
						time.Sleep(time.Second)
					}
					synctest.Wait()
					if n := f.count("c1/ready"); n != i+1 {
						t.Fatalf("probe %d: %d calls", i, n)
					}
					ready, started := m.Results(uid)
					if got, ok := ready["c1"]; !ok || got != tt.want[i] || len(ready) != 1 || len(started) != 0 {
						t.Fatalf("probe %d (exit %d): Results = %v, %v; want ready[c1]=%v only", i, code, ready, started, tt.want[i])
					}
				}
				if got := r.changed(uid); got != tt.changes {
					t.Errorf("OnChange called %d times, want %d", got, tt.changes)
				}
			})
		})
	}
}

// TestTiming checks when a probe first runs (initial delay from the
// container's start) and its period.
func TestTiming(t *testing.T) {
	tests := []struct {
		name          string
		startedAgo    time.Duration // -1: the runtime did not say
		delay, period int32
		first, every  time.Duration // since Sync
	}{
		{"defaults", 0, 0, 0, 0, 10 * time.Second},
		{"delay", 0, 5, 2, 5 * time.Second, 2 * time.Second},
		{"delay partly passed", 10 * time.Second, 15, 3, 5 * time.Second, 3 * time.Second},
		{"delay passed", 30 * time.Second, 15, 1, 0, time.Second},
		{"start unknown", -1, 5, 1, 5 * time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, r := newFakeExec(), &recorder{}
				m := newManager(t, f, r)
				defer m.Stop()
				pod := testPod(uid, corev1.Container{Name: "app", LivenessProbe: execProbe("live", tt.period, tt.delay, 0, 0)})
				rp := runningPod(uid, time.Now().Add(-tt.startedAgo), map[string]string{"app": "c1"})
				if tt.startedAgo < 0 {
					rp.Containers[0].StartedAt = time.Time{}
				}
				half := 500 * time.Millisecond
				m.Sync(pod, rp, "")
				expect := func(when string, want int) {
					t.Helper()
					synctest.Wait()
					if n := f.count("c1/live"); n != want {
						t.Fatalf("%s: %d probes, want %d", when, n, want)
					}
				}
				if tt.first > 0 {
					time.Sleep(tt.first - half)
					expect("just before the first", 0)
					time.Sleep(half)
				}
				expect("at the first", 1)
				time.Sleep(tt.every - half)
				expect("just before the second", 1)
				time.Sleep(half)
				expect("at the second", 2)
			})
		})
	}
}

// TestLiveness checks that failureThreshold failures in a row call
// OnLivenessFailure once and end the worker for that container instance.
func TestLiveness(t *testing.T) {
	tests := []struct {
		name   string
		codes  []int32 // the last one repeats
		failAt int     // the probe that calls back; -1 none
	}{
		{"fails", []int32{1}, 1},
		{"not in a row", []int32{1, 0, 1, 0, 1, 0}, -1},
		{"fails later", []int32{0, 0, 1, 0, 1, 1}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, r := newFakeExec(), &recorder{}
				m := newManager(t, f, r)
				defer m.Stop()
				pod := testPod(uid, corev1.Container{Name: "app", LivenessProbe: execProbe("live", 1, 0, 0, 2)})
				rp := runningPod(uid, time.Now(), map[string]string{"app": "c1"})
				f.set("c1/live", tt.codes[0])
				m.Sync(pod, rp, "")
				for _, code := range tt.codes[1:] {
					synctest.Wait()
					f.set("c1/live", code)
					time.Sleep(time.Second)
				}
				time.Sleep(10 * time.Second) // long after: no more probes or calls
				m.Sync(pod, rp, "")          // the same instance: not probed again
				time.Sleep(10 * time.Second)
				synctest.Wait()

				fs := r.failed()
				if tt.failAt < 0 {
					if len(fs) != 0 {
						t.Fatalf("OnLivenessFailure calls %v, want none", fs)
					}
					return
				}
				want := failure{uid, "app", "c1", "Liveness probe failed"}
				if len(fs) != 1 || fs[0] != want {
					t.Fatalf("OnLivenessFailure calls %v, want once %v", fs, want)
				}
				if n := f.count("c1/live"); n != tt.failAt+1 {
					t.Errorf("%d probes, want %d (none after the failure)", n, tt.failAt+1)
				}
				// The restarted container is a new instance, probed again.
				m.Sync(pod, runningPod(uid, time.Now(), map[string]string{"app": "c2"}), "")
				synctest.Wait()
				if n := f.count("c2/live"); n != 1 {
					t.Errorf("new instance: %d probes, want 1", n)
				}
			})
		})
	}
}

// TestExecErrors: a timeout is a failure, another error gives no result.
func TestExecErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		failures int
	}{
		{"grpc deadline", status.Error(codes.DeadlineExceeded, "timeout 1s exceeded"), 1},
		{"other", errors.New("container gone"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, r := newFakeExec(), &recorder{}
				m := newManager(t, f, r)
				defer m.Stop()
				f.setErr("c1/live", tt.err)
				pod := testPod(uid, corev1.Container{Name: "app", LivenessProbe: execProbe("live", 1, 0, 0, 1)})
				m.Sync(pod, runningPod(uid, time.Now(), map[string]string{"app": "c1"}), "")
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if fs := r.failed(); len(fs) != tt.failures {
					t.Errorf("OnLivenessFailure calls %v, want %d", fs, tt.failures)
				}
			})
		})
	}
}

// TestStartupGates checks that liveness and readiness wait for the startup
// probe's success, which is latched.
func TestStartupGates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, r := newFakeExec(), &recorder{}
		m := newManager(t, f, r)
		defer m.Stop()
		// Startup runs at 0, 3, 6...; the others at 0, 2, 4...
		pod := testPod(uid, corev1.Container{
			Name:           "app",
			StartupProbe:   execProbe("start", 3, 0, 0, 5),
			LivenessProbe:  execProbe("live", 2, 0, 0, 1),
			ReadinessProbe: execProbe("ready", 2, 0, 0, 1),
		})
		f.set("c1/start", 1)
		m.Sync(pod, runningPod(uid, time.Now(), map[string]string{"app": "c1"}), "")
		synctest.Wait()
		f.set("c1/start", 0)
		check := func(when string, start, others int, started, ready bool) {
			t.Helper()
			synctest.Wait()
			if n := f.count("c1/start"); n != start {
				t.Errorf("%s: %d startup probes, want %d", when, n, start)
			}
			if nl, nr := f.count("c1/live"), f.count("c1/ready"); nl != others || nr != others {
				t.Errorf("%s: %d liveness, %d readiness probes, want %d", when, nl, nr, others)
			}
			rd, st := m.Results(uid)
			if want := map[string]bool{"c1": started}; !maps.Equal(st, want) {
				t.Errorf("%s: started = %v, want %v", when, st, want)
			}
			if want := map[string]bool{"c1": ready}; !maps.Equal(rd, want) {
				t.Errorf("%s: ready = %v, want %v", when, rd, want)
			}
		}
		check("at 0", 1, 0, false, false)
		time.Sleep(2500 * time.Millisecond)
		check("at 2.5s", 1, 0, false, false)
		time.Sleep(time.Second)
		check("at 3.5s", 2, 0, true, false)
		time.Sleep(time.Second)
		check("at 4.5s", 2, 1, true, true)
		f.set("c1/start", 1) // latched: never asked again
		time.Sleep(10 * time.Second)
		check("at 14.5s", 2, 6, true, true)
		if got := r.changed(uid); got != 2 {
			t.Errorf("OnChange called %d times, want 2 (started, ready)", got)
		}
		if fs := r.failed(); len(fs) != 0 {
			t.Errorf("OnLivenessFailure calls %v, want none", fs)
		}
	})
}

// TestStartupFails: failureThreshold startup failures call
// OnLivenessFailure once; liveness never ran.
func TestStartupFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, r := newFakeExec(), &recorder{}
		m := newManager(t, f, r)
		defer m.Stop()
		pod := testPod(uid, corev1.Container{
			Name:          "app",
			StartupProbe:  execProbe("start", 1, 0, 0, 2),
			LivenessProbe: execProbe("live", 1, 0, 0, 1),
		})
		f.set("c1/start", 1)
		m.Sync(pod, runningPod(uid, time.Now(), map[string]string{"app": "c1"}), "")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		want := failure{uid, "app", "c1", "Startup probe failed"}
		if fs := r.failed(); len(fs) != 1 || fs[0] != want {
			t.Errorf("OnLivenessFailure calls %v, want once %v", fs, want)
		}
		if ns, nl := f.count("c1/start"), f.count("c1/live"); ns != 2 || nl != 0 {
			t.Errorf("%d startup and %d liveness probes, want 2 and 0", ns, nl)
		}
		if _, st := m.Results(uid); !maps.Equal(st, map[string]bool{"c1": false}) {
			t.Errorf("started = %v, want c1 false", st)
		}
	})
}

// TestSyncFollowsInstances: workers of containers no longer running stop
// and their results go; Sync without running containers stops them all
// (the bubble fails if a worker goroutine is left: no Stop here).
func TestSyncFollowsInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, r := newFakeExec(), &recorder{}
		m := newManager(t, f, r)
		always := corev1.ContainerRestartPolicyAlways
		pod := testPod(uid, corev1.Container{Name: "app", ReadinessProbe: execProbe("ready", 1, 0, 0, 0)})
		pod.Spec.InitContainers = []corev1.Container{
			{Name: "side", RestartPolicy: &always, ReadinessProbe: execProbe("ready", 1, 0, 0, 0)},
			{Name: "init", ReadinessProbe: execProbe("ready", 1, 0, 0, 0)}, // not probed: not a sidecar
		}
		now := time.Now()
		m.Sync(pod, runningPod(uid, now, map[string]string{"app": "c1", "side": "s1", "init": "i1"}), "")
		synctest.Wait()
		if rd, _ := m.Results(uid); !maps.Equal(rd, map[string]bool{"c1": true, "s1": true}) {
			t.Fatalf("ready = %v, want c1 and s1 true", rd)
		}

		rp := runningPod(uid, now, map[string]string{"app": "c2", "side": "s1"})
		rp.Containers = append(rp.Containers, runstate.Container{ID: "c1", Name: "app", State: runstate.ContainerExited})
		m.Sync(pod, rp, "")
		synctest.Wait()
		c1 := f.count("c1/ready")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := f.count("c1/ready"); n != c1 {
			t.Errorf("exited c1 probed %d more times", n-c1)
		}
		if rd, _ := m.Results(uid); !maps.Equal(rd, map[string]bool{"c2": true, "s1": true}) {
			t.Errorf("ready = %v, want c2 and s1 true", rd)
		}

		m.Sync(pod, nil, "")
		if rd, st := m.Results(uid); rd != nil || st != nil {
			t.Errorf("Results after the containers went = %v, %v; want nil", rd, st)
		}
	})
}

// TestRemove stops the pod's workers (no Stop: the bubble checks they
// ended) and drops its results; other pods keep theirs.
func TestRemove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, r := newFakeExec(), &recorder{}
		m := newManager(t, f, r)
		c := corev1.Container{Name: "app", LivenessProbe: execProbe("live", 1, 0, 0, 0), ReadinessProbe: execProbe("ready", 1, 0, 0, 0)}
		m.Sync(testPod(uid, c), runningPod(uid, time.Now(), map[string]string{"app": "c1"}), "")
		m.Sync(testPod("u2", c), runningPod("u2", time.Now(), map[string]string{"app": "c2"}), "")
		synctest.Wait()
		m.Remove(uid)
		if rd, st := m.Results(uid); rd != nil || st != nil {
			t.Errorf("Results after Remove = %v, %v; want nil", rd, st)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := f.count("c1/live"); n != 1 {
			t.Errorf("removed pod probed %d times, want 1", n)
		}
		if rd, _ := m.Results("u2"); !maps.Equal(rd, map[string]bool{"c2": true}) {
			t.Errorf("other pod's ready = %v, want c2 true", rd)
		}
		m.Remove("u2")
	})
}

// TestStop ends workers blocked in a probe and makes Sync do nothing.
func TestStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, r := newFakeExec(), &recorder{}
		f.block = true
		m := newManager(t, f, r)
		pod := testPod(uid, corev1.Container{Name: "app", LivenessProbe: execProbe("live", 1, 0, 0, 0)})
		rp := runningPod(uid, time.Now(), map[string]string{"app": "c1"})
		m.Sync(pod, rp, "")
		synctest.Wait()
		if n := f.count("c1/live"); n != 1 {
			t.Fatalf("%d probes under way, want 1", n)
		}
		m.Stop()
		m.Sync(pod, rp, "")
		if rd, _ := m.Results(uid); rd != nil {
			t.Errorf("Results after Stop = %v, want nil", rd)
		}
		m.Stop() // twice is fine
	})
}
