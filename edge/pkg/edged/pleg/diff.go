package pleg

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Diff returns the lifecycle events that take the runtime from old to new,
// sorted by pod UID; within a pod, sandbox events first, then container
// events, then PodRemoved; then by ID, then by type (so a container that
// vanished while running gives ContainerDied before ContainerRemoved).
//
// A nil snapshot (or one with no pods) is empty: Diff(nil, s) on the first
// relist reports everything s holds as new, and Diff(s, nil) reports
// everything as removed. Containers are matched by ID within their pod
// and sandboxes by ID; only states are compared, never Detail, which a
// list does not fill. Diff reads its arguments and does not keep them.
func Diff(old, new *runstate.Snapshot) []Event {
	var events []Event
	for uid, np := range podsOf(new) {
		events = append(events, diffPod(uid, podsOf(old)[uid], np)...)
	}
	for uid, op := range podsOf(old) {
		if _, ok := podsOf(new)[uid]; !ok {
			events = append(events, diffPod(uid, op, nil)...)
		}
	}
	sortEvents(events)
	return events
}

func podsOf(s *runstate.Snapshot) map[types.UID]*runstate.Pod {
	if s == nil {
		return nil
	}
	return s.Pods
}

// diffPod compares one pod; old or new is nil when the pod is absent.
func diffPod(uid types.UID, old, new *runstate.Pod) []Event {
	var events []Event
	oldSandboxes, newSandboxes := sandboxesByID(old), sandboxesByID(new)
	for id, s := range newSandboxes {
		if o, ok := oldSandboxes[id]; !ok || o.State != s.State {
			events = append(events, Event{PodUID: uid, Type: SandboxChanged, ContainerID: id,
				Attempt: s.Attempt, SandboxState: s.State})
		}
	}
	for id, o := range oldSandboxes {
		if _, ok := newSandboxes[id]; !ok {
			events = append(events, Event{PodUID: uid, Type: SandboxChanged, ContainerID: id,
				Attempt: o.Attempt, SandboxState: runstate.SandboxNotReady, Gone: true})
		}
	}
	oldContainers, newContainers := containersByID(old), containersByID(new)
	for id, c := range newContainers {
		o, ok := oldContainers[id]
		events = append(events, containerEvents(uid, o, ok, c)...)
	}
	for id, o := range oldContainers {
		if _, ok := newContainers[id]; !ok {
			events = append(events, vanished(uid, o)...)
		}
	}
	if old != nil && new == nil {
		events = append(events, Event{PodUID: uid, Type: PodRemoved, Gone: true})
	}
	return events
}

// containerEvents compares a listed container with its previous listing
// (existed is false when it was not listed).
func containerEvents(uid types.UID, old runstate.Container, existed bool, c runstate.Container) []Event {
	if existed && old.State == c.State {
		return nil
	}
	e := Event{PodUID: uid, ContainerID: c.ID, Name: c.Name, Attempt: c.Attempt, State: c.State}
	switch c.State {
	case runstate.ContainerRunning:
		e.Type = ContainerStarted
	case runstate.ContainerExited:
		// Also for a container first seen exited: it was created and
		// exited between two relists. Only ContainerDied: we never saw it
		// running, and Detail.StartedAt tells whether it did.
		e.Type = ContainerDied
	default: // created, unknown
		e.Type = ContainerChanged
	}
	return []Event{e}
}

// vanished reports a container that is no longer listed.
func vanished(uid types.UID, old runstate.Container) []Event {
	removed := Event{PodUID: uid, Type: ContainerRemoved, ContainerID: old.ID, Name: old.Name,
		Attempt: old.Attempt, State: old.State, Gone: true}
	switch old.State {
	case runstate.ContainerExited, runstate.ContainerCreated:
		// Died was reported already, or it never ran.
		return []Event{removed}
	}
	// Running or unknown (which may have been running): it died too.
	died := removed
	died.Type = ContainerDied
	died.Gone = false
	return []Event{died, removed}
}

func sandboxesByID(p *runstate.Pod) map[string]runstate.Sandbox {
	if p == nil {
		return nil
	}
	m := make(map[string]runstate.Sandbox, len(p.Sandboxes))
	for _, s := range p.Sandboxes {
		m[s.ID] = s
	}
	return m
}

func containersByID(p *runstate.Pod) map[string]runstate.Container {
	if p == nil {
		return nil
	}
	m := make(map[string]runstate.Container, len(p.Containers))
	for _, c := range p.Containers {
		m[c.ID] = c
	}
	return m
}

// rank orders the kinds of event within a pod: sandboxes, containers, pod.
func rank(t EventType) int {
	switch t {
	case SandboxChanged:
		return 0
	case PodRemoved:
		return 2
	}
	return 1
}

func sortEvents(events []Event) {
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(
			cmp.Compare(a.PodUID, b.PodUID),
			cmp.Compare(rank(a.Type), rank(b.Type)),
			cmp.Compare(a.ContainerID, b.ContainerID),
			cmp.Compare(a.Type, b.Type),
		)
	})
}
