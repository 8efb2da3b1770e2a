package pleg

import (
	"context"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Runtime is what PLEG needs from the container runtime; *cri.Client
// implements it. See the package doc for the exact contract.
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
	// Events opens the runtime's container event stream, as
	// cri.Client.Events does. It returns an error wrapping
	// cri.ErrEventsUnsupported when the runtime cannot stream; PLEG then
	// relists every RelistPeriod and does not ask again. Otherwise the
	// channel delivers events until the stream breaks or ctx ends, and is
	// then closed; wait blocks until the stream's goroutines are done and
	// says why it ended. PLEG calls Events again after a back-off when a
	// stream breaks, so a runtime that refused the stream late is asked
	// again and then returns cri.ErrEventsUnsupported.
	Events(ctx context.Context) (events <-chan cri.ContainerEvent, wait func() error, err error)
}
