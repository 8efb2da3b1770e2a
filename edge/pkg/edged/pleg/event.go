package pleg

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// EventType says what changed in the runtime for one pod.
type EventType int

// Event types. The order is the order Diff sorts events of one container in.
const (
	// ContainerStarted: the container is running and was not running
	// (absent, created, unknown) at the previous relist.
	ContainerStarted EventType = iota + 1
	// ContainerDied: the container has exited and was not exited before
	// (including one that was created and exited between two relists), or
	// it vanished while running or in an unknown state.
	ContainerDied
	// ContainerRemoved: the container is no longer listed.
	ContainerRemoved
	// ContainerChanged: the container moved into the created or unknown
	// state (first seen in it, or from another state).
	ContainerChanged
	// SandboxChanged: a sandbox appeared, changed between ready and not
	// ready, or is no longer listed. ContainerID carries the sandbox's ID.
	SandboxChanged
	// PodRemoved: the runtime lists nothing of the pod any more (no
	// sandbox, no container). It follows the pod's other events.
	PodRemoved

	numEventTypes = int(PodRemoved) + 1
)

var eventTypeNames = [numEventTypes]string{
	ContainerStarted: "ContainerStarted",
	ContainerDied:    "ContainerDied",
	ContainerRemoved: "ContainerRemoved",
	ContainerChanged: "ContainerChanged",
	SandboxChanged:   "SandboxChanged",
	PodRemoved:       "PodRemoved",
}

func (t EventType) String() string {
	if t > 0 && int(t) < numEventTypes {
		return eventTypeNames[t]
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one change PLEG saw between two relists. It says what changed;
// the pod's full state, inspected, is in the Cache.
type Event struct {
	PodUID types.UID
	Type   EventType
	// ContainerID is the container's ID, or the sandbox's for
	// SandboxChanged; empty for PodRemoved.
	ContainerID string
	// Name is the container's name in the pod spec; empty for sandbox and
	// pod events.
	Name string
	// Attempt is the container's or the sandbox's attempt.
	Attempt uint32
	// State is the container's state now; for ContainerRemoved, its state
	// when last listed. Zero for sandbox and pod events.
	State runstate.ContainerState
	// SandboxState is, for SandboxChanged, the sandbox's state now
	// (SandboxNotReady when it is gone).
	SandboxState runstate.SandboxState
	// Gone is set when the container, sandbox or pod is no longer listed
	// (ContainerRemoved, a SandboxChanged for a removed sandbox, PodRemoved).
	Gone bool
}

func (e Event) String() string {
	if e.ContainerID == "" {
		return fmt.Sprintf("%s %s", e.PodUID, e.Type)
	}
	return fmt.Sprintf("%s %s %s", e.PodUID, e.Type, e.ContainerID)
}
