package gc

import (
	"slices"
	"testing"
	"time"
)

func TestImagesToFree(t *testing.T) {
	now := t0.Add(time.Hour)
	// img is an image of size 4 last used at lastUsed (zero: never) and
	// first seen at t0.
	img := func(id string, lastUsed time.Duration) ImageInfo {
		i := ImageInfo{ID: id, Size: 4, FirstSeen: t0}
		if lastUsed >= 0 {
			i.LastUsed = t0.Add(lastUsed)
		}
		return i
	}
	never := time.Duration(-1)
	lru := []ImageInfo{img("d", 30*time.Minute), img("b", 20*time.Minute), img("c", never), img("a", 10*time.Minute)}
	for _, tc := range []struct {
		name        string
		images      []ImageInfo
		used, total uint64
		high, low   int
		minAge      time.Duration
		want        []string
	}{{
		name: "below the high threshold", images: lru, used: 84, total: 100, high: 85, low: 80,
	}, {
		name:   "least recently used first (never used counts from first seen) until at most low",
		images: lru, used: 90, total: 100, high: 85, low: 80,
		want: []string{"c", "a", "b"},
	}, {
		name: "at the high threshold exactly", images: lru, used: 85, total: 100, high: 85, low: 80,
		want: []string{"c", "a"},
	}, {
		name: "threshold percentages of a large disk", images: []ImageInfo{{ID: "x", Size: 1 << 40, FirstSeen: t0}},
		used: 9 << 40, total: 10 << 40, high: 90, low: 80,
		want: []string{"x"},
	}, {
		name: "pinned and in-use images never go",
		images: []ImageInfo{
			{ID: "pinned", Size: 50, Pinned: true, FirstSeen: t0},
			{ID: "used", Size: 50, InUse: true, FirstSeen: t0, LastUsed: now},
			{ID: "unused", Size: 1, FirstSeen: t0},
		},
		used: 100, total: 100, high: 50, low: 0,
		want: []string{"unused"},
	}, {
		name: "used or first seen within min age stay",
		images: []ImageInfo{
			{ID: "recent", Size: 10, FirstSeen: t0, LastUsed: now.Add(-30 * time.Second)},
			{ID: "new", Size: 10, FirstSeen: now.Add(-30 * time.Second)},
			{ID: "old", Size: 10, FirstSeen: t0, LastUsed: now.Add(-time.Minute)},
		},
		used: 100, total: 100, high: 50, low: 0, minAge: time.Minute,
		want: []string{"old"},
	}, {
		name: "equal use ordered by ID", images: []ImageInfo{img("y", 0), img("x", 0)},
		used: 100, total: 100, high: 50, low: 0,
		want: []string{"x", "y"},
	}, {
		name:   "an image larger than the usage does not wrap around",
		images: []ImageInfo{{ID: "huge", Size: 1000, FirstSeen: t0}, img("next", 0)},
		used:   90, total: 100, high: 85, low: 0,
		want: []string{"huge"},
	}, {
		name: "unknown total", images: lru, used: 90, total: 0, high: 85, low: 80,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := ImagesToFree(tc.images, tc.used, tc.total, tc.high, tc.low, tc.minAge, now)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ImagesToFree = %v, want %v", got, tc.want)
			}
		})
	}
}
