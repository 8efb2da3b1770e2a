package gc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Defaults for zero fields of Options (the config's defaults).
const (
	DefaultContainerPeriod      = time.Minute
	DefaultImagePeriod          = 5 * time.Minute
	DefaultHighThresholdPercent = 85
	DefaultLowThresholdPercent  = 80
)

// Runtime is what the collector needs from the container runtime;
// *cri.Client satisfies it. Removing what is already gone returns an
// error cri.IsNotFound accepts, or nil.
type Runtime interface {
	// List returns Edged's sandboxes and containers grouped by pod, as
	// cri.Client.List does (details may be left uninspected).
	List(ctx context.Context) (*runstate.Snapshot, error)
	RemoveContainer(ctx context.Context, id string) error
	RemovePodSandbox(ctx context.Context, id string) error
	ListImages(ctx context.Context) ([]*runtimeapi.Image, error)
	RemoveImage(ctx context.Context, spec *runtimeapi.ImageSpec) error
	ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error)
}

// Options configures New.
type Options struct {
	// Runtime is listed and removed from. Required.
	Runtime Runtime
	// Logger; nil discards.
	Logger *slog.Logger
	// Containers: a zero Period means DefaultContainerPeriod; MinAge and
	// MaxPerContainer must not be negative (0 keeps only the newest
	// instance, see the package doc).
	Containers config.ContainerGC
	// Images: a zero Period means DefaultImagePeriod; both thresholds
	// zero mean the defaults (85 and 80); otherwise High is 1 to 100 and
	// Low 0 to High-1. MinAge must not be negative.
	Images config.ImageGC
	// PinnedImages are image references (tags, digests or IDs) never
	// removed, besides those the runtime reports pinned: the sandbox
	// (pause) image, which containerd 1.6 does not report pinned and no
	// container references. Nil allowed.
	PinnedImages []string
	// PodLogsDir holds the pods' log folders; empty leaves logs alone.
	PodLogsDir string
	// Live reports whether Edged still has the pod (in its desired set):
	// containers, sandboxes and log folders of pods that are not live are
	// all removed once they are not running. Required; it must be safe to
	// call from the collector's goroutines.
	Live func(uid types.UID) bool
	// FSUsage returns used and total bytes of the file system holding
	// path; nil means statfs.
	FSUsage func(path string) (used, total uint64, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o *Options) validate() error {
	switch {
	case o.Runtime == nil:
		return errors.New("gc: Options.Runtime is required")
	case o.Live == nil:
		return errors.New("gc: Options.Live is required")
	case o.Containers.Period.Duration < 0 || o.Images.Period.Duration < 0:
		return errors.New("gc: Options periods must not be negative")
	case o.Containers.MinAge.Duration < 0 || o.Images.MinAge.Duration < 0:
		return errors.New("gc: Options MinAge must not be negative")
	case o.Containers.MaxPerContainer < 0:
		return errors.New("gc: Options.Containers.MaxPerContainer must not be negative")
	}
	if o.Images.HighThresholdPercent == 0 && o.Images.LowThresholdPercent == 0 {
		o.Images.HighThresholdPercent, o.Images.LowThresholdPercent = DefaultHighThresholdPercent, DefaultLowThresholdPercent
	}
	if high, low := o.Images.HighThresholdPercent, o.Images.LowThresholdPercent; high < 1 || high > 100 || low < 0 || low >= high {
		return errors.New("gc: Options.Images thresholds: want 1 <= high <= 100 and 0 <= low < high")
	}
	if o.Containers.Period.Duration == 0 {
		o.Containers.Period.Duration = DefaultContainerPeriod
	}
	if o.Images.Period.Duration == 0 {
		o.Images.Period.Duration = DefaultImagePeriod
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FSUsage == nil {
		o.FSUsage = statfsUsage
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Collector removes dead containers, sandboxes, logs and unused images.
// See the package doc.
type Collector struct {
	rt         Runtime
	log        *slog.Logger
	ctrGC      config.ContainerGC
	imgGC      config.ImageGC
	podLogsDir string
	pinned     map[string]bool
	live       func(types.UID) bool
	fsUsage    func(string) (uint64, uint64, error)
	now        func() time.Time

	// imageMu serialises image passes and guards imagesLocked.
	imageMu sync.Mutex
	// imagesLocked is what the collector remembers per image ID.
	imagesLocked map[string]imageRecord
}

// New returns a Collector; call Run to start it.
func New(o Options) (*Collector, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &Collector{
		rt: o.Runtime, log: o.Logger, ctrGC: o.Containers, imgGC: o.Images, podLogsDir: o.PodLogsDir,
		live: o.Live, fsUsage: o.FSUsage, now: o.Now,
		pinned:       setOf(o.PinnedImages),
		imagesLocked: map[string]imageRecord{},
	}, nil
}

// Run runs a container pass every Containers.Period and an image pass
// every Images.Period until ctx ends, then waits for both loops. Failed
// passes are logged at Warn. Call it once.
func (c *Collector) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		c.every(ctx, c.ctrGC.Period.Duration, func() error {
			_, err := c.CollectContainers(ctx)
			return err
		})
	})
	wg.Go(func() {
		c.every(ctx, c.imgGC.Period.Duration, func() error {
			_, err := c.CollectImages(ctx)
			return err
		})
	})
	wg.Wait()
}

// every calls pass each period until ctx ends, logging its errors.
func (c *Collector) every(ctx context.Context, period time.Duration, pass func() error) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := pass(); err != nil && ctx.Err() == nil {
			c.log.Warn("garbage collection failed", "err", err)
		}
	}
}

func setOf(refs []string) map[string]bool {
	s := make(map[string]bool, len(refs))
	for _, r := range refs {
		s[r] = true
	}
	return s
}
