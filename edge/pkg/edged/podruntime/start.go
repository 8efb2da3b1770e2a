package podruntime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Reasons of a StartError: the waiting reasons pod status shows (the
// kubelet's).
const (
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonImageInspect               = "ImageInspectError"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"
)

// StartError is a start failure with the waiting reason pod status shows.
type StartError struct {
	Reason, Message string
}

func (e *StartError) Error() string { return e.Reason + ": " + e.Message }

// StartRequest asks to start one container of a pod.
type StartRequest struct {
	Pod *corev1.Pod
	// Name is an init or app container of Pod.Spec.
	Name string
	// Sandbox is the pod's sandbox (ID and Attempt); an empty IP is read
	// with PodSandboxStatus.
	Sandbox runstate.Sandbox
	// Attempt is this container's attempt (its restart count); the caller
	// computes it.
	Attempt uint32
	// HostIP is the node's IP, for the downward API (and the pod IP of a
	// hostNetwork pod).
	HostIP string
	// Mounts are the container's volume mounts; nil is fine.
	Mounts []*runtimeapi.Mount
}

// StartContainer starts one container: it makes sure the image is there
// (per its pull policy, with the pull back-off), builds its environment
// and config, creates and starts it. A failure the pod's status should
// show is a *StartError; containerID is set once the container was
// created, also when starting it failed. Other errors (no such container
// in the spec, the sandbox's status unreadable, ctx done) are plain.
func (m *Manager) StartContainer(ctx context.Context, r StartRequest) (containerID string, err error) {
	pod := r.Pod
	c, err := findContainer(pod, r.Name)
	if err != nil {
		return "", err
	}
	sandbox, err := SandboxConfig(pod, r.Sandbox.Attempt, m.params)
	if err != nil {
		return "", fmt.Errorf("sandbox config of pod %s: %w", podName(pod), err)
	}
	if err := m.ensureImage(ctx, pod, c, sandbox); err != nil {
		return "", err
	}
	podIP, err := m.podIP(ctx, pod, r)
	if err != nil {
		return "", err
	}
	env, err := containerspec.Env(pod, c, m.objects, containerspec.Downward{NodeName: m.nodeName, PodIP: podIP, HostIP: r.HostIP})
	if err != nil {
		return "", configError(err)
	}
	cfg, err := ContainerConfig(pod, c, r.Attempt, env, r.Mounts)
	if err != nil {
		return "", configError(err)
	}
	logDir := filepath.Join(sandbox.LogDirectory, c.Name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", configError(fmt.Errorf("log folder of container %s: %w", c.Name, err))
	}
	id, err := m.cri.CreateContainer(ctx, r.Sandbox.ID, cfg, sandbox)
	if err != nil {
		return "", &StartError{Reason: ReasonCreateContainerError, Message: err.Error()}
	}
	if err := m.cri.StartContainer(ctx, id); err != nil {
		return id, &StartError{Reason: ReasonRunContainerError, Message: err.Error()}
	}
	m.log.Info("container started", "pod", podName(pod), "container", c.Name, "id", id, "attempt", r.Attempt)
	return id, nil
}

func configError(err error) *StartError {
	return &StartError{Reason: ReasonCreateContainerConfigError, Message: err.Error()}
}

// podIP is the pod's IP for the downward API: the request's, else the
// sandbox's status; a hostNetwork pod has the host's.
func (m *Manager) podIP(ctx context.Context, pod *corev1.Pod, r StartRequest) (string, error) {
	ip := r.Sandbox.IP
	if ip == "" && !pod.Spec.HostNetwork {
		st, err := m.cri.PodSandboxStatus(ctx, r.Sandbox.ID)
		if err != nil {
			return "", fmt.Errorf("pod %s: %w", podName(pod), err)
		}
		ip = st.GetNetwork().GetIp()
	}
	if ip == "" && pod.Spec.HostNetwork {
		ip = r.HostIP
	}
	return ip, nil
}
