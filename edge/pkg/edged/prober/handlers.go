package prober

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// UserAgent is the User-Agent of HTTP and gRPC probes unless the probe
// sets its own (the kubelet's is kube-probe/<its minor version>).
const UserAgent = "kube-probe/1.37"

// maxOutput bounds the command output or response body kept as a
// probe's detail.
const maxOutput = 10 << 10

// target is where one container instance's probes go.
type target struct {
	containerID string
	podIP       string
	container   *corev1.Container // for named ports
}

// run runs probe p once against t. success and detail (command output,
// response body, or why it failed) are the probe's result; err means
// there is no result (a probe that cannot be run, a runtime error).
func (m *Manager) run(ctx context.Context, p *corev1.Probe, timeout time.Duration, t target) (success bool, detail string, err error) {
	h := p.ProbeHandler
	switch {
	case h.Exec != nil:
		return m.execProbe(ctx, h.Exec.Command, timeout, t)
	case h.HTTPGet != nil:
		return m.httpProbe(ctx, h.HTTPGet, timeout, t)
	case h.TCPSocket != nil:
		return tcpProbe(ctx, h.TCPSocket, timeout, t)
	case h.GRPC != nil:
		return grpcProbe(ctx, h.GRPC, timeout, t)
	}
	return false, "", errors.New("probe has no handler")
}

func (m *Manager) execProbe(ctx context.Context, cmd []string, timeout time.Duration, t target) (bool, string, error) {
	stdout, stderr, code, err := m.exec(ctx, t.containerID, cmd, timeout)
	if err != nil {
		if ctx.Err() == nil && isTimeout(err) {
			return false, fmt.Sprintf("command %q timed out after %s", cmd, timeout), nil
		}
		return false, "", fmt.Errorf("exec %q: %w", cmd, err)
	}
	out := clip(string(stdout) + string(stderr))
	if code != 0 {
		return false, fmt.Sprintf("command %q exited with %d: %s", cmd, code, out), nil
	}
	return true, out, nil
}

// isTimeout tells whether an exec error means the command ran out of time.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
}

func (m *Manager) httpProbe(ctx context.Context, g *corev1.HTTPGetAction, timeout time.Duration, t target) (bool, string, error) {
	port, err := resolvePort(g.Port, t.container)
	if err != nil {
		return false, "", err
	}
	host := g.Host
	if host == "" {
		host = t.podIP
	}
	if host == "" {
		return false, "", errors.New("http probe: no host and no pod IP")
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(path)
	if err != nil {
		u = &url.URL{Path: path}
	}
	u.Scheme, u.Host = scheme, net.JoinHostPort(host, strconv.Itoa(port))

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, "", fmt.Errorf("http probe: %w", err)
	}
	for _, hd := range g.HTTPHeaders {
		if http.CanonicalHeaderKey(hd.Name) == "Host" {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", UserAgent)
	}
	if _, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return false, err.Error(), nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if err != nil {
		return false, fmt.Sprintf("read body of %s: %v", u, err), nil
	}
	if resp.StatusCode < http.StatusOK || resp.StatusCode >= http.StatusBadRequest {
		return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
	}
	return true, string(body), nil
}

func tcpProbe(ctx context.Context, s *corev1.TCPSocketAction, timeout time.Duration, t target) (bool, string, error) {
	port, err := resolvePort(s.Port, t.container)
	if err != nil {
		return false, "", err
	}
	host := s.Host
	if host == "" {
		host = t.podIP
	}
	if host == "" {
		return false, "", errors.New("tcp probe: no host and no pod IP")
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false, err.Error(), nil
	}
	_ = conn.Close()
	return true, "", nil
}

func grpcProbe(ctx context.Context, g *corev1.GRPCAction, timeout time.Duration, t target) (bool, string, error) {
	if t.podIP == "" {
		return false, "", errors.New("grpc probe: no pod IP")
	}
	addr := net.JoinHostPort(t.podIP, strconv.Itoa(int(g.Port)))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent(UserAgent))
	if err != nil {
		return false, "", fmt.Errorf("grpc probe: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var service string
	if g.Service != nil {
		service = *g.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	switch {
	case status.Code(err) == codes.Unimplemented:
		return false, "service at " + addr + " does not implement the grpc health protocol", nil
	case status.Code(err) == codes.DeadlineExceeded:
		return false, fmt.Sprintf("health rpc to %s did not complete within %s", addr, timeout), nil
	case err != nil:
		return false, err.Error(), nil
	case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		return false, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus()), nil
	}
	return true, "", nil
}

// resolvePort returns port's number, looking a name up among the
// container's ports.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal < 1 || port.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port %d", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil && n > 0 && n < 65536 {
		return n, nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no port named %q in container %s", port.StrVal, c.Name)
}

// clip bounds s to maxOutput bytes.
func clip(s string) string {
	if len(s) > maxOutput {
		return s[:maxOutput]
	}
	return s
}
