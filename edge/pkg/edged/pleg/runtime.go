package pleg

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Runtime is what PLEG needs from the container runtime. The CRI client
// adapts to it; see the package doc for the exact contract.
type Runtime interface {
	// List returns every sandbox and container carrying
	// runstate.LabelPodUID, grouped by pod, with the list fields filled
	// (Detail zero). Each call returns fresh values that share nothing
	// with earlier snapshots: PLEG hands them to Inspect, which writes
	// into them, and then caches them.
	List(ctx context.Context) (*runstate.Snapshot, error)
	// Inspect fills, in place, what only status calls tell about pod:
	// each container's Detail (with Inspected set) and the sandboxes' IP.
	// A container or sandbox gone meanwhile is left as listed; an error
	// is for a failure that makes the pod's state untrustworthy.
	Inspect(ctx context.Context, pod *runstate.Pod) error
	// Events opens the runtime's container event stream. It returns an
	// error wrapping ErrEventsUnsupported when the runtime cannot stream
	// (CRI Unimplemented); PLEG then relists every RelistPeriod and does
	// not ask again. Otherwise the channel delivers events until the
	// stream breaks or ctx ends, and the runtime then closes it: its
	// sender selects on ctx.Done() and closes the channel once its
	// goroutines are done. PLEG reads until the close, so that close is
	// the join of the runtime's stream goroutines. A stream that breaks
	// is simply closed; PLEG calls Events again after a back-off, and a
	// runtime found unable to stream then returns ErrEventsUnsupported.
	Events(ctx context.Context) (<-chan ContainerEvent, error)
}

// ErrEventsUnsupported is returned (wrapped or not) by Runtime.Events when
// the runtime cannot stream container events.
var ErrEventsUnsupported = errors.New("container events unsupported by the runtime")

// ContainerEventType is the kind of a runtime container event.
type ContainerEventType int

// Container event types, as CRI names them.
const (
	ContainerEventCreated ContainerEventType = iota + 1
	ContainerEventStarted
	ContainerEventStopped
	ContainerEventDeleted
)

// ContainerEvent is one event of the runtime's stream. PLEG treats any
// event as "something changed, relist now"; the fields are for logs and
// for narrower relists later.
type ContainerEvent struct {
	ContainerID string
	// PodUID is the container's pod, when the runtime says; may be empty.
	PodUID types.UID
	Type   ContainerEventType
}
