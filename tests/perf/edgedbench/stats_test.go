package edgedbench

import (
	"math"
	"slices"
	"testing"
	"time"
)

// percentile is the nearest-rank p-th percentile of ds (0 < p <= 100):
// the smallest sample at least p% of the samples are at or below. With 30
// samples p99 is the largest.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func TestPercentile(t *testing.T) {
	thirty := make([]time.Duration, 30)
	for i := range thirty {
		thirty[i] = time.Duration(30-i) * time.Millisecond // unsorted
	}
	tests := []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 99, 7},
		{[]time.Duration{3, 1, 2}, 50, 2},
		{[]time.Duration{4, 1, 3, 2}, 50, 2},
		{thirty, 50, 15 * time.Millisecond},
		{thirty, 99, 30 * time.Millisecond},
		{thirty, 90, 27 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.ds, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.ds, tt.p, got, tt.want)
		}
	}
	if thirty[0] != 30*time.Millisecond {
		t.Error("percentile sorted its argument in place")
	}
}
