package gc

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// *cri.Client is the Runtime Edged passes.
var _ Runtime = (*cri.Client)(nil)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeRuntime holds a snapshot and images; removals take things out of
// them and are recorded. failRemove makes the removal of those IDs fail;
// goneRemove answers NotFound (something else removed it).
type fakeRuntime struct {
	mu sync.Mutex
	// Guarded by mu:
	snap       *runstate.Snapshot
	images     []*runtimeapi.Image
	mountpoint string
	failRemove map[string]bool
	goneRemove map[string]bool
	removed    []string // "container ID", "sandbox ID", "image ID", in call order
	lists      int
	imageLists int
}

func (f *fakeRuntime) List(context.Context) (*runstate.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	out := &runstate.Snapshot{Pods: map[types.UID]*runstate.Pod{}, Taken: f.snap.Taken}
	for uid, p := range f.snap.Pods {
		cp := *p
		cp.Sandboxes = slices.Clone(p.Sandboxes)
		cp.Containers = slices.Clone(p.Containers)
		out.Pods[uid] = &cp
	}
	return out, nil
}

func (f *fakeRuntime) remove(kind, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.failRemove[id]:
		return status.Error(codes.Internal, "remove "+kind+" "+id+": refused")
	case f.goneRemove[id]:
		return status.Error(codes.NotFound, kind+" "+id+" not found")
	}
	f.removed = append(f.removed, kind+" "+id)
	for _, p := range f.snap.Pods {
		p.Containers = slices.DeleteFunc(p.Containers, func(c runstate.Container) bool {
			return c.ID == id || (kind == "sandbox" && c.SandboxID == id)
		})
		p.Sandboxes = slices.DeleteFunc(p.Sandboxes, func(s runstate.Sandbox) bool { return s.ID == id })
	}
	f.images = slices.DeleteFunc(f.images, func(i *runtimeapi.Image) bool { return i.Id == id })
	return nil
}

func (f *fakeRuntime) RemoveContainer(_ context.Context, id string) error {
	return f.remove("container", id)
}

func (f *fakeRuntime) RemovePodSandbox(_ context.Context, id string) error {
	return f.remove("sandbox", id)
}

func (f *fakeRuntime) ListImages(context.Context) ([]*runtimeapi.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imageLists++
	return slices.Clone(f.images), nil
}

func (f *fakeRuntime) RemoveImage(_ context.Context, spec *runtimeapi.ImageSpec) error {
	return f.remove("image", spec.GetImage())
}

func (f *fakeRuntime) ImageFsInfo(context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{
		{FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: f.mountpoint}},
	}}, nil
}

func (f *fakeRuntime) calls() (removed []string, lists, imageLists int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.removed), f.lists, f.imageLists
}

// snapshot builds a snapshot of pods.
func snapshot(pods ...*runstate.Pod) *runstate.Snapshot {
	s := &runstate.Snapshot{Pods: map[types.UID]*runstate.Pod{}, Taken: t0}
	for _, p := range pods {
		s.Pods[p.UID] = p
	}
	return s
}

// pod builds a pod named after its uid in namespace ns; sandboxes and
// containers must be given newest first.
func pod(uid string, sbs []runstate.Sandbox, ctrs ...runstate.Container) *runstate.Pod {
	return &runstate.Pod{UID: types.UID(uid), Namespace: "ns", Name: "name-" + uid, Sandboxes: sbs, Containers: ctrs}
}

func sb(id string, state runstate.SandboxState) runstate.Sandbox {
	return runstate.Sandbox{ID: id, State: state}
}

// exited is attempt attempt of container name in sandbox sbID, created
// at created (since t0) and not inspected.
func exited(id, sbID, name string, attempt uint32, created time.Duration) runstate.Container {
	return runstate.Container{
		ID: id, Name: name, SandboxID: sbID, Attempt: attempt, State: runstate.ContainerExited,
		CreatedAt: t0.Add(created),
	}
}

func withState(c runstate.Container, s runstate.ContainerState) runstate.Container {
	c.State = s
	return c
}

func finished(c runstate.Container, at time.Duration) runstate.Container {
	c.Inspected, c.FinishedAt = true, t0.Add(at)
	return c
}

// liveSet returns a Live func for the given uids.
func liveSet(uids ...string) func(types.UID) bool {
	return func(uid types.UID) bool { return slices.Contains(uids, string(uid)) }
}

func newTestCollector(t *testing.T, o Options) *Collector {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return t0.Add(time.Hour) }
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
