package pleg

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// fakeRuntime is a scripted Runtime: List returns a copy of state; the
// event stream is a channel the test sends on and closes.
type fakeRuntime struct {
	mu sync.Mutex
	// Guarded by mu:
	state      *runstate.Snapshot
	listErr    error
	gate       chan struct{} // non-nil: List waits for it to close
	lists      int           // List calls started
	inspectErr map[types.UID]error
	inspected  []types.UID
	eventsErr  error       // returned by Events when set
	stream     *fakeStream // the open stream, if any
	streams    int         // Events calls that opened a stream
	eventCalls int         // Events calls
}

func newFake(pods ...*runstate.Pod) *fakeRuntime {
	return &fakeRuntime{state: snapshot(pods...), inspectErr: map[types.UID]error{}}
}

func (f *fakeRuntime) List(ctx context.Context) (*runstate.Snapshot, error) {
	f.mu.Lock()
	f.lists++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	return clone(f.state), nil
}

func (f *fakeRuntime) Inspect(_ context.Context, p *runstate.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspected = append(f.inspected, p.UID)
	if err := f.inspectErr[p.UID]; err != nil {
		return err
	}
	for i := range p.Containers {
		p.Containers[i].Inspected = true
	}
	return nil
}

func (f *fakeRuntime) Events(ctx context.Context) (<-chan ContainerEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventCalls++
	if f.eventsErr != nil {
		return nil, f.eventsErr
	}
	f.streams++
	st := &fakeStream{ch: make(chan ContainerEvent, 64)}
	f.stream = st
	// Like a real runtime, close the stream when ctx ends; PLEG waits for it.
	go func() {
		<-ctx.Done()
		st.close()
	}()
	return st.ch, nil
}

// fakeStream is one open event stream.
type fakeStream struct {
	ch   chan ContainerEvent
	once sync.Once
}

func (s *fakeStream) close() { s.once.Do(func() { close(s.ch) }) }

func (f *fakeRuntime) set(pods ...*runstate.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = snapshot(pods...)
}

// with runs fn with the fake locked, to script or read it.
func (f *fakeRuntime) with(fn func(f *fakeRuntime)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeRuntime) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

// send delivers one event on the open stream.
func (f *fakeRuntime) send(e ContainerEvent) {
	f.mu.Lock()
	s := f.stream
	f.mu.Unlock()
	s.ch <- e
}

// breakStream closes the open stream, as a runtime does when it fails.
func (f *fakeRuntime) breakStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stream.close()
	f.stream = nil
}
