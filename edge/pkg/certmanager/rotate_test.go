package certmanager

import (
	"testing"
	"time"
)

func TestRotationDelay(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := nb.Add(100 * time.Hour)
	cases := []struct {
		name     string
		notAfter time.Time // zero: na
		now      time.Time
		r        float64
		want     time.Duration
	}{
		{"at issue, r=0: 70%", time.Time{}, nb, 0, 70 * time.Hour},
		{"at issue, r=0.5: 80%", time.Time{}, nb, 0.5, 80 * time.Hour},
		{"at issue, r just under 1: about 90%", time.Time{}, nb, 0.999999, 90*time.Hour - 72*time.Millisecond},
		{"half way, r=0", time.Time{}, nb.Add(50 * time.Hour), 0, 20 * time.Hour},
		{"past the point: now", time.Time{}, nb.Add(85 * time.Hour), 0.5, 0},
		{"expired: now", time.Time{}, na.Add(time.Hour), 0, 0},
		{"r below 0 clamps", time.Time{}, nb, -3, 70 * time.Hour},
		{"r above 1 clamps", time.Time{}, nb, 7, 90 * time.Hour},
		{"clock before notBefore", time.Time{}, nb.Add(-10 * time.Hour), 0, 80 * time.Hour},
		{"zero lifetime", nb, nb, 0.5, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			notAfter := na
			if !c.notAfter.IsZero() {
				notAfter = c.notAfter
			}
			got := RotationDelay(nb, notAfter, c.now, c.r)
			if diff := got - c.want; diff < -time.Millisecond || diff > time.Millisecond {
				t.Errorf("RotationDelay = %v, want %v", got, c.want)
			}
		})
	}
}

func TestNextBackoff(t *testing.T) {
	d := time.Second
	var got []time.Duration
	for range 6 {
		got = append(got, d)
		d = nextBackoff(d, 10*time.Second)
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("back-off sequence %v, want %v seconds", got, want)
		}
	}
}
