package edgestream

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"testing"
)

// fakeRuntime is a node with a few containers. Containers are keyed
// "ns/pod/container" (newest attempt) and "ns/pod/container/previous".
type fakeRuntime struct {
	node string
	uids map[string]string // "ns/pod" → uid
	// target is the streaming URL every streaming call returns.
	target *url.URL

	mu sync.Mutex
	// containers and running are guarded by mu, as is calls.
	containers map[string]Container
	running    map[string]bool
	calls      []string
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{
		node:       "n1",
		uids:       map[string]string{"default/web": "uid-1"},
		containers: map[string]Container{},
		running:    map[string]bool{},
	}
}

func (f *fakeRuntime) add(ref string, c Container, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[ref] = c
	f.running[c.ID] = running
}

func (f *fakeRuntime) setRunning(id string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[id] = running
}

func (f *fakeRuntime) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeRuntime) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeRuntime) pod(r PodRef) error {
	uid, ok := f.uids[r.String()]
	if !ok || (r.UID != "" && string(r.UID) != uid) {
		return Errorf(ErrNotFound, "pod %s is not on node %s", r, f.node)
	}
	return nil
}

func (f *fakeRuntime) Container(_ context.Context, ref ContainerRef, previous bool) (Container, error) {
	if err := f.pod(ref.PodRef()); err != nil {
		return Container{}, err
	}
	key := ref.Namespace + "/" + ref.Pod + "/" + ref.Container
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[key]; !ok {
		return Container{}, Errorf(ErrNotFound, "container %q not found in pod %q", ref.Container, ref.Pod)
	}
	if previous {
		key += "/previous"
		if _, ok := f.containers[key]; !ok {
			return Container{}, Errorf(ErrBadRequest, "previous terminated container %q in pod %q not found", ref.Container, ref.Pod)
		}
	}
	return f.containers[key], nil
}

func (f *fakeRuntime) Running(_ context.Context, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[id]
}

func (f *fakeRuntime) Exec(_ context.Context, id string, cmd []string, s Streams) (*url.URL, error) {
	f.record("exec %s %q %+v", id, cmd, s)
	return f.target, nil
}

func (f *fakeRuntime) Attach(_ context.Context, id string, s Streams) (*url.URL, error) {
	f.record("attach %s %+v", id, s)
	return f.target, nil
}

func (f *fakeRuntime) PortForward(_ context.Context, ref PodRef, ports []int32) (*url.URL, error) {
	if err := f.pod(ref); err != nil {
		return nil, err
	}
	f.record("portForward %s %v", ref, ports)
	return f.target, nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
