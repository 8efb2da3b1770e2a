package cri

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// List reads every sandbox and container of the runtime (ListPodSandbox,
// then ListContainers) and groups Edged's into a snapshot by
// runstate.LabelPodUID. Details and sandbox IPs are left empty: Inspect
// fills them for the pods that need them. Taken is the clock's time before
// the first call.
func (c *Client) List(ctx context.Context) (*runstate.Snapshot, error) {
	taken := c.opts.Now()
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	sbs, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	ctrs, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return Group(sbs.GetItems(), ctrs.GetContainers(), taken), nil
}

// Group builds a snapshot from listed sandboxes and containers: grouped by
// the LabelPodUID label (objects without it are skipped), sandboxes and
// containers sorted newest first as runstate documents. A pod's name and
// namespace come from the labels of its objects, else from the sandbox's
// metadata.
func Group(sandboxes []*runtimeapi.PodSandbox, containers []*runtimeapi.Container, taken time.Time) *runstate.Snapshot {
	snap := &runstate.Snapshot{Pods: map[types.UID]*runstate.Pod{}, Taken: taken}
	pod := func(labels map[string]string) *runstate.Pod {
		uid := types.UID(labels[runstate.LabelPodUID])
		if uid == "" {
			return nil
		}
		p := snap.Pods[uid]
		if p == nil {
			p = &runstate.Pod{UID: uid}
			snap.Pods[uid] = p
		}
		p.Namespace = cmp.Or(p.Namespace, labels[runstate.LabelPodNamespace])
		p.Name = cmp.Or(p.Name, labels[runstate.LabelPodName])
		return p
	}
	for _, sb := range sandboxes {
		if p := pod(sb.GetLabels()); p != nil {
			p.Namespace = cmp.Or(p.Namespace, sb.GetMetadata().GetNamespace())
			p.Name = cmp.Or(p.Name, sb.GetMetadata().GetName())
			p.Sandboxes = append(p.Sandboxes, sandboxOf(sb))
		}
	}
	for _, ctr := range containers {
		if p := pod(ctr.GetLabels()); p != nil {
			p.Containers = append(p.Containers, containerOf(ctr))
		}
	}
	for _, p := range snap.Pods {
		sortSandboxes(p.Sandboxes)
		sortContainers(p.Containers)
	}
	return snap
}

// sortSandboxes sorts newest first: highest Attempt, then latest CreatedAt
// (then ID, so that the order is total).
func sortSandboxes(s []runstate.Sandbox) {
	slices.SortFunc(s, func(a, b runstate.Sandbox) int {
		return cmp.Or(cmp.Compare(b.Attempt, a.Attempt), b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}

// sortContainers sorts newest first: latest CreatedAt, then highest Attempt
// (then ID, so that the order is total). The first container of a name is
// thus its latest attempt.
func sortContainers(s []runstate.Container) {
	slices.SortFunc(s, func(a, b runstate.Container) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.Attempt, a.Attempt), cmp.Compare(a.ID, b.ID))
	})
}

func sandboxOf(sb *runtimeapi.PodSandbox) runstate.Sandbox {
	return runstate.Sandbox{
		ID:        sb.GetId(),
		State:     sandboxState(sb.GetState()),
		Attempt:   sb.GetMetadata().GetAttempt(),
		CreatedAt: fromNanos(sb.GetCreatedAt()),
	}
}

func containerOf(c *runtimeapi.Container) runstate.Container {
	return runstate.Container{
		ID:        c.GetId(),
		Name:      cmp.Or(c.GetLabels()[runstate.LabelContainerName], c.GetMetadata().GetName()),
		SandboxID: c.GetPodSandboxId(),
		Attempt:   c.GetMetadata().GetAttempt(),
		State:     containerState(c.GetState()),
		Image:     c.GetImage().GetImage(),
		ImageRef:  c.GetImageRef(),
		CreatedAt: fromNanos(c.GetCreatedAt()),
	}
}

func sandboxState(s runtimeapi.PodSandboxState) runstate.SandboxState {
	if s == runtimeapi.PodSandboxState_SANDBOX_READY {
		return runstate.SandboxReady
	}
	return runstate.SandboxNotReady
}

func containerState(s runtimeapi.ContainerState) runstate.ContainerState {
	switch s {
	case runtimeapi.ContainerState_CONTAINER_CREATED:
		return runstate.ContainerCreated
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		return runstate.ContainerRunning
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		return runstate.ContainerExited
	}
	return runstate.ContainerUnknown
}

// fromNanos converts a CRI timestamp (Unix nanoseconds; 0 is unset) to a
// time; 0 gives the zero time.
func fromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Pod reads what the runtime holds for one pod (the sandboxes and
// containers labelled with uid) and inspects it: every container's Detail
// and the newest sandbox's IP. A pod the runtime holds nothing of is an
// empty Pod, not an error. Pod workers call it at each sync, so that they
// decide from the runtime's state now rather than the last relist.
func (c *Client) Pod(ctx context.Context, uid types.UID) (*runstate.Pod, error) {
	taken := c.opts.Now()
	selector := map[string]string{runstate.LabelPodUID: string(uid)}
	lctx, cancel := c.callCtx(ctx)
	defer cancel()
	sbs, err := c.runtime.ListPodSandbox(lctx, &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: selector},
	})
	if err != nil {
		return nil, fmt.Errorf("list pod %s sandboxes: %w", uid, err)
	}
	ctrs, err := c.runtime.ListContainers(lctx, &runtimeapi.ListContainersRequest{
		Filter: &runtimeapi.ContainerFilter{LabelSelector: selector},
	})
	if err != nil {
		return nil, fmt.Errorf("list pod %s containers: %w", uid, err)
	}
	p := Group(sbs.GetItems(), ctrs.GetContainers(), taken).Pods[uid]
	if p == nil {
		return &runstate.Pod{UID: uid}, nil
	}
	return p, c.Inspect(ctx, p)
}
