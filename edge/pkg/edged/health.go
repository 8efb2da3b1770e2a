package edged

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/pleg"
	"github.com/tether-edge/tether/edge/pkg/nodestatus"
)

// healthPeriod is how often the runtime's health is read again (PLEG's
// last relist: a cheap read).
const healthPeriod = time.Second

// imagesPeriod is how often the image list is read again.
const imagesPeriod = 30 * time.Second

// runtimeHealth is what node status and /healthz say of the runtime: why
// pods cannot run (nil when they can), the runtime's version and images.
type runtimeHealth struct {
	mu      sync.Mutex
	err     error
	version string
	images  []corev1.ContainerImage
}

func (h *runtimeHealth) set(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

// watch keeps the health and the image list current while connected.
func (h *runtimeHealth) watch(ctx context.Context, client *cri.Client, p *pleg.PLEG) {
	h.mu.Lock()
	h.version = client.RuntimeName() + "://" + client.RuntimeVersion()
	h.mu.Unlock()
	var imagesRead time.Time
	t := time.NewTicker(healthPeriod)
	defer t.Stop()
	for {
		if _, err := p.Healthy(); err != nil {
			h.set(fmt.Errorf("PLEG is not healthy: %w", err))
		} else {
			h.set(nil)
		}
		if time.Since(imagesRead) >= imagesPeriod {
			if imgs, err := client.ListImages(ctx); err == nil {
				h.setImages(imagesOf(imgs))
				imagesRead = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			h.set(fmt.Errorf("container runtime connection closed"))
			return
		case <-t.C:
		}
	}
}

func (h *runtimeHealth) setImages(imgs []corev1.ContainerImage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.images = imgs
}

// RuntimeStatus implements nodestatus.Runtime.
func (e *Edged) RuntimeStatus() nodestatus.RuntimeStatus {
	h := &e.health
	h.mu.Lock()
	defer h.mu.Unlock()
	// images is replaced, never changed in place, and nodestatus picks and
	// orders what the Node shows.
	return nodestatus.RuntimeStatus{Version: h.version, Images: h.images, Err: h.err}
}

// Healthz is the /healthz check: an error while pods cannot run (the
// runtime is unreachable or PLEG has not relisted for its threshold).
func (e *Edged) Healthz(context.Context) error {
	return e.RuntimeStatus().Err
}

// imagesOf turns the runtime's images into the Node's.
func imagesOf(imgs []*runtimeapi.Image) []corev1.ContainerImage {
	out := make([]corev1.ContainerImage, 0, len(imgs))
	for _, img := range imgs {
		names := slices.Concat(img.GetRepoTags(), img.GetRepoDigests())
		if len(names) == 0 {
			names = []string{img.GetId()}
		}
		out = append(out, corev1.ContainerImage{Names: names, SizeBytes: int64(img.GetSize())})
	}
	return out
}
