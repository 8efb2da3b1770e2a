package pleg

import (
	"context"
	"errors"
	"fmt"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// CRI adapts a CRI client to Runtime: List and Inspect pass through, and
// the client's event stream is converted and closed once the client's
// stream goroutine has ended.
type CRI struct {
	Client *cri.Client
}

// List implements Runtime.
func (c CRI) List(ctx context.Context) (*runstate.Snapshot, error) { return c.Client.List(ctx) }

// Inspect implements Runtime.
func (c CRI) Inspect(ctx context.Context, pod *runstate.Pod) error {
	return c.Client.Inspect(ctx, pod)
}

// Events implements Runtime.
func (c CRI) Events(ctx context.Context) (<-chan ContainerEvent, error) {
	in, wait, err := c.Client.Events(ctx)
	if err != nil {
		if errors.Is(err, cri.ErrEventsUnsupported) {
			return nil, fmt.Errorf("%w: %v", ErrEventsUnsupported, err)
		}
		return nil, err
	}
	out := make(chan ContainerEvent)
	go func() {
		defer close(out)
		defer wait() //nolint:errcheck // a broken stream is reopened by PLEG; the close says it ended
		for ev := range in {
			select {
			case out <- ContainerEvent{ContainerID: ev.ContainerID, PodUID: ev.PodUID, Type: eventType(ev.Type)}:
			case <-ctx.Done():
				for range in { // drain until the client closes it
				}
				return
			}
		}
	}()
	return out, nil
}

func eventType(t cri.EventType) ContainerEventType {
	switch t {
	case cri.EventStarted:
		return ContainerEventStarted
	case cri.EventStopped:
		return ContainerEventStopped
	case cri.EventDeleted:
		return ContainerEventDeleted
	}
	return ContainerEventCreated
}
