package cri

import (
	"context"
	"fmt"
	"net/url"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StreamOptions are the streams of an exec or attach session.
type StreamOptions struct {
	Stdin, Stdout, Stderr, TTY bool
}

// Exec prepares a streaming exec of cmd in container id and returns the
// runtime's streaming URL, to which the client's upgrade request is
// proxied (the runtime serves it once, for a short while).
func (c *Client) Exec(ctx context.Context, id string, cmd []string, s StreamOptions) (*url.URL, error) {
	what := fmt.Sprintf("exec %q in container %s", cmd, id)
	resp, err := call(ctx, c.opts.Timeout, c.runtime.Exec, &runtimeapi.ExecRequest{
		ContainerId: id, Cmd: cmd, Tty: s.TTY, Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr,
	}, what)
	if err != nil {
		return nil, err
	}
	return streamURL(resp.GetUrl(), what)
}

// Attach prepares a streaming attach to container id's main process and
// returns the runtime's streaming URL.
func (c *Client) Attach(ctx context.Context, id string, s StreamOptions) (*url.URL, error) {
	what := "attach to container " + id
	resp, err := call(ctx, c.opts.Timeout, c.runtime.Attach, &runtimeapi.AttachRequest{
		ContainerId: id, Tty: s.TTY, Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr,
	}, what)
	if err != nil {
		return nil, err
	}
	return streamURL(resp.GetUrl(), what)
}

// PortForward prepares a streaming port-forward into sandbox sandboxID and
// returns the runtime's streaming URL. ports may be empty: with SPDY the
// client names the port of each stream.
func (c *Client) PortForward(ctx context.Context, sandboxID string, ports []int32) (*url.URL, error) {
	what := "port-forward to pod sandbox " + sandboxID
	resp, err := call(ctx, c.opts.Timeout, c.runtime.PortForward, &runtimeapi.PortForwardRequest{
		PodSandboxId: sandboxID, Port: ports,
	}, what)
	if err != nil {
		return nil, err
	}
	return streamURL(resp.GetUrl(), what)
}

// streamURL parses the runtime's streaming URL, which must be absolute
// (http or https with a host): there is no server of ours it could be
// relative to.
func streamURL(raw, what string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: streaming URL %q: %w", what, raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: streaming URL %q is not an absolute http(s) URL", what, raw)
	}
	return u, nil
}
