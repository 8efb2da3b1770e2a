package gc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Removed counts what one container pass removed; things already gone
// (NotFound) are not counted.
type Removed struct {
	Containers, Sandboxes, LogDirs int
}

// DeadContainers returns the IDs of the containers and then the sandboxes
// a container pass removes from snap, per the package doc: pods in UID
// order, each pod's containers oldest first. live reports whether Edged
// still has a pod; keep is ContainerGC.MaxPerContainer (at least 1 is
// kept for a live pod); minAge applies to the exited instances of live
// pods beyond those kept. The sandboxes are those left empty assuming
// every returned container is removed.
func DeadContainers(snap *runstate.Snapshot, live func(types.UID) bool, keep int, minAge time.Duration, now time.Time) (containers, sandboxes []string) {
	if snap == nil {
		return nil, nil
	}
	for _, uid := range slices.Sorted(maps.Keys(snap.Pods)) {
		pod := snap.Pods[uid]
		isLive := live(uid)
		dead := deadOfPod(pod, isLive, keep, minAge, now)
		containers = append(containers, dead...)
		sandboxes = append(sandboxes, emptySandboxes(pod, isLive, dead)...)
	}
	return containers, sandboxes
}

// deadOfPod returns the pod's exited containers to remove, oldest first.
func deadOfPod(pod *runstate.Pod, isLive bool, keep int, minAge time.Duration, now time.Time) []string {
	keep = max(keep, 1)
	exitedSeen := map[string]int{} // per container name, newer exited instances seen
	var dead []string
	// pod.Containers is newest first.
	for _, c := range pod.Containers {
		if c.State != runstate.ContainerExited {
			continue
		}
		exitedSeen[c.Name]++
		if isLive && (exitedSeen[c.Name] <= keep || now.Sub(finishedAt(c)) < minAge) {
			continue
		}
		dead = append(dead, c.ID)
	}
	slices.Reverse(dead)
	return dead
}

// finishedAt is when c exited, as far as the snapshot tells: its finish
// time once inspected, else its creation.
func finishedAt(c runstate.Container) time.Time {
	if c.Inspected && !c.FinishedAt.IsZero() {
		return c.FinishedAt
	}
	return c.CreatedAt
}

// emptySandboxes returns the pod's not-ready sandboxes that hold no
// container once dead are removed, but the newest of a live pod; oldest
// first.
func emptySandboxes(pod *runstate.Pod, isLive bool, dead []string) []string {
	left := map[string]int{}
	for _, c := range pod.Containers {
		if !slices.Contains(dead, c.ID) {
			left[c.SandboxID]++
		}
	}
	var out []string
	for i, sb := range pod.Sandboxes { // newest first
		if sb.State == runstate.SandboxReady || left[sb.ID] > 0 || (isLive && i == 0) {
			continue
		}
		out = append(out, sb.ID)
	}
	slices.Reverse(out)
	return out
}

// CollectContainers runs one container pass: it lists the runtime,
// removes the dead containers (and their log files), then the sandboxes
// left empty, then the log folders of pods that are gone. It goes on
// past failures and returns what it removed with every failure joined.
func (c *Collector) CollectContainers(ctx context.Context) (Removed, error) {
	snap, err := c.rt.List(ctx)
	if err != nil {
		return Removed{}, fmt.Errorf("container gc: %w", err)
	}
	now := c.now()
	ctrs, sbs := DeadContainers(snap, c.live, c.ctrGC.MaxPerContainer, c.ctrGC.MinAge.Duration, now)
	var r Removed
	var errs []error
	gone := map[string]bool{} // container IDs no longer in the runtime
	owners := containerOwners(snap)
	for _, id := range ctrs {
		removed, err := removeGone(c.rt.RemoveContainer(ctx, id))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gone[id] = true
		r.Containers += removed
		o := owners[id]
		if err := c.removeContainerLogs(o.pod, o.ctr); err != nil {
			errs = append(errs, err)
		}
	}
	for _, id := range sbs {
		if holdsFailed(owners, id, ctrs, gone) {
			continue // its container is still there; next pass
		}
		removed, err := removeGone(c.rt.RemovePodSandbox(ctx, id))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Sandboxes += removed
	}
	n, err := c.removePodLogDirs(remainingPods(snap, gone))
	r.LogDirs = n
	if err != nil {
		errs = append(errs, err)
	}
	if r != (Removed{}) {
		c.log.Info("container gc", "containers", r.Containers, "sandboxes", r.Sandboxes, "logDirs", r.LogDirs)
	}
	return r, errors.Join(errs...)
}

// removeGone turns a removal's result into a count: 1 removed, 0 already
// gone (NotFound, not an error).
func removeGone(err error) (int, error) {
	switch {
	case err == nil:
		return 1, nil
	case cri.IsNotFound(err):
		return 0, nil
	}
	return 0, err
}

// owner is a container with its pod, for the container's log path.
type owner struct {
	pod *runstate.Pod
	ctr runstate.Container
}

func containerOwners(snap *runstate.Snapshot) map[string]owner {
	out := map[string]owner{}
	for _, p := range snap.Pods {
		for _, ctr := range p.Containers {
			out[ctr.ID] = owner{pod: p, ctr: ctr}
		}
	}
	return out
}

// holdsFailed reports whether sandbox sb holds one of the containers this
// pass meant to remove but could not.
func holdsFailed(owners map[string]owner, sb string, dead []string, gone map[string]bool) bool {
	for _, id := range dead {
		if !gone[id] && owners[id].ctr.SandboxID == sb {
			return true
		}
	}
	return false
}

// remainingPods counts, per pod, the containers of snap not gone.
func remainingPods(snap *runstate.Snapshot, gone map[string]bool) map[types.UID]int {
	out := map[types.UID]int{}
	for uid, p := range snap.Pods {
		for _, ctr := range p.Containers {
			if !gone[ctr.ID] {
				out[uid]++
			}
		}
	}
	return out
}
