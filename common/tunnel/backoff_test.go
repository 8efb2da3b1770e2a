package tunnel

import (
	"testing"
	"time"
)

func TestBackoffDrawsFromTheUpperHalfAndDoubles(t *testing.T) {
	jitter := 0.0
	b := &Backoff{Initial: time.Second, Max: 5 * time.Second, Jitter: func() float64 { return jitter }}
	for _, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 2500 * time.Millisecond, 2500 * time.Millisecond} {
		if got := b.Delay(); got != want {
			t.Fatalf("delay %v, want %v", got, want)
		}
	}
	jitter = 0.999
	if got := b.Delay(); got < 4990*time.Millisecond || got > 5*time.Second {
		t.Fatalf("delay at full jitter %v, want just under 5s", got)
	}
	b.Reset()
	jitter = 0
	if got := b.Delay(); got != 500*time.Millisecond {
		t.Fatalf("delay after reset %v, want 500ms", got)
	}
}
