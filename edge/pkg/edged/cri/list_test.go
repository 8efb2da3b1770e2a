package cri

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

var t0 = time.Unix(1_700_000_000, 0)

func ns(d time.Duration) int64 { return t0.Add(d).UnixNano() }

func podLabels(uid, ns, name string) map[string]string {
	return map[string]string{runstate.LabelPodUID: uid, runstate.LabelPodNamespace: ns, runstate.LabelPodName: name}
}

func ctrLabels(uid, name string) map[string]string {
	return map[string]string{runstate.LabelPodUID: uid, runstate.LabelContainerName: name}
}

func TestGroup(t *testing.T) {
	sandboxes := []*runtimeapi.PodSandbox{
		{Id: "sb-a0", Metadata: &runtimeapi.PodSandboxMetadata{Attempt: 0}, State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY,
			CreatedAt: ns(0), Labels: podLabels("a", "default", "web")},
		{Id: "sb-a1", Metadata: &runtimeapi.PodSandboxMetadata{Attempt: 1}, State: runtimeapi.PodSandboxState_SANDBOX_READY,
			CreatedAt: ns(time.Minute), Labels: podLabels("a", "default", "web")},
		// Not Edged's: no pod UID label.
		{Id: "foreign", Metadata: &runtimeapi.PodSandboxMetadata{Name: "x"}, Labels: map[string]string{"app": "x"}},
		// No name labels: the metadata names the pod.
		{Id: "sb-b", Metadata: &runtimeapi.PodSandboxMetadata{Name: "db", Namespace: "prod", Uid: "b"},
			State: runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: ns(time.Second), Labels: map[string]string{runstate.LabelPodUID: "b"}},
	}
	containers := []*runtimeapi.Container{
		{Id: "app-0", PodSandboxId: "sb-a1", Metadata: &runtimeapi.ContainerMetadata{Name: "app", Attempt: 0},
			State: runtimeapi.ContainerState_CONTAINER_EXITED, CreatedAt: ns(2 * time.Minute),
			Image: &runtimeapi.ImageSpec{Image: "busybox"}, ImageRef: "sha256:1", Labels: ctrLabels("a", "app")},
		{Id: "app-1", PodSandboxId: "sb-a1", Metadata: &runtimeapi.ContainerMetadata{Name: "app", Attempt: 1},
			State: runtimeapi.ContainerState_CONTAINER_RUNNING, CreatedAt: ns(3 * time.Minute),
			Image: &runtimeapi.ImageSpec{Image: "busybox"}, ImageRef: "sha256:1", Labels: ctrLabels("a", "app")},
		{Id: "side", PodSandboxId: "sb-a1", Metadata: &runtimeapi.ContainerMetadata{Name: "side"},
			State: runtimeapi.ContainerState_CONTAINER_CREATED, CreatedAt: ns(2 * time.Minute), Labels: ctrLabels("a", "side")},
		{Id: "foreign-c", Metadata: &runtimeapi.ContainerMetadata{Name: "x"}, State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		// A container whose sandbox is not listed (gone meanwhile) still
		// makes its pod; without a name label the metadata names it.
		{Id: "c-c", PodSandboxId: "sb-c", Metadata: &runtimeapi.ContainerMetadata{Name: "meta-name"},
			State: runtimeapi.ContainerState_CONTAINER_UNKNOWN, Labels: map[string]string{runstate.LabelPodUID: "c"}},
	}
	taken := t0.Add(time.Hour)
	got := Group(sandboxes, containers, taken)

	want := &runstate.Snapshot{Taken: taken, Pods: map[types.UID]*runstate.Pod{
		"a": {UID: "a", Namespace: "default", Name: "web",
			Sandboxes: []runstate.Sandbox{
				{ID: "sb-a1", State: runstate.SandboxReady, Attempt: 1, CreatedAt: t0.Add(time.Minute)},
				{ID: "sb-a0", State: runstate.SandboxNotReady, Attempt: 0, CreatedAt: t0},
			},
			Containers: []runstate.Container{
				{ID: "app-1", Name: "app", SandboxID: "sb-a1", Attempt: 1, State: runstate.ContainerRunning,
					Image: "busybox", ImageRef: "sha256:1", CreatedAt: t0.Add(3 * time.Minute)},
				{ID: "app-0", Name: "app", SandboxID: "sb-a1", Attempt: 0, State: runstate.ContainerExited,
					Image: "busybox", ImageRef: "sha256:1", CreatedAt: t0.Add(2 * time.Minute)},
				{ID: "side", Name: "side", SandboxID: "sb-a1", State: runstate.ContainerCreated, CreatedAt: t0.Add(2 * time.Minute)},
			}},
		"b": {UID: "b", Namespace: "prod", Name: "db",
			Sandboxes: []runstate.Sandbox{{ID: "sb-b", State: runstate.SandboxReady, CreatedAt: t0.Add(time.Second)}}},
		"c": {UID: "c", Containers: []runstate.Container{{ID: "c-c", Name: "meta-name", SandboxID: "sb-c"}}},
	}}
	for uid, w := range want.Pods {
		if g := got.Pods[uid]; !reflect.DeepEqual(w, g) {
			t.Errorf("pod %s:\n got %+v\nwant %+v", uid, g, w)
		}
	}
	if len(got.Pods) != len(want.Pods) || !got.Taken.Equal(taken) {
		t.Errorf("Group: %d pods taken %v, want %d taken %v", len(got.Pods), got.Taken, len(want.Pods), taken)
	}
	if c, ok := got.Pods["a"].Latest("app"); !ok || c.ID != "app-1" {
		t.Errorf("Latest(app) = %s, %v; want app-1", c.ID, ok)
	}
}

func TestGroupEmpty(t *testing.T) {
	got := Group(nil, nil, t0)
	if got.Pods == nil || len(got.Pods) != 0 || !got.Taken.Equal(t0) {
		t.Errorf("Group(nil, nil) = %+v, want no pods, an allocated map and Taken %v", got, t0)
	}
}

func TestSortSandboxes(t *testing.T) {
	// Attempt wins over creation time (a clock stepped back); then time; then ID.
	s := []runstate.Sandbox{
		{ID: "b", Attempt: 1, CreatedAt: t0},
		{ID: "old", Attempt: 0, CreatedAt: t0.Add(time.Hour)},
		{ID: "a", Attempt: 1, CreatedAt: t0},
		{ID: "new", Attempt: 1, CreatedAt: t0.Add(time.Second)},
	}
	sortSandboxes(s)
	if got, want := ids(s, func(s runstate.Sandbox) string { return s.ID }), "new a b old"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestSortContainers(t *testing.T) {
	s := []runstate.Container{
		{ID: "x0", Attempt: 0, CreatedAt: t0},
		{ID: "y1", Attempt: 1, CreatedAt: t0.Add(time.Minute)},
		{ID: "x1", Attempt: 1, CreatedAt: t0},
		{ID: "z", CreatedAt: t0.Add(time.Hour)},
	}
	sortContainers(s)
	if got, want := ids(s, func(c runstate.Container) string { return c.ID }), "z y1 x1 x0"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func ids[T any](s []T, id func(T) string) string {
	var out string
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += id(v)
	}
	return out
}

func TestDetailOf(t *testing.T) {
	got := detailOf(&runtimeapi.ContainerStatus{
		StartedAt: ns(time.Second), FinishedAt: ns(time.Minute), ExitCode: 137, Reason: "OOMKilled", Message: "out of memory",
	})
	want := runstate.Detail{Inspected: true, StartedAt: t0.Add(time.Second), FinishedAt: t0.Add(time.Minute),
		ExitCode: 137, Reason: "OOMKilled", Message: "out of memory"}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("detailOf:\n got %+v\nwant %+v", got, want)
	}
	// A running container: no finish time, zero rather than the Unix epoch.
	if d := detailOf(&runtimeapi.ContainerStatus{StartedAt: ns(0)}); !d.FinishedAt.IsZero() || !d.StartedAt.Equal(t0) {
		t.Errorf("running container detail %+v", d)
	}
}
