package edged

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/background"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edged/admit"
	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/gc"
	"github.com/tether-edge/tether/edge/pkg/edged/pleg"
	"github.com/tether-edge/tether/edge/pkg/edged/podruntime"
	"github.com/tether-edge/tether/edge/pkg/edged/prober"
	"github.com/tether-edge/tether/edge/pkg/edged/staticpod"
	"github.com/tether-edge/tether/edge/pkg/edged/volume"
)

// Name is the module's name on the bus; MetaManager tells it about every
// object the node holds.
const Name = "edged"

// dialRetry is how long Start waits between attempts to reach the runtime.
const dialRetry = 2 * time.Second

// Bus is what Edged needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
	SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error)
}

// Options configure Edged.
type Options struct {
	// Bus and Logger are required.
	Bus    Bus
	Logger *slog.Logger
	// NodeName is this node's name; required.
	NodeName string
	// Config is edgecore's edged section.
	Config config.Edged
	// Store is the module pod statuses go to and tokens are asked of
	// (metamanager); Hub carries requests to the cloud (edgehub): mirror
	// pods and the final delete of a pod. Both required.
	Store, Hub string
	// Events is the events module; empty sends no events.
	Events string
	// HostIP returns the node's IP, reported as the pods' hostIP and as
	// the IP of host-network pods; required.
	HostIP func() string
	// Allocatable returns what pods may use on this node, as the Node
	// reports it (admission checks pods against it); required.
	Allocatable func() admit.Node
	// RequestTimeout bounds requests to the cloud; zero means 30s.
	RequestTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics observes pod starts and PLEG's relists; nil means
	// collectors on a registry of their own (measured, never served).
	Metrics *Metrics
}

func (o *Options) validate() error {
	var errs []error
	if o.Bus == nil || o.Logger == nil || o.HostIP == nil || o.Allocatable == nil {
		errs = append(errs, errors.New("Bus, Logger, HostIP and Allocatable are required"))
	}
	if o.NodeName == "" || o.Store == "" || o.Hub == "" {
		errs = append(errs, errors.New("NodeName, Store and Hub are required"))
	}
	if !o.Config.Enable {
		errs = append(errs, errors.New("Config.Enable is false: do not start Edged"))
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("edged: %w", err)
	}
	return nil
}

// Edged is the pod runtime module.
type Edged struct {
	opts Options
	log  *slog.Logger
	want *desired

	// loaded is closed when MetaManager has handed over every stored pod:
	// only then may a pod the runtime holds be taken for an orphan.
	loaded     chan struct{}
	loadedOnce sync.Once

	// rt is set once the runtime is reached (see runtimeUp); nil before.
	rtMu sync.RWMutex
	rt   *runtimeParts

	workers *workers
	status  *reporter
	starts  *podStarts
	mirror  *mirrorSync
	health  runtimeHealth
	tokens  tokens
}

// runtimeParts are what exists once the runtime answers.
type runtimeParts struct {
	cri     *cri.Client
	pods    *podruntime.Manager
	volumes *volume.Manager
	probes  *prober.Manager
	pleg    *pleg.PLEG
	gc      *gc.Collector
}

// New validates o.
func New(o Options) (*Edged, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	e := &Edged{
		opts:   o,
		log:    o.Logger.With("module", Name),
		want:   newDesired(),
		loaded: make(chan struct{}),
	}
	e.status = newReporter(e)
	e.starts = newPodStarts(o.Metrics.PodStartDuration)
	e.workers = newWorkers(e)
	e.mirror = newMirrorSync(e)
	e.health.set(errors.New("container runtime not reached yet"))
	return e, nil
}

// Name implements beehive.Module.
func (e *Edged) Name() string { return Name }

// Group implements beehive.Module.
func (e *Edged) Group() string { return "edged" }

// Start takes the node's pods from MetaManager and the static pod folder,
// reaches the runtime (retrying until it answers) and runs the pods until
// ctx ends. Pods keep running when edgecore stops: the next Start finds
// them in the runtime and adopts them.
func (e *Edged) Start(ctx context.Context) error {
	var tasks []*background.Task
	defer func() {
		for i := len(tasks) - 1; i >= 0; i-- {
			tasks[i].Stop()
		}
	}()
	run := func(f func(context.Context)) {
		t := background.Go(ctx, f)
		tasks = append(tasks, &t)
	}
	run(e.connect)
	run(e.mirror.run)
	if dir := e.opts.Config.StaticPodPath; dir != "" {
		src, err := staticpod.NewSource(staticpod.Options{
			Dir: dir, NodeName: e.opts.NodeName, Period: e.opts.Config.StaticPodScanPeriod.Duration,
			Logger: e.log, Now: e.opts.Now,
		})
		if err != nil {
			return fmt.Errorf("edged: %w", err)
		}
		run(func(ctx context.Context) { src.Run(ctx, e.staticChanged) })
	}
	defer e.workers.stopAll()
	return e.serve(ctx)
}

// serve applies what MetaManager says to the desired set until ctx ends.
func (e *Edged) serve(ctx context.Context) error {
	for {
		msg, err := e.opts.Bus.Receive(ctx, Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("edged: receive: %w", err)
		}
		e.handle(msg)
	}
}

// connect dials the runtime until it answers, then builds what runs pods
// on it and starts them.
func (e *Edged) connect(ctx context.Context) {
	c := e.opts.Config
	var client *cri.Client
	for loggedDown := false; ; {
		var err error
		client, err = cri.Dial(ctx, cri.Options{
			RuntimeEndpoint: c.RuntimeEndpoint, ImageEndpoint: c.CRIImageEndpoint(),
			Timeout: c.RuntimeRequestTimeout.Duration, PullTimeout: c.ImagePullTimeout.Duration,
			Logger: e.log, Now: e.opts.Now,
		})
		if err == nil {
			break
		}
		e.health.set(fmt.Errorf("container runtime is down: %w", err))
		if !loggedDown {
			e.log.Error("container runtime not reached; pods wait for it", "endpoint", c.RuntimeEndpoint, "err", err)
			loggedDown = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(dialRetry):
		}
	}
	defer client.Close()
	parts, err := e.build(ctx, client)
	if err != nil {
		e.health.set(err)
		e.log.Error("edged cannot run pods", "err", err)
		return
	}
	e.log.Info("container runtime reached", "runtime", client.RuntimeName(), "version", client.RuntimeVersion())
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	goRun := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	goRun(func() {
		if err := parts.pleg.Run(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("PLEG stopped", "err", err)
		}
	})
	goRun(func() {
		// The collector removes what no live pod holds: not before the
		// stored pods are known.
		select {
		case <-ctx.Done():
		case <-e.loaded:
			parts.gc.Run(ctx)
		}
	})
	goRun(func() { e.health.watch(ctx, client, parts.pleg) })
	defer parts.probes.Stop()
	e.rtMu.Lock()
	e.rt = parts
	e.rtMu.Unlock()
	goRun(func() { e.follow(ctx, parts.pleg) })
	goRun(func() { e.adopt(ctx, client) })
	e.workers.kickAll()
	<-ctx.Done()
}

// build makes the runtime-side parts on a connected client.
func (e *Edged) build(ctx context.Context, client *cri.Client) (*runtimeParts, error) {
	c := e.opts.Config
	pods, err := podruntime.New(podruntime.Options{
		CRI: client, Logger: e.log, NodeName: e.opts.NodeName, PodLogsDir: c.PodLogsDir,
		ClusterDNS: c.ClusterDNS, ClusterDomain: c.ClusterDomain, Objects: e.want, Now: e.opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("edged: %w", err)
	}
	volumes, err := volume.NewManager(volume.ManagerOptions{
		PodsDir: filepath.Join(c.RootDir, "pods"), Logger: e.log, Objects: e.want, Token: e.token,
	})
	if err != nil {
		return nil, fmt.Errorf("edged: %w", err)
	}
	probes, err := prober.New(prober.Options{
		Exec: client.ExecSync, Logger: e.log,
		OnChange:          e.workers.kick,
		OnLivenessFailure: e.workers.livenessFailed,
	})
	if err != nil {
		return nil, fmt.Errorf("edged: %w", err)
	}
	p, err := pleg.New(pleg.Options{
		Runtime: client, Logger: e.log,
		RelistPeriod:        c.RelistPeriod.Duration,
		EventedRelistPeriod: c.EventedRelistPeriod.Duration,
		HealthThreshold:     c.PLEGHealthThreshold.Duration,
		Metrics:             e.opts.Metrics.PLEG,
	})
	if err != nil {
		return nil, fmt.Errorf("edged: %w", err)
	}
	var pinned []string
	// containerd 1.6 names its sandbox image but does not pin it; 2.x pins
	// it without naming it.
	if img, err := client.SandboxImage(ctx); err != nil {
		e.log.Warn("the runtime's sandbox image is unknown", "err", err)
	} else if img != "" {
		pinned = []string{img}
	}
	collector, err := gc.New(gc.Options{
		Runtime: client, Logger: e.log, Containers: c.ContainerGC, Images: c.ImageGC,
		PodLogsDir: c.PodLogsDir, Live: e.workers.live, Now: e.opts.Now, PinnedImages: pinned,
	})
	if err != nil {
		return nil, fmt.Errorf("edged: %w", err)
	}
	if err := os.MkdirAll(c.PodLogsDir, 0o755); err != nil {
		return nil, fmt.Errorf("edged: pod logs folder: %w", err)
	}
	return &runtimeParts{cri: client, pods: pods, volumes: volumes, probes: probes, pleg: p, gc: collector}, nil
}

// runtime returns the runtime-side parts, nil until the runtime answered.
func (e *Edged) runtime() *runtimeParts {
	e.rtMu.RLock()
	defer e.rtMu.RUnlock()
	return e.rt
}

// follow kicks the worker of each pod PLEG reports a change for.
func (e *Edged) follow(ctx context.Context, p *pleg.PLEG) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-p.Events():
			e.workers.ensure(ev.PodUID)
		}
	}
}

// adopt, once MetaManager has handed over the stored pods, gives a worker
// to every pod the runtime holds: the desired ones are adopted as they run,
// the others (orphans) are stopped and removed.
func (e *Edged) adopt(ctx context.Context, client *cri.Client) {
	select {
	case <-ctx.Done():
		return
	case <-e.loaded:
	}
	snap, err := client.List(ctx)
	if err != nil {
		e.log.Warn("runtime not listed; orphans wait for PLEG", "err", err)
		return
	}
	for uid := range snap.Pods {
		e.workers.ensure(uid)
	}
	if rt := e.runtime(); rt != nil {
		if uids, err := rt.volumes.Pods(); err == nil {
			for _, uid := range uids {
				e.workers.ensure(uid)
			}
		}
	}
}

// markLoaded records that MetaManager handed over every stored object.
func (e *Edged) markLoaded() {
	e.loadedOnce.Do(func() {
		close(e.loaded)
		e.admitAll()
		e.mirror.kick()
	})
}

// isLoaded reports whether markLoaded ran.
func (e *Edged) isLoaded() bool {
	select {
	case <-e.loaded:
		return true
	default:
		return false
	}
}
