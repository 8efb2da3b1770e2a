package edged

import (
	"context"
	"net/url"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/podruntime"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/edge/pkg/edgestream"
)

// StreamRuntime returns Edged's pods as EdgeStream sees them: the desired
// pods (API pods bound to the node and static pods), their containers as
// PLEG last saw them, and the runtime's streaming calls. Before the runtime
// is reached its calls fail with edgestream.ErrUnavailable.
func (e *Edged) StreamRuntime() edgestream.Runtime { return streamView{e} }

// streamView implements edgestream.Runtime over Edged.
type streamView struct{ e *Edged }

// parts returns the runtime-side parts, or ErrUnavailable before them.
func (v streamView) parts() (*runtimeParts, error) {
	rt := v.e.runtime()
	if rt == nil {
		return nil, edgestream.Errorf(edgestream.ErrUnavailable, "the container runtime of node %s is not reached yet", v.e.opts.NodeName)
	}
	return rt, nil
}

// Container implements edgestream.Runtime.
func (v streamView) Container(_ context.Context, ref edgestream.ContainerRef, previous bool) (edgestream.Container, error) {
	pod, err := findPod(v.e.want.all(), ref.PodRef(), v.e.opts.NodeName)
	if err != nil {
		return edgestream.Container{}, err
	}
	rt, err := v.parts()
	if err != nil {
		return edgestream.Container{}, err
	}
	state, _, _ := rt.pleg.Cache().Get(pod.UID)
	return resolveContainer(pod, state, ref.Container, previous, v.e.opts.Config.PodLogsDir)
}

// Running implements edgestream.Runtime: the runtime's status now.
func (v streamView) Running(ctx context.Context, containerID string) bool {
	rt, err := v.parts()
	if err != nil {
		return false
	}
	st, err := rt.cri.ContainerStatus(ctx, containerID)
	if err != nil {
		v.e.log.Debug("container status for a stream request", "container", containerID, "err", err)
		return false
	}
	return st.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
}

// Exec implements edgestream.Runtime.
func (v streamView) Exec(ctx context.Context, containerID string, cmd []string, s edgestream.Streams) (*url.URL, error) {
	rt, err := v.parts()
	if err != nil {
		return nil, err
	}
	return rt.cri.Exec(ctx, containerID, cmd, cri.StreamOptions(s))
}

// Attach implements edgestream.Runtime.
func (v streamView) Attach(ctx context.Context, containerID string, s edgestream.Streams) (*url.URL, error) {
	rt, err := v.parts()
	if err != nil {
		return nil, err
	}
	return rt.cri.Attach(ctx, containerID, cri.StreamOptions(s))
}

// PortForward implements edgestream.Runtime: into the pod's newest
// sandbox, which must be ready.
func (v streamView) PortForward(ctx context.Context, ref edgestream.PodRef, ports []int32) (*url.URL, error) {
	pod, err := findPod(v.e.want.all(), ref, v.e.opts.NodeName)
	if err != nil {
		return nil, err
	}
	rt, err := v.parts()
	if err != nil {
		return nil, err
	}
	state, _, _ := rt.pleg.Cache().Get(pod.UID)
	sb, ok := state.Sandbox()
	if !ok || sb.State != runstate.SandboxReady {
		return nil, edgestream.Errorf(edgestream.ErrBadRequest, "pod %q has no running sandbox", pod.Name)
	}
	return rt.cri.PortForward(ctx, sb.ID, ports)
}

// findPod returns the pod ref names among pods (the node's desired pods);
// a pod not among them, or of another UID than ref's, is not on the node.
func findPod(pods []*corev1.Pod, ref edgestream.PodRef, node string) (*corev1.Pod, error) {
	for _, p := range pods {
		if p.Namespace != ref.Namespace || p.Name != ref.Name {
			continue
		}
		if ref.UID != "" && p.UID != ref.UID {
			return nil, edgestream.Errorf(edgestream.ErrNotFound, "pod %s with UID %s is not on node %s", ref, ref.UID, node)
		}
		return p, nil
	}
	return nil, edgestream.Errorf(edgestream.ErrNotFound, "pod %s is not on node %s", ref, node)
}

// resolveContainer picks the attempt of container name of pod from what
// the runtime holds (state, nil when nothing): the newest, or with
// previous the one before it.
func resolveContainer(pod *corev1.Pod, state *runstate.Pod, name string, previous bool, podLogsDir string) (edgestream.Container, error) {
	if !hasContainer(pod, name) {
		return edgestream.Container{}, edgestream.Errorf(edgestream.ErrNotFound, "container %q not found in pod %q", name, pod.Name)
	}
	var attempts []runstate.Container
	if state != nil {
		for _, c := range state.Containers {
			if c.Name == name {
				attempts = append(attempts, c)
			}
		}
	}
	pick := 0
	if previous {
		pick = 1
	}
	if len(attempts) <= pick {
		if previous {
			return edgestream.Container{}, edgestream.Errorf(edgestream.ErrBadRequest, "previous terminated container %q in pod %q not found", name, pod.Name)
		}
		return edgestream.Container{}, edgestream.Errorf(edgestream.ErrBadRequest, "container %q in pod %q is waiting to start", name, pod.Name)
	}
	c := attempts[pick]
	dir := podruntime.LogDir(podLogsDir, pod.Namespace, pod.Name, pod.UID)
	return edgestream.Container{ID: c.ID, LogPath: filepath.Join(dir, podruntime.ContainerLogPath(c.Name, c.Attempt))}, nil
}

// hasContainer reports whether pod's spec has an init or app container name.
func hasContainer(pod *corev1.Pod, name string) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}
