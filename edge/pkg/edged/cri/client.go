package cri

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Defaults for Options.
const (
	DefaultTimeout     = 2 * time.Minute
	DefaultPullTimeout = 10 * time.Minute
	// maxMsgSize bounds a CRI message either way, as the kubelet does: a
	// list of many containers or a long ExecSync output fits.
	maxMsgSize = 16 << 20
	// runtimeAPIVersion is the only CRI version this client speaks.
	runtimeAPIVersion = "v1"
)

// Options configures Dial.
type Options struct {
	// RuntimeEndpoint is the runtime service's unix socket: a path or a
	// unix:// URL. Required.
	RuntimeEndpoint string
	// ImageEndpoint is the image service's unix socket; empty means
	// RuntimeEndpoint (one connection serves both).
	ImageEndpoint string
	// Timeout bounds each call; 0 means DefaultTimeout. StopContainer and
	// ExecSync add their own timeout to it; PullImage uses PullTimeout.
	Timeout time.Duration
	// PullTimeout bounds PullImage; 0 means DefaultPullTimeout.
	PullTimeout time.Duration
	// Now is the clock for Snapshot.Taken; nil means time.Now.
	Now func() time.Time
	// Logger is required.
	Logger *slog.Logger
}

func (o *Options) validate() error {
	switch {
	case o.RuntimeEndpoint == "":
		return errors.New("cri: Options.RuntimeEndpoint is required")
	case o.Logger == nil:
		return errors.New("cri: Options.Logger is required")
	case o.Timeout < 0 || o.PullTimeout < 0:
		return errors.New("cri: Options.Timeout and PullTimeout must not be negative")
	}
	if o.ImageEndpoint == "" {
		o.ImageEndpoint = o.RuntimeEndpoint
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PullTimeout == 0 {
		o.PullTimeout = DefaultPullTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Client talks CRI v1 to a container runtime. All methods are safe to call
// concurrently; see the package documentation.
type Client struct {
	opts    Options
	runtime runtimeapi.RuntimeServiceClient
	image   runtimeapi.ImageServiceClient
	conns   []*grpc.ClientConn
	version *runtimeapi.VersionResponse
}

// Dial connects to the runtime (and image) service and checks that the
// runtime answers Version with CRI API v1. The error names the endpoint when
// the socket is missing, does not answer, or is not a CRI v1 runtime.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts}
	rconn, err := dialUnix(opts.RuntimeEndpoint)
	if err != nil {
		return nil, err
	}
	c.conns = append(c.conns, rconn)
	iconn := rconn
	if opts.ImageEndpoint != opts.RuntimeEndpoint {
		if iconn, err = dialUnix(opts.ImageEndpoint); err != nil {
			c.Close()
			return nil, err
		}
		c.conns = append(c.conns, iconn)
	}
	c.runtime = runtimeapi.NewRuntimeServiceClient(rconn)
	c.image = runtimeapi.NewImageServiceClient(iconn)
	if c.version, err = c.checkVersion(ctx); err != nil {
		c.Close()
		return nil, err
	}
	opts.Logger.Info("connected to container runtime", "endpoint", opts.RuntimeEndpoint,
		"runtime", c.version.RuntimeName, "version", c.version.RuntimeVersion)
	return c, nil
}

// checkVersion asks the runtime for its version and requires CRI API v1.
func (c *Client) checkVersion(ctx context.Context) (*runtimeapi.VersionResponse, error) {
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	v, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{Version: runtimeAPIVersion})
	if err != nil {
		return nil, fmt.Errorf("cri: runtime endpoint %s: version: %w", c.opts.RuntimeEndpoint, err)
	}
	if v.RuntimeApiVersion != runtimeAPIVersion {
		return nil, fmt.Errorf("cri: runtime endpoint %s (%s %s) speaks CRI API %q, want %q",
			c.opts.RuntimeEndpoint, v.RuntimeName, v.RuntimeVersion, v.RuntimeApiVersion, runtimeAPIVersion)
	}
	return v, nil
}

// socketPath returns the path of a unix socket endpoint: a plain path or a
// unix:// URL; any other scheme is an error.
func socketPath(endpoint string) (string, error) {
	path := endpoint
	if rest, ok := strings.CutPrefix(endpoint, "unix://"); ok {
		path = rest
	} else if strings.Contains(endpoint, "://") {
		return "", fmt.Errorf("cri: endpoint %s: only unix sockets are supported", endpoint)
	}
	if path == "" {
		return "", fmt.Errorf("cri: endpoint %q has no socket path", endpoint)
	}
	return path, nil
}

// dialUnix makes a gRPC client for the socket. It checks that the socket
// exists (a clear error at start rather than a retrying connection); the
// connection itself is made lazily by the first call.
func dialUnix(endpoint string) (*grpc.ClientConn, error) {
	path, err := socketPath(endpoint)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("cri: endpoint %s: %w", endpoint, err)
	} else if fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("cri: endpoint %s: not a unix socket", endpoint)
	}
	dialer := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	conn, err := grpc.NewClient("passthrough:///cri",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dialer),
		grpc.WithAuthority("localhost"),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("cri: endpoint %s: %w", endpoint, err)
	}
	return conn, nil
}

// Close closes the connections. Calls in flight fail; an event stream ends.
func (c *Client) Close() error {
	var errs []error
	for _, conn := range c.conns {
		errs = append(errs, conn.Close())
	}
	return errors.Join(errs...)
}

// RuntimeName and RuntimeVersion are what the runtime answered at Dial
// (for example "containerd" and "v2.4.2").
func (c *Client) RuntimeName() string    { return c.version.RuntimeName }
func (c *Client) RuntimeVersion() string { return c.version.RuntimeVersion }

// callCtx bounds one call by Options.Timeout.
func (c *Client) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.Timeout)
}
