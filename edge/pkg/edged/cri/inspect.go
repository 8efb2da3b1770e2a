package cri

import (
	"context"
	"errors"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Inspect fills the Detail of each of pod's containers (one ContainerStatus
// call each) and the IP of its newest sandbox (PodSandboxStatus). A
// container or sandbox that went away since it was listed (NotFound) is not
// an error: it stays uninspected. State is left as listed, so that a
// snapshot's states all come from the same relist; Detail may be newer (a
// container listed running may show a FinishedAt).
//
// Inspect changes pod in place: do not share pod with other goroutines
// while it runs. The error joins every call that failed; what succeeded is
// filled.
func (c *Client) Inspect(ctx context.Context, pod *runstate.Pod) error {
	var errs []error
	for i := range pod.Containers {
		ctr := &pod.Containers[i]
		st, err := c.ContainerStatus(ctx, ctr.ID)
		switch {
		case IsNotFound(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("inspect pod %s: %w", pod.UID, err))
		default:
			ctr.Detail = detailOf(st)
		}
	}
	if len(pod.Sandboxes) > 0 {
		sb := &pod.Sandboxes[0]
		st, err := c.PodSandboxStatus(ctx, sb.ID)
		switch {
		case IsNotFound(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("inspect pod %s: %w", pod.UID, err))
		default:
			sb.IP = st.GetNetwork().GetIp()
		}
	}
	return errors.Join(errs...)
}

// detailOf is what a container status tells beyond a list.
func detailOf(st *runtimeapi.ContainerStatus) runstate.Detail {
	return runstate.Detail{
		Inspected:  true,
		StartedAt:  fromNanos(st.GetStartedAt()),
		FinishedAt: fromNanos(st.GetFinishedAt()),
		ExitCode:   st.GetExitCode(),
		Reason:     st.GetReason(),
		Message:    st.GetMessage(),
	}
}
