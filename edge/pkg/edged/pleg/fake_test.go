package pleg

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
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

func (f *fakeRuntime) Events(ctx context.Context) (<-chan cri.ContainerEvent, func() error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventCalls++
	if f.eventsErr != nil {
		return nil, nil, f.eventsErr
	}
	f.streams++
	st := &fakeStream{ch: make(chan cri.ContainerEvent, 64), brk: make(chan struct{}), done: make(chan struct{})}
	f.stream = st
	// Like the CRI client: the stream's goroutine closes the channel when
	// the stream breaks or ctx ends; wait joins it.
	go func() {
		defer close(st.done)
		select {
		case <-st.brk:
		case <-ctx.Done():
		}
		close(st.ch)
	}()
	wait := func() error {
		<-st.done
		return ctx.Err()
	}
	return st.ch, wait, nil
}

// fakeStream is one open event stream.
type fakeStream struct {
	ch   chan cri.ContainerEvent
	brk  chan struct{} // closed by close: the runtime drops the stream
	done chan struct{} // closed once the stream's goroutine has ended
	once sync.Once
}

func (s *fakeStream) close() { s.once.Do(func() { close(s.brk) }) }

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
func (f *fakeRuntime) send(e cri.ContainerEvent) {
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
