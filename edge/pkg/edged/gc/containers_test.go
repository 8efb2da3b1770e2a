package gc

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

func TestDeadContainers(t *testing.T) {
	ready, notReady := runstate.SandboxReady, runstate.SandboxNotReady
	app := func(id string, attempt uint32, created time.Duration) runstate.Container {
		return exited(id, "sb", "app", attempt, created)
	}
	for _, tc := range []struct {
		name              string
		snap              *runstate.Snapshot
		live              []string
		keep              int
		minAge            time.Duration
		wantCtrs, wantSbs []string
	}{{
		name: "nil snapshot",
	}, {
		name: "live pod keeps the newest keep exited instances",
		snap: snapshot(pod("a", []runstate.Sandbox{sb("sb", ready)},
			app("c3", 3, 3*time.Minute), app("c2", 2, 2*time.Minute), app("c1", 1, time.Minute), app("c0", 0, 0))),
		live: []string{"a"}, keep: 2,
		wantCtrs: []string{"c0", "c1"},
	}, {
		name: "keep counts per container name",
		snap: snapshot(pod("a", []runstate.Sandbox{sb("sb", ready)},
			app("c3", 1, 3*time.Minute), exited("c2", "sb", "side", 1, 2*time.Minute),
			app("c1", 0, time.Minute), exited("c0", "sb", "side", 0, 0))),
		live: []string{"a"}, keep: 1,
		wantCtrs: []string{"c0", "c1"},
	}, {
		name: "keep 0 still keeps the newest instance of a live pod",
		snap: snapshot(pod("a", []runstate.Sandbox{sb("sb", ready)}, app("c1", 1, time.Minute), app("c0", 0, 0))),
		live: []string{"a"}, keep: 0,
		wantCtrs: []string{"c0"},
	}, {
		name: "running, created and unknown containers stay and do not count as kept",
		snap: snapshot(pod("a", []runstate.Sandbox{sb("sb", ready)},
			withState(app("c4", 4, 4*time.Minute), runstate.ContainerRunning),
			withState(app("c3", 3, 3*time.Minute), runstate.ContainerCreated),
			withState(app("c2", 2, 2*time.Minute), runstate.ContainerUnknown),
			app("c1", 1, time.Minute), app("c0", 0, 0))),
		live: []string{"a"}, keep: 1,
		wantCtrs: []string{"c0"},
	}, {
		name: "min age from the finish time when inspected, else the creation",
		snap: snapshot(pod("a", []runstate.Sandbox{sb("sb", ready)},
			app("c3", 3, 59*time.Minute),
			finished(app("c2", 2, 10*time.Minute), 59*time.Minute+30*time.Second), // finished 30s ago
			app("c1", 1, 59*time.Minute+30*time.Second),                           // created 30s ago
			finished(app("c0", 0, 0), 50*time.Minute))),                           // finished 10m ago
		live: []string{"a"}, keep: 1, minAge: time.Minute,
		wantCtrs: []string{"c0"},
	}, {
		name: "a pod that is not live loses every exited container whatever its age, and its empty sandboxes",
		snap: snapshot(pod("a", []runstate.Sandbox{sb("sb2", notReady), sb("sb1", notReady)},
			exited("c2", "sb2", "app", 0, 59*time.Minute+59*time.Second),
			exited("c1", "sb1", "app", 1, 2*time.Minute), exited("c0", "sb1", "app", 0, 0))),
		keep: 5, minAge: time.Hour,
		wantCtrs: []string{"c0", "c1", "c2"}, wantSbs: []string{"sb1", "sb2"},
	}, {
		name: "a pod that is not live keeps running containers and their sandbox",
		snap: snapshot(pod("a", []runstate.Sandbox{sb("sb", notReady)},
			withState(app("c1", 1, time.Minute), runstate.ContainerRunning), app("c0", 0, 0))),
		wantCtrs: []string{"c0"},
	}, {
		name:    "a ready sandbox stays even when empty and not live",
		snap:    snapshot(pod("a", []runstate.Sandbox{sb("sb2", ready), sb("sb1", notReady)})),
		wantSbs: []string{"sb1"},
	}, {
		name: "a live pod keeps its newest sandbox and sandboxes holding kept containers",
		snap: snapshot(pod("a",
			[]runstate.Sandbox{sb("sb3", notReady), sb("sb2", notReady), sb("sb1", notReady), sb("sb0", notReady)},
			exited("c1", "sb1", "app", 1, time.Minute), exited("c0", "sb0", "app", 0, 0))),
		live: []string{"a"}, keep: 1,
		wantCtrs: []string{"c0"}, wantSbs: []string{"sb0", "sb2"},
	}, {
		name: "pods in UID order",
		snap: snapshot(
			pod("b", []runstate.Sandbox{sb("sbb", notReady)}, exited("cb", "sbb", "app", 0, 0)),
			pod("a", []runstate.Sandbox{sb("sba", notReady)}, exited("ca", "sba", "app", 0, 0)),
			pod("c", []runstate.Sandbox{sb("sbc", ready)}, exited("cc", "sbc", "app", 0, 0))),
		live: []string{"c"}, keep: 1,
		wantCtrs: []string{"ca", "cb"}, wantSbs: []string{"sba", "sbb"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctrs, sbs := DeadContainers(tc.snap, liveSet(tc.live...), tc.keep, tc.minAge, t0.Add(time.Hour))
			if !slices.Equal(ctrs, tc.wantCtrs) || !slices.Equal(sbs, tc.wantSbs) {
				t.Errorf("DeadContainers = %v, %v; want %v, %v", ctrs, sbs, tc.wantCtrs, tc.wantSbs)
			}
		})
	}
}

func TestLogDirNames(t *testing.T) {
	for _, tc := range []struct {
		ns, name, uid string
		want          string
		ok            bool
	}{
		{"default", "web", "u-1", "default_web_u-1", true},
		{"..", "web", "u-1", "", false},
		{"default", "a/b", "u-1", "", false},
		{"default", "web", "", "", false},
	} {
		got, ok := podLogDir(&runstate.Pod{UID: types.UID(tc.uid), Namespace: tc.ns, Name: tc.name})
		if got != tc.want || ok != tc.ok {
			t.Errorf("podLogDir(%q, %q, %q) = %q, %v; want %q, %v", tc.ns, tc.name, tc.uid, got, ok, tc.want, tc.ok)
		}
	}
	for name, want := range map[string]string{"default_web_u-1": "u-1", "default_web": "", "a_b_c_d": "", "_web_u": ""} {
		uid, ok := uidOfLogDir(name)
		if string(uid) != want || ok != (want != "") {
			t.Errorf("uidOfLogDir(%q) = %q, %v; want %q", name, uid, ok, want)
		}
	}
}
