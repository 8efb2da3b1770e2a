// Package runstate describes what the container runtime holds for Edged,
// pod by pod: the snapshot PLEG relists and diffs, pod workers decide
// from, and pod status is computed from. Plain values, no I/O: the CRI
// client fills them, everything else reads them.
//
// A sandbox or container belongs to a pod by the labels Edged puts on it
// when it creates it (the kubelet's labels, so tools that know them keep
// working); anything without LabelPodUID is not Edged's and is ignored.
package runstate

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Labels Edged puts on every sandbox and container it creates.
const (
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelContainerName = "io.kubernetes.container.name"
)

// SandboxState is a sandbox's state as the runtime reports it.
type SandboxState int

// Sandbox states.
const (
	SandboxNotReady SandboxState = iota
	SandboxReady
)

// ContainerState is a container's state as the runtime reports it.
type ContainerState int

// Container states.
const (
	ContainerUnknown ContainerState = iota
	ContainerCreated
	ContainerRunning
	ContainerExited
)

func (s ContainerState) String() string {
	switch s {
	case ContainerCreated:
		return "created"
	case ContainerRunning:
		return "running"
	case ContainerExited:
		return "exited"
	}
	return "unknown"
}

// Sandbox is one pod sandbox.
type Sandbox struct {
	ID        string
	State     SandboxState
	Attempt   uint32
	CreatedAt time.Time
	// IP is the pod's IP; empty until the sandbox's status was read, and
	// for a host-network pod.
	IP string
}

// Container is one container (one attempt of a container of the spec).
// A list fills ID through CreatedAt; the Detail fields need a status
// call and are zero until the container has been inspected.
type Container struct {
	ID        string
	Name      string // the spec's container name (LabelContainerName)
	SandboxID string
	Attempt   uint32
	State     ContainerState
	Image     string // as requested
	ImageRef  string // the image ID the runtime resolved
	CreatedAt time.Time

	Detail
}

// Detail is what only a container status call tells.
type Detail struct {
	Inspected  bool
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int32
	// Reason and Message are the runtime's (OOMKilled, Error, Completed...).
	Reason  string
	Message string
}

// Pod is what the runtime holds for one pod.
type Pod struct {
	UID       types.UID
	Namespace string
	Name      string
	// Sandboxes, newest (highest Attempt, then latest CreatedAt) first.
	Sandboxes []Sandbox
	// Containers, every attempt of every container, newest first.
	Containers []Container
}

// Snapshot is everything the runtime holds for Edged's pods at one time.
type Snapshot struct {
	Pods  map[types.UID]*Pod
	Taken time.Time
}

// Sandbox returns the pod's newest sandbox, if it has one.
func (p *Pod) Sandbox() (Sandbox, bool) {
	if p == nil || len(p.Sandboxes) == 0 {
		return Sandbox{}, false
	}
	return p.Sandboxes[0], true
}

// Latest returns the newest attempt of the named container, if any.
func (p *Pod) Latest(name string) (Container, bool) {
	if p == nil {
		return Container{}, false
	}
	for _, c := range p.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return Container{}, false
}
