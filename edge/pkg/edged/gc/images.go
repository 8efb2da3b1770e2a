package gc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// ImageInfo is what ImagesToFree knows of one image.
type ImageInfo struct {
	ID   string
	Size uint64
	// InUse: a container of the runtime (any state) references it.
	InUse bool
	// Pinned: the runtime asks that it never be removed (the pause image).
	Pinned bool
	// FirstSeen is when the collector first listed it; LastUsed the last
	// pass in which it was in use (zero: never seen in use).
	FirstSeen, LastUsed time.Time
}

// lastUse is when the image was last known in use, or first seen.
func (i ImageInfo) lastUse() time.Time {
	if i.LastUsed.IsZero() {
		return i.FirstSeen
	}
	return i.LastUsed
}

// ImagesToFree returns the IDs of the images to remove when the image
// file system has used of total bytes in use: none below high percent;
// otherwise unused, unpinned images last used (or first seen) minAge ago
// or more, least recently used first, until used minus their sizes is at
// most low percent of total. high and low are 0 to 100.
func ImagesToFree(images []ImageInfo, used, total uint64, high, low int, minAge time.Duration, now time.Time) []string {
	if total == 0 || used*100 < uint64(high)*total {
		return nil
	}
	var candidates []ImageInfo
	for _, img := range images {
		if !img.InUse && !img.Pinned && now.Sub(img.lastUse()) >= minAge {
			candidates = append(candidates, img)
		}
	}
	slices.SortFunc(candidates, func(a, b ImageInfo) int {
		return cmp.Or(a.lastUse().Compare(b.lastUse()), cmp.Compare(a.ID, b.ID))
	})
	var out []string
	for _, img := range candidates {
		if used*100 <= uint64(low)*total {
			break
		}
		out = append(out, img.ID)
		used -= min(used, img.Size)
	}
	return out
}

// imageRecord is what the collector remembers of an image between passes.
type imageRecord struct {
	firstSeen, lastUsed time.Time
}

// CollectImages runs one image pass: it lists containers and images,
// updates when each image was first seen and last used, measures the
// image file system and, above the high threshold, removes the images
// ImagesToFree picks. It returns the bytes freed (by the runtime's image
// sizes) and every failure joined. Passes are serialised.
func (c *Collector) CollectImages(ctx context.Context) (uint64, error) {
	c.imageMu.Lock()
	defer c.imageMu.Unlock()
	snap, err := c.rt.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("image gc: %w", err)
	}
	images, err := c.rt.ListImages(ctx)
	if err != nil {
		return 0, fmt.Errorf("image gc: %w", err)
	}
	infos := c.trackImagesLocked(images, usedRefs(snap), c.now())
	used, total, err := c.imageFSUsage(ctx)
	if err != nil {
		return 0, err
	}
	ids := ImagesToFree(infos, used, total, c.imgGC.HighThresholdPercent, c.imgGC.LowThresholdPercent, c.imgGC.MinAge.Duration, c.now())
	byID := make(map[string]*runtimeapi.Image, len(images))
	for _, img := range images {
		byID[img.GetId()] = img
	}
	var freed uint64
	var errs []error
	for _, id := range ids {
		if err := c.rt.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: id}); err != nil {
			errs = append(errs, fmt.Errorf("image gc: %w", err))
			continue
		}
		delete(c.imagesLocked, id)
		img := byID[id]
		freed += img.GetSize()
		c.log.Info("image gc: removed image", "image", id, "tags", img.GetRepoTags(), "size", img.GetSize())
	}
	if len(ids) > 0 {
		c.log.Info("image gc", "usedBytes", used, "totalBytes", total, "freedBytes", freed,
			"high", c.imgGC.HighThresholdPercent, "low", c.imgGC.LowThresholdPercent)
	}
	return freed, errors.Join(errs...)
}

// usedRefs is every image reference containers of snap hold: ImageRef and
// Image, any state.
func usedRefs(snap *runstate.Snapshot) map[string]bool {
	refs := map[string]bool{}
	for _, p := range snap.Pods {
		for _, ctr := range p.Containers {
			for _, r := range []string{ctr.ImageRef, ctr.Image} {
				if r != "" {
					refs[r] = true
				}
			}
		}
	}
	return refs
}

// trackImagesLocked updates the records from this pass's images (first
// seen now when new; last used now when a ref names the image by ID, tag
// or digest), forgets images no longer listed, and returns the images as
// ImageInfo. c.imageMu must be held.
func (c *Collector) trackImagesLocked(images []*runtimeapi.Image, refs map[string]bool, now time.Time) []ImageInfo {
	listed := map[string]bool{}
	infos := make([]ImageInfo, 0, len(images))
	for _, img := range images {
		id := img.GetId()
		listed[id] = true
		rec, ok := c.imagesLocked[id]
		if !ok {
			rec = imageRecord{firstSeen: now}
		}
		inUse := named(img, refs)
		if inUse {
			rec.lastUsed = now
		}
		c.imagesLocked[id] = rec
		infos = append(infos, ImageInfo{
			ID: id, Size: img.GetSize(), InUse: inUse, Pinned: img.GetPinned() || named(img, c.pinned),
			FirstSeen: rec.firstSeen, LastUsed: rec.lastUsed,
		})
	}
	for id := range c.imagesLocked {
		if !listed[id] {
			delete(c.imagesLocked, id)
		}
	}
	return infos
}

// named reports whether refs holds img's ID, one of its tags or digests.
func named(img *runtimeapi.Image, refs map[string]bool) bool {
	in := func(r string) bool { return refs[r] }
	return refs[img.GetId()] || slices.ContainsFunc(img.GetRepoTags(), in) || slices.ContainsFunc(img.GetRepoDigests(), in)
}

// imageFSUsage measures the file system ImageFsInfo reports images on.
func (c *Collector) imageFSUsage(ctx context.Context) (used, total uint64, err error) {
	info, err := c.rt.ImageFsInfo(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("image gc: %w", err)
	}
	fss := info.GetImageFilesystems()
	if len(fss) == 0 || fss[0].GetFsId().GetMountpoint() == "" {
		return 0, 0, errors.New("image gc: the runtime reports no image file system")
	}
	mp := fss[0].GetFsId().GetMountpoint()
	if used, total, err = c.fsUsage(mp); err != nil {
		return 0, 0, fmt.Errorf("image gc: usage of image file system %s: %w", mp, err)
	}
	return used, total, nil
}
