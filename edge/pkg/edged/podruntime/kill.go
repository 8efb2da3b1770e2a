package podruntime

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// KillContainer stops a container: the runtime sends it SIGTERM, then
// SIGKILL after grace (whole seconds; negative is 0). A container that is
// gone is stopped.
func (m *Manager) KillContainer(ctx context.Context, id string, grace time.Duration) error {
	err := m.cri.StopContainer(ctx, id, max(grace, 0))
	if err != nil && !cri.IsNotFound(err) {
		return err
	}
	return nil
}

// KillPod stops every container of rp that has not exited, all at once,
// each with grace, then stops each of its sandboxes. It goes on past
// failures and returns them joined; what is gone counts as stopped.
func (m *Manager) KillPod(ctx context.Context, rp *runstate.Pod, grace time.Duration) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range rp.Containers {
		if c.State == runstate.ContainerExited {
			continue
		}
		wg.Go(func() {
			if err := m.KillContainer(ctx, c.ID, grace); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, sb := range rp.Sandboxes {
		if err := m.cri.StopPodSandbox(ctx, sb.ID); err != nil && !cri.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m.log.Info("pod killed", "pod", rp.Namespace+"/"+rp.Name, "uid", rp.UID, "grace", grace)
	return nil
}

// RemovePod removes every container of rp, then every sandbox; call it
// after KillPod. What is gone counts as removed; failures are joined.
func (m *Manager) RemovePod(ctx context.Context, rp *runstate.Pod) error {
	var errs []error
	for _, c := range rp.Containers {
		if err := m.cri.RemoveContainer(ctx, c.ID); err != nil && !cri.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	for _, sb := range rp.Sandboxes {
		if err := m.cri.RemovePodSandbox(ctx, sb.ID); err != nil && !cri.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
