package cri

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// ErrEventsUnsupported is returned (wrapped) by Events, or by the stream's
// wait func, when the runtime does not implement GetContainerEvents
// (containerd 1.6): the caller relists instead.
var ErrEventsUnsupported = errors.New("cri: runtime does not stream container events")

// eventsProbe is how long Events waits for the runtime to refuse the stream
// before it hands the stream out. A runtime without GetContainerEvents
// answers Unimplemented at once, but only to the first receive, and a
// runtime that has it sends nothing until a container changes: no answer
// within the probe means the stream is served.
const eventsProbe = time.Second

// eventsBuffer is the capacity of the events channel; when it is full the
// stream waits for the reader (the runtime then buffers or drops, as it
// does for any slow client).
const eventsBuffer = 128

// EventType is what happened to a container.
type EventType int

// Container event types, as CRI defines them.
const (
	EventCreated EventType = iota
	EventStarted
	EventStopped
	EventDeleted
)

func (t EventType) String() string {
	switch t {
	case EventCreated:
		return "created"
	case EventStarted:
		return "started"
	case EventStopped:
		return "stopped"
	case EventDeleted:
		return "deleted"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// ContainerEvent is one CRI container event.
type ContainerEvent struct {
	ContainerID string
	Type        EventType
	// SandboxID and PodUID are from the event's sandbox status when the
	// runtime sends one; PodUID is empty for containers that are not
	// Edged's (no LabelPodUID).
	SandboxID string
	PodUID    types.UID
	// At is when the runtime says it happened.
	At time.Time
}

// Events opens the runtime's container event stream. Events arrive on the
// returned channel until ctx ends or the runtime drops the stream; then the
// channel is closed. wait blocks until the stream's goroutine has exited and
// returns why the stream ended: ctx's error, or the runtime's (wrapped; a
// stream ended by Client.Close gives a gRPC Canceled status). Cancel ctx,
// then call wait, to stop the stream.
//
// When the runtime does not implement the stream, Events returns
// ErrEventsUnsupported within about a second (eventsProbe). A runtime that
// refuses only later ends the stream with an error wrapping
// ErrEventsUnsupported, so check wait's error too.
func (c *Client) Events(ctx context.Context) (events <-chan ContainerEvent, wait func() error, err error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.runtime.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		cancel()
		return nil, nil, eventsErr(err)
	}
	ch := make(chan ContainerEvent, eventsBuffer)
	done := make(chan struct{})
	first := make(chan error, 1) // the first receive's error, or nil once an event came
	var end error
	go func() {
		defer close(done)
		defer cancel()
		defer close(ch)
		end = pump(ctx, stream, ch, first)
	}()
	wait = func() error { <-done; return end }
	probe := time.NewTimer(eventsProbe)
	defer probe.Stop()
	select {
	case err := <-first:
		if err != nil {
			<-done
			return nil, nil, err
		}
	case <-probe.C:
	case <-ctx.Done():
	}
	return ch, wait, nil
}

// pump receives events and sends them on ch until the stream or ctx ends.
// It reports the first receive's outcome on first (error, or nil for an
// event) and returns why the stream ended.
func pump(ctx context.Context, stream grpc.ServerStreamingClient[runtimeapi.ContainerEventResponse], ch chan<- ContainerEvent, first chan<- error) error {
	for n := 0; ; n++ {
		resp, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else {
				err = eventsErr(err)
			}
			if n == 0 {
				first <- err
			}
			return err
		}
		if n == 0 {
			first <- nil
		}
		select {
		case ch <- eventOf(resp):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// eventsErr wraps an error of the event stream, turning Unimplemented into
// ErrEventsUnsupported.
func eventsErr(err error) error {
	if IsUnimplemented(err) {
		return fmt.Errorf("%w: %w", ErrEventsUnsupported, err)
	}
	return fmt.Errorf("container events: %w", err)
}

func eventOf(r *runtimeapi.ContainerEventResponse) ContainerEvent {
	sb := r.GetPodSandboxStatus()
	return ContainerEvent{
		ContainerID: r.GetContainerId(),
		Type:        eventType(r.GetContainerEventType()),
		SandboxID:   sb.GetId(),
		PodUID:      types.UID(sb.GetLabels()[runstate.LabelPodUID]),
		At:          fromNanos(r.GetCreatedAt()),
	}
}

func eventType(t runtimeapi.ContainerEventType) EventType {
	switch t {
	case runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT:
		return EventStarted
	case runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT:
		return EventStopped
	case runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT:
		return EventDeleted
	}
	return EventCreated
}

// IsUnimplemented reports whether err is, or wraps, a gRPC Unimplemented
// status: the runtime does not have that call.
func IsUnimplemented(err error) bool {
	return err != nil && status.Code(err) == codes.Unimplemented
}

// IsNotFound reports whether err is, or wraps, a gRPC NotFound status: the
// sandbox, container or image is gone.
func IsNotFound(err error) bool {
	return err != nil && status.Code(err) == codes.NotFound
}
