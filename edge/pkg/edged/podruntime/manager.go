package podruntime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

// Image pull back-off defaults, the kubelet's.
const (
	DefaultPullBackoffInitial = 10 * time.Second
	DefaultPullBackoffMax     = 5 * time.Minute
)

// DefaultResolvConf is the host's resolver configuration.
const DefaultResolvConf = "/etc/resolv.conf"

// CRI is the part of the CRI client the Manager uses; *cri.Client
// (edge/pkg/edged/cri) satisfies it.
type CRI interface {
	RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error)
	StopPodSandbox(ctx context.Context, id string) error
	RemovePodSandbox(ctx context.Context, id string) error
	PodSandboxStatus(ctx context.Context, id string) (*runtimeapi.PodSandboxStatus, error)
	CreateContainer(ctx context.Context, sandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	RemoveContainer(ctx context.Context, id string) error
	PullImage(ctx context.Context, spec *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
	ImageStatus(ctx context.Context, spec *runtimeapi.ImageSpec) (present bool, size uint64, err error)
}

// Options configures New.
type Options struct {
	// CRI is the runtime. Required.
	CRI CRI
	// Logger is required.
	Logger *slog.Logger
	// NodeName is this node's name, for the downward API. Required.
	NodeName string
	// PodLogsDir holds the pods' log folders (config edged.podLogsDir).
	// Required.
	PodLogsDir string
	// ClusterDNS are the nameservers of ClusterFirst pods; empty gives
	// them the host's resolv.conf. ClusterDomain is their search domain;
	// empty means no cluster searches.
	ClusterDNS    []string
	ClusterDomain string
	// Objects gives the configmaps and secrets of env and
	// imagePullSecrets. Required.
	Objects containerspec.Objects
	// Now is the clock of the pull back-off; nil means time.Now.
	Now func() time.Time
	// PullBackoffInitial is the delay after an image's first failed pull,
	// doubling per failure up to PullBackoffMax; 0 means 10 s and 5 min.
	PullBackoffInitial, PullBackoffMax time.Duration
	// ResolvConf is the host's resolver configuration, read once by New:
	// the base a Default-policy pod's dnsConfig is merged into. Empty
	// means /etc/resolv.conf; a missing file is an empty configuration.
	ResolvConf string
}

func (o *Options) validate() error {
	switch {
	case o.CRI == nil:
		return errors.New("podruntime: Options.CRI is required")
	case o.Logger == nil:
		return errors.New("podruntime: Options.Logger is required")
	case o.NodeName == "":
		return errors.New("podruntime: Options.NodeName is required")
	case o.PodLogsDir == "":
		return errors.New("podruntime: Options.PodLogsDir is required")
	case o.Objects == nil:
		return errors.New("podruntime: Options.Objects is required")
	case o.PullBackoffInitial < 0 || o.PullBackoffMax < 0:
		return errors.New("podruntime: Options.PullBackoffInitial and PullBackoffMax must not be negative")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PullBackoffInitial == 0 {
		o.PullBackoffInitial = DefaultPullBackoffInitial
	}
	if o.PullBackoffMax == 0 {
		o.PullBackoffMax = DefaultPullBackoffMax
	}
	if o.ResolvConf == "" {
		o.ResolvConf = DefaultResolvConf
	}
	return nil
}

// Manager runs pods' sandboxes and containers through CRI. Its methods
// are safe to call concurrently; see the package documentation.
type Manager struct {
	cri         CRI
	log         *slog.Logger
	objects     containerspec.Objects
	nodeName    string
	params      SandboxParams
	now         func() time.Time
	pullInitial time.Duration
	pullMax     time.Duration

	// mu guards pulls.
	mu sync.Mutex
	// pulls is the image pull back-off of the images whose last pull
	// failed, by pod and image.
	pulls map[pullKey]pullBackoff
}

// New validates o and returns a Manager. It reads the host's
// resolv.conf.
func New(o Options) (*Manager, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	hostDNS, err := readResolvConf(o.ResolvConf)
	if err != nil {
		return nil, fmt.Errorf("podruntime: %w", err)
	}
	return &Manager{
		cri:      o.CRI,
		log:      o.Logger,
		objects:  o.Objects,
		nodeName: o.NodeName,
		params: SandboxParams{
			NodeName: o.NodeName, PodLogsDir: o.PodLogsDir, ClusterDNS: o.ClusterDNS,
			ClusterDomain: o.ClusterDomain, HostDNS: hostDNS,
		},
		now:         o.Now,
		pullInitial: o.PullBackoffInitial,
		pullMax:     o.PullBackoffMax,
		pulls:       map[pullKey]pullBackoff{},
	}, nil
}

func readResolvConf(path string) (*runtimeapi.DNSConfig, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &runtimeapi.DNSConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	cfg, err := ParseResolvConf(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return cfg, nil
}

// CreateSandbox makes the pod's log folder and runs its sandbox for
// attempt, then reads the sandbox's IP (empty for hostNetwork pods). When
// only that read fails, id is set along with the error: the sandbox
// exists.
func (m *Manager) CreateSandbox(ctx context.Context, pod *corev1.Pod, attempt uint32) (id, ip string, err error) {
	cfg, err := SandboxConfig(pod, attempt, m.params)
	if err != nil {
		return "", "", fmt.Errorf("sandbox config of pod %s: %w", podName(pod), err)
	}
	if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
		return "", "", fmt.Errorf("log folder of pod %s: %w", podName(pod), err)
	}
	if id, err = m.cri.RunPodSandbox(ctx, cfg, ""); err != nil {
		return "", "", err
	}
	st, err := m.cri.PodSandboxStatus(ctx, id)
	if err != nil {
		return id, "", err
	}
	m.log.Info("sandbox created", "pod", podName(pod), "sandbox", id, "attempt", attempt, "ip", st.GetNetwork().GetIp())
	return id, st.GetNetwork().GetIp(), nil
}

// RemoveLogs removes a pod's log folder and everything in it.
func (m *Manager) RemoveLogs(namespace, name string, uid types.UID) error {
	for _, part := range []string{namespace, name, string(uid)} {
		if part == "" || strings.ContainsAny(part, `/\`) || part == "." || part == ".." {
			return fmt.Errorf("remove logs of pod %s/%s (%s): invalid name", namespace, name, uid)
		}
	}
	if err := os.RemoveAll(LogDir(m.params.PodLogsDir, namespace, name, uid)); err != nil {
		return fmt.Errorf("remove logs of pod %s/%s (%s): %w", namespace, name, uid, err)
	}
	return nil
}

// ForgetPod drops the pod's image pull back-off, when it is gone from the
// node.
func (m *Manager) ForgetPod(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.pulls {
		if k.uid == uid {
			delete(m.pulls, k)
		}
	}
}

func podName(pod *corev1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}
