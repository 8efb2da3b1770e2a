package cri

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// call makes one CRI call bounded by timeout (Options.Timeout, plus the
// container's own wait for stop and exec). Its error names the call and
// the object (what) and wraps the gRPC status. The getters of a nil
// response give zero values, so callers can return resp.GetX(), err.
func call[Req, Resp any](ctx context.Context, timeout time.Duration, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req, what string) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := rpc(ctx, req)
	if err != nil {
		var none Resp
		return none, fmt.Errorf("%s: %w", what, err)
	}
	return resp, nil
}

// RunPodSandbox creates and starts a pod sandbox and returns its ID.
// runtimeHandler selects a runtime class; empty is the default.
func (c *Client) RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error) {
	resp, err := call(ctx, c.opts.Timeout, c.runtime.RunPodSandbox,
		&runtimeapi.RunPodSandboxRequest{Config: config, RuntimeHandler: runtimeHandler},
		"run pod sandbox of pod "+podOf(config))
	return resp.GetPodSandboxId(), err
}

// StopPodSandbox stops a sandbox and all its containers.
func (c *Client) StopPodSandbox(ctx context.Context, id string) error {
	_, err := call(ctx, c.opts.Timeout, c.runtime.StopPodSandbox,
		&runtimeapi.StopPodSandboxRequest{PodSandboxId: id}, "stop pod sandbox "+id)
	return err
}

// RemovePodSandbox removes a sandbox and all its containers.
func (c *Client) RemovePodSandbox(ctx context.Context, id string) error {
	_, err := call(ctx, c.opts.Timeout, c.runtime.RemovePodSandbox,
		&runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}, "remove pod sandbox "+id)
	return err
}

// PodSandboxStatus returns a sandbox's status.
func (c *Client) PodSandboxStatus(ctx context.Context, id string) (*runtimeapi.PodSandboxStatus, error) {
	resp, err := call(ctx, c.opts.Timeout, c.runtime.PodSandboxStatus,
		&runtimeapi.PodSandboxStatusRequest{PodSandboxId: id}, "pod sandbox status "+id)
	return resp.GetStatus(), err
}

// CreateContainer creates a container in a sandbox and returns its ID.
// sandboxConfig is the config the sandbox was run with.
func (c *Client) CreateContainer(ctx context.Context, sandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	resp, err := call(ctx, c.opts.Timeout, c.runtime.CreateContainer,
		&runtimeapi.CreateContainerRequest{PodSandboxId: sandboxID, Config: config, SandboxConfig: sandboxConfig},
		"create container "+config.GetMetadata().GetName()+" of pod "+podOf(sandboxConfig))
	return resp.GetContainerId(), err
}

// StartContainer starts a created container.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	_, err := call(ctx, c.opts.Timeout, c.runtime.StartContainer,
		&runtimeapi.StartContainerRequest{ContainerId: id}, "start container "+id)
	return err
}

// StopContainer stops a container: the runtime signals it and kills it
// after timeout (its grace period, whole seconds; 0 kills at once). The call
// may take timeout plus Options.Timeout.
func (c *Client) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	_, err := call(ctx, c.opts.Timeout+max(timeout, 0), c.runtime.StopContainer,
		&runtimeapi.StopContainerRequest{ContainerId: id, Timeout: int64(timeout / time.Second)}, "stop container "+id)
	return err
}

// RemoveContainer removes a container, stopping it first if it runs.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	_, err := call(ctx, c.opts.Timeout, c.runtime.RemoveContainer,
		&runtimeapi.RemoveContainerRequest{ContainerId: id}, "remove container "+id)
	return err
}

// ContainerStatus returns a container's status.
func (c *Client) ContainerStatus(ctx context.Context, id string) (*runtimeapi.ContainerStatus, error) {
	resp, err := call(ctx, c.opts.Timeout, c.runtime.ContainerStatus,
		&runtimeapi.ContainerStatusRequest{ContainerId: id}, "container status "+id)
	return resp.GetStatus(), err
}

// ExecSync runs cmd in a running container and returns its output and exit
// code; a non-zero exit code is not an error. timeout bounds the command
// (whole seconds; 0: no limit but Options.Timeout); the call may take
// timeout plus Options.Timeout.
func (c *Client) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (stdout, stderr []byte, exitCode int32, err error) {
	resp, err := call(ctx, c.opts.Timeout+max(timeout, 0), c.runtime.ExecSync,
		&runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: int64(timeout / time.Second)},
		fmt.Sprintf("exec %q in container %s", cmd, id))
	return resp.GetStdout(), resp.GetStderr(), resp.GetExitCode(), err
}

// ReopenContainerLog makes the runtime reopen a container's log file, after
// it was rotated.
func (c *Client) ReopenContainerLog(ctx context.Context, id string) error {
	_, err := call(ctx, c.opts.Timeout, c.runtime.ReopenContainerLog,
		&runtimeapi.ReopenContainerLogRequest{ContainerId: id}, "reopen log of container "+id)
	return err
}

// podOf names a sandbox config's pod in errors: namespace/name (uid).
func podOf(config *runtimeapi.PodSandboxConfig) string {
	m := config.GetMetadata()
	return fmt.Sprintf("%s/%s (%s)", m.GetNamespace(), m.GetName(), m.GetUid())
}
