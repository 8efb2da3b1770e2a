package podruntime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
)

var _ CRI = (*cri.Client)(nil)

var errNotFound = status.Error(codes.NotFound, "not found")

// fakeCRI records the calls made to it ("pull IMAGE", "create NAME", ...)
// and answers from its fields.
type fakeCRI struct {
	// present is the images ImageStatus finds.
	present   map[string]bool
	statusErr error
	pullErr   error
	createErr error
	startErr  error
	// stopErr and removeErr answer per container or sandbox ID.
	stopErr   map[string]error
	removeErr map[string]error
	sandboxIP string
	// onRun is called by RunPodSandbox.
	onRun func(*runtimeapi.PodSandboxConfig)
	// onStop is called by StopContainer, without the lock held.
	onStop func(ctx context.Context, id string) error

	// mu guards the fields below.
	mu      sync.Mutex
	calls   []string
	auths   []*runtimeapi.AuthConfig
	created []*runtimeapi.ContainerConfig
	grace   map[string]time.Duration
}

func (f *fakeCRI) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeCRI) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeCRI) RunPodSandbox(_ context.Context, cfg *runtimeapi.PodSandboxConfig, handler string) (string, error) {
	f.record("run sandbox %s %d %q", cfg.Metadata.Name, cfg.Metadata.Attempt, handler)
	if f.onRun != nil {
		f.onRun(cfg)
	}
	return "sb-1", nil
}

func (f *fakeCRI) StopPodSandbox(_ context.Context, id string) error {
	f.record("stop sandbox %s", id)
	return f.stopErr[id]
}

func (f *fakeCRI) RemovePodSandbox(_ context.Context, id string) error {
	f.record("remove sandbox %s", id)
	return f.removeErr[id]
}

func (f *fakeCRI) PodSandboxStatus(_ context.Context, id string) (*runtimeapi.PodSandboxStatus, error) {
	f.record("sandbox status %s", id)
	return &runtimeapi.PodSandboxStatus{Id: id, Network: &runtimeapi.PodSandboxNetworkStatus{Ip: f.sandboxIP}}, nil
}

func (f *fakeCRI) CreateContainer(_ context.Context, sandboxID string, cfg *runtimeapi.ContainerConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	f.record("create %s in %s", cfg.Metadata.Name, sandboxID)
	if f.createErr != nil {
		return "", f.createErr
	}
	f.mu.Lock()
	f.created = append(f.created, cfg)
	f.mu.Unlock()
	return "ctr-" + cfg.Metadata.Name, nil
}

func (f *fakeCRI) StartContainer(_ context.Context, id string) error {
	f.record("start %s", id)
	return f.startErr
}

func (f *fakeCRI) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	f.record("stop %s", id)
	f.mu.Lock()
	if f.grace == nil {
		f.grace = map[string]time.Duration{}
	}
	f.grace[id] = timeout
	f.mu.Unlock()
	if f.onStop != nil {
		if err := f.onStop(ctx, id); err != nil {
			return err
		}
	}
	return f.stopErr[id]
}

func (f *fakeCRI) RemoveContainer(_ context.Context, id string) error {
	f.record("remove %s", id)
	return f.removeErr[id]
}

func (f *fakeCRI) PullImage(_ context.Context, spec *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	f.record("pull %s", spec.Image)
	f.mu.Lock()
	f.auths = append(f.auths, auth)
	f.mu.Unlock()
	if f.pullErr != nil {
		return "", f.pullErr
	}
	return "sha256:1", nil
}

func (f *fakeCRI) ImageStatus(_ context.Context, spec *runtimeapi.ImageSpec) (bool, uint64, error) {
	f.record("image status %s", spec.Image)
	return f.present[spec.Image], 1, f.statusErr
}

// fakeObjects serves configmaps and secrets by name.
type fakeObjects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (o fakeObjects) ConfigMap(_, name string) (*corev1.ConfigMap, error) { return o.cms[name], nil }
func (o fakeObjects) Secret(_, name string) (*corev1.Secret, error)       { return o.secrets[name], nil }

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestManager builds a Manager over f with logs in a temporary folder
// and no host resolv.conf.
func newTestManager(t *testing.T, f *fakeCRI, objs fakeObjects, clock *fakeClock) (*Manager, string) {
	t.Helper()
	logs := t.TempDir()
	o := Options{
		CRI: f, Logger: quietLogger(), NodeName: "edge-1", PodLogsDir: logs, Objects: objs,
		ResolvConf: "/nonexistent/resolv.conf",
	}
	if clock != nil {
		o.Now = clock.Now
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m, logs
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
