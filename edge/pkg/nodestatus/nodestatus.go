package nodestatus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tether-edge/tether/common/background"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
	"github.com/tether-edge/tether/edge/pkg/events"
)

// Name is the module's name on the bus: edgehub tells it of the cloud.
const Name = "nodestatus"

// Bus is what the module needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
	TrySend(m message.Message) error
	SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error)
}

// Options configure a Module.
type Options struct {
	// Bus, Logger and Host are required (SystemHost in edgecore).
	Bus    Bus
	Logger *slog.Logger
	Host   Host
	// NodeName is the Node's name; required, a DNS subdomain.
	NodeName string
	// Config is edgecore's nodeStatus section. config.EdgeCore.Validate
	// checks it in full; New rejects what the module cannot run with.
	Config config.NodeStatus
	// CloudServer is the cloud's host (config EdgeHub.Server), optionally
	// with a port: the InternalIP reported is that of the local address
	// that routes to it. Required when Config.InternalIP is empty.
	CloudServer string
	// Version is edgecore's version, reported as nodeInfo.kubeletVersion:
	// as it is if it is a semver starting with "v", else v0.0.0-<Version>.
	// Empty is reported as v0.0.0-unknown.
	Version string
	// StatusSink is the module node statuses and lease renewals go to;
	// required ("metamanager", which keeps them and forwards them to edgehub).
	StatusSink string
	// Hub is the module that carries requests to the cloud; required
	// (edgehub.Name).
	Hub string
	// Events is the events module's name; empty means no events.
	Events string
	// Runtime is the pod runtime (Edged), read at every report; nil means
	// none: no runtime version, no images, and Ready True while edgecore
	// runs.
	Runtime Runtime
	// Pressure holds the thresholds of MemoryPressure, DiskPressure and
	// PIDPressure (edgecore's edged.pressure). A zero field computes no
	// pressure of its kind, so the zero value reports all three False
	// without reading the host for them.
	Pressure config.Pressure
	// ImageFSPath is a path on a filesystem watched for DiskPressure
	// besides "/", such as the runtime's image store
	// (/var/lib/containerd); empty means "/" only. Absolute when set.
	ImageFSPath string
	// Now is the clock for status timestamps; nil means time.Now.
	Now func() time.Time
	// Jitter returns a number in [0, 1) for the registration back-off; nil
	// means math/rand/v2.
	Jitter func() float64
}

func (o *Options) validate() error {
	var errs []error
	if o.Bus == nil || o.Logger == nil || o.Host == nil {
		errs = append(errs, errors.New("Bus, Logger and Host are required"))
	}
	for _, msg := range validation.IsDNS1123Subdomain(o.NodeName) {
		errs = append(errs, fmt.Errorf("NodeName %q: %s", o.NodeName, msg))
	}
	if o.StatusSink == "" || o.Hub == "" {
		errs = append(errs, errors.New("StatusSink and Hub are required"))
	}
	c := o.Config
	if c.InternalIP == "" && o.CloudServer == "" {
		errs = append(errs, errors.New("CloudServer is required when Config.InternalIP is empty"))
	}
	if c.InternalIP != "" && net.ParseIP(c.InternalIP) == nil {
		errs = append(errs, fmt.Errorf("Config.InternalIP %q is not an IP address", c.InternalIP))
	}
	if c.MaxPods < 1 || c.UpdatePeriod.Duration <= 0 || c.LeaseDuration.Duration < time.Second {
		errs = append(errs, fmt.Errorf("Config.MaxPods (%d) and UpdatePeriod (%v) must be positive, LeaseDuration (%v) at least 1s",
			c.MaxPods, c.UpdatePeriod, c.LeaseDuration))
	}
	for k, v := range c.Reserved {
		if _, err := resource.ParseQuantity(v); err != nil || (k != string(corev1.ResourceCPU) && k != string(corev1.ResourceMemory)) {
			errs = append(errs, fmt.Errorf("Config.Reserved[%s] = %q: want a quantity of cpu or memory", k, v))
		}
	}
	if _, err := newThresholds(o.Pressure); err != nil {
		errs = append(errs, err)
	}
	if o.ImageFSPath != "" && !filepath.IsAbs(o.ImageFSPath) {
		errs = append(errs, fmt.Errorf("ImageFSPath %q is not absolute", o.ImageFSPath))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nodestatus: %w", err)
	}
	return nil
}

// Module is the nodestatus module.
type Module struct {
	opts    Options
	log     *slog.Logger
	version string
	// poke asks the reporter for a node status now; capacity 1.
	poke chan struct{}
	// machine is the host's fixed facts, read at Start; read-only after.
	machine Machine
	// thresholds are Options.Pressure, parsed.
	thresholds thresholds
	// filesystems are the paths watched for DiskPressure.
	filesystems []string
	// pressureFailing says the last reading of the pressure failed (logged
	// once per failing streak).
	pressureFailing atomic.Bool
	// registered is set by the first successful registration of the process.
	registered atomic.Bool
	// mu guards lastIP and ipFailing.
	mu sync.Mutex
	// lastIP is the last address found routing to the cloud; ipFailing
	// says the last attempt to find it failed (logged once).
	lastIP    string
	ipFailing bool
}

// New validates o.
func New(o Options) (*Module, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	t, _ := newThresholds(o.Pressure) // validated
	fss := []string{rootFS}
	if o.ImageFSPath != "" && filepath.Clean(o.ImageFSPath) != rootFS {
		fss = append(fss, filepath.Clean(o.ImageFSPath))
	}
	return &Module{
		opts:        o,
		log:         o.Logger.With("module", Name),
		version:     kubeletVersion(o.Version),
		poke:        make(chan struct{}, 1),
		thresholds:  t,
		filesystems: fss,
	}, nil
}

// Name implements beehive.Module.
func (m *Module) Name() string { return Name }

// Group implements beehive.Module.
func (m *Module) Group() string { return "node" }

// Start reports status and lease renewals, and registers the Node on every
// connection to the cloud, until ctx ends.
func (m *Module) Start(ctx context.Context) error {
	m.event(corev1.EventTypeNormal, "Starting", "Starting edgecore.")
	m.machine = m.opts.Host.Machine()
	reporter := background.Go(ctx, m.report)
	defer reporter.Stop()
	return m.serve(ctx)
}

// serve follows the cloud's comings and goings: a registration runs from
// each OpCloudConnected until it succeeds or OpCloudDisconnected comes.
// reg is started from a connect to the next disconnect, so OpCloudSynced
// starts one only if the hub skipped OpCloudConnected for it.
func (m *Module) serve(ctx context.Context) error {
	var reg background.Task
	defer reg.Stop()
	for {
		msg, err := m.opts.Bus.Receive(ctx, Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("nodestatus: receive: %w", err)
		}
		switch msg.Route.Operation {
		case edgehub.OpCloudConnected:
			reg.Stop()
			reg = background.Go(ctx, m.register)
		case edgehub.OpCloudSynced:
			if !reg.Started() {
				reg = background.Go(ctx, m.register)
			}
		case edgehub.OpCloudDisconnected:
			reg.Stop()
		default:
			m.log.Debug("ignored a message", "from", msg.Route.Source, "op", msg.Route.Operation)
		}
	}
}

// observe reads what a status reports now: the machine as read at Start,
// the host's resources, the pressure conditions and the runtime. It fails
// only when the resources cannot be read; a failed pressure reading leaves
// the pressure conditions unknown.
func (m *Module) observe() (observation, error) {
	r, err := m.opts.Host.Resources()
	if err != nil {
		return observation{}, err
	}
	obs := observation{HostInfo: HostInfo{Machine: m.machine, Resources: r}, pressure: m.pressure()}
	if m.opts.Runtime != nil {
		rs := m.opts.Runtime.RuntimeStatus()
		obs.runtime = &rs
	}
	return obs, nil
}

// pressure says which pressure conditions are True now; nil when the host
// cannot be read.
func (m *Module) pressure() map[corev1.NodeConditionType]bool {
	if !m.thresholds.set() {
		return underPressure(PressureReadings{}, thresholds{})
	}
	r, err := m.opts.Host.Pressure(m.filesystems)
	if err != nil {
		if !m.pressureFailing.Swap(true) {
			m.log.Warn("cannot read the host's pressure; the pressure conditions keep their status", "err", err)
		}
		return nil
	}
	if m.pressureFailing.Swap(false) {
		m.log.Info("the host's pressure is readable again")
	}
	return underPressure(r, m.thresholds)
}

// event tells the events module, if any, about the Node; it never waits.
func (m *Module) event(typ, reason, msg string) {
	if m.opts.Events == "" {
		return
	}
	ev := corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: m.opts.NodeName, UID: nodeUID(m.opts.NodeName)},
		Type:           typ,
		Reason:         reason,
		Message:        msg,
	}
	em, err := events.NewMessage(Name, m.opts.Events, ev)
	if err == nil {
		err = m.opts.Bus.TrySend(em)
	}
	if err != nil {
		m.log.Warn("event not recorded", "reason", reason, "err", err)
	}
}
