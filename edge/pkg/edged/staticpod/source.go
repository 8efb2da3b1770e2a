package staticpod

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DefaultPeriod is how often Source reads the folder again by default.
const DefaultPeriod = 5 * time.Second

// Options configure a Source.
type Options struct {
	// Dir is the manifest folder. Required (an empty StaticPodPath means
	// no static pods: build no Source).
	Dir string
	// NodeName is the node the static pods run on. Required.
	NodeName string
	// Period between scans. Zero means DefaultPeriod.
	Period time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock of config.seen; nil means time.Now.
	Now func() time.Time
}

// Source reads the static pods of a manifest folder.
type Source struct {
	opts Options
	// prev is the last scan's pods by file name; only Run's goroutine
	// uses it.
	prev map[string]*corev1.Pod
}

// NewSource validates o.
func NewSource(o Options) (*Source, error) {
	switch {
	case o.Dir == "":
		return nil, errors.New("staticpod: Options.Dir is required")
	case o.NodeName == "":
		return nil, errors.New("staticpod: Options.NodeName is required")
	case o.Period < 0:
		return nil, errors.New("staticpod: Options.Period is negative")
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Source{opts: o}, nil
}

// Run scans Dir at start and every Period until ctx ends, calling
// onChange with the full current set of static pods whenever it differs
// from the last one given (and once after the first scan, even if empty).
// onChange runs on Run's goroutine and owns the pods it is given. Run
// must not be called twice at once.
func (s *Source) Run(ctx context.Context, onChange func(pods []*corev1.Pod)) {
	t := time.NewTicker(s.opts.Period)
	defer t.Stop()
	var last []podKey
	first := true
	for ctx.Err() == nil {
		pods := s.scanOnce()
		if keys := keysOf(pods); first || !slices.Equal(keys, last) {
			first, last = false, keys
			s.opts.Logger.Info("static pods", "dir", s.opts.Dir, "pods", len(pods))
			onChange(deepCopies(pods))
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// scanOnce scans the folder, keeps the result for the next scan, and logs
// the files skipped.
func (s *Source) scanOnce() []*corev1.Pod {
	byFile, errs := scan(s.opts.Dir, s.opts.NodeName, s.prev, s.opts.Now())
	s.prev = byFile
	for _, err := range errs {
		s.opts.Logger.Warn("static pod manifest not used", "dir", s.opts.Dir, "err", err)
	}
	return sorted(byFile)
}

// podKey is what makes two sets of static pods differ: the UID changes
// with the manifest's content.
type podKey struct {
	namespace, name string
	uid             types.UID
}

func keysOf(pods []*corev1.Pod) []podKey {
	keys := make([]podKey, len(pods))
	for i, p := range pods {
		keys[i] = podKey{p.Namespace, p.Name, p.UID}
	}
	return keys
}

func deepCopies(pods []*corev1.Pod) []*corev1.Pod {
	out := make([]*corev1.Pod, len(pods))
	for i, p := range pods {
		out[i] = p.DeepCopy()
	}
	return out
}
