package pleg

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

const (
	running = runstate.ContainerRunning
	exited  = runstate.ContainerExited
	created = runstate.ContainerCreated
	unknown = runstate.ContainerUnknown
	ready   = runstate.SandboxReady
	notRdy  = runstate.SandboxNotReady
)

// part is a sandbox or a container of a test pod.
type part interface{ addTo(*runstate.Pod) }

type sb struct {
	id    string
	state runstate.SandboxState
}

func (s sb) addTo(p *runstate.Pod) {
	p.Sandboxes = append(p.Sandboxes, runstate.Sandbox{ID: s.id, State: s.state})
}

type ctr struct {
	id    string
	state runstate.ContainerState
}

// Names the container after its ID, so tests read shorter.
func (c ctr) addTo(p *runstate.Pod) {
	p.Containers = append(p.Containers, runstate.Container{ID: c.id, Name: "n-" + c.id, State: c.state})
}

func pod(uid types.UID, parts ...part) *runstate.Pod {
	p := &runstate.Pod{UID: uid, Namespace: "default", Name: "pod-" + string(uid)}
	for _, x := range parts {
		x.addTo(p)
	}
	return p
}

func snapshot(pods ...*runstate.Pod) *runstate.Snapshot {
	s := &runstate.Snapshot{Pods: make(map[types.UID]*runstate.Pod)}
	for _, p := range pods {
		s.Pods[p.UID] = p
	}
	return s
}

// clone deep-copies a snapshot, as a runtime's List returns fresh values.
func clone(s *runstate.Snapshot) *runstate.Snapshot {
	if s == nil {
		return &runstate.Snapshot{Pods: map[types.UID]*runstate.Pod{}}
	}
	out := &runstate.Snapshot{Taken: s.Taken, Pods: make(map[types.UID]*runstate.Pod, len(s.Pods))}
	for uid, p := range s.Pods {
		c := *p
		c.Sandboxes = append([]runstate.Sandbox(nil), p.Sandboxes...)
		c.Containers = append([]runstate.Container(nil), p.Containers...)
		out.Pods[uid] = &c
	}
	return out
}

// ev builds an expected container event.
func ev(uid types.UID, t EventType, id string, state runstate.ContainerState) Event {
	return Event{PodUID: uid, Type: t, ContainerID: id, Name: "n-" + id, State: state, Gone: t == ContainerRemoved}
}

// sbev builds an expected sandbox event.
func sbev(uid types.UID, id string, state runstate.SandboxState, gone bool) Event {
	return Event{PodUID: uid, Type: SandboxChanged, ContainerID: id, SandboxState: state, Gone: gone}
}

func podRemoved(uid types.UID) Event { return Event{PodUID: uid, Type: PodRemoved, Gone: true} }
