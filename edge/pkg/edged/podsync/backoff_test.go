package podsync

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestBackoffSequence(t *testing.T) {
	var b Backoff
	k := Key{UID: "u1", Container: "app"}
	want := []time.Duration{10, 20, 40, 80, 160, 300, 300}
	exit := t0
	for i, w := range want {
		w *= time.Second
		started := exit.Add(time.Second) // runs 1 s each time
		exit = started.Add(time.Second)
		until := b.Exit(k, started, exit)
		if got := until.Sub(exit); got != w {
			t.Fatalf("exit %d: delay %v, want %v", i, got, w)
		}
		if got := b.Delay(k); got != w {
			t.Fatalf("exit %d: Delay %v, want %v", i, got, w)
		}
		// Counting the same exit again changes nothing.
		if again := b.Exit(k, started, exit); !again.Equal(until) {
			t.Fatalf("exit %d counted twice: %v then %v", i, until, again)
		}
		if _, in := b.Until(k, exit.Add(w-time.Nanosecond)); !in {
			t.Fatalf("exit %d: not in back-off just before expiry", i)
		}
		if _, in := b.Until(k, exit.Add(w)); in {
			t.Fatalf("exit %d: in back-off at expiry", i)
		}
		exit = until
	}
}

func TestBackoffReset(t *testing.T) {
	k := Key{UID: "u1", Container: "app"}
	tests := []struct {
		name    string
		started time.Time // zero: unknown
		run     time.Duration
		want    time.Duration
	}{
		{"short run doubles", t0, time.Minute, 40 * time.Second},
		{"9m59s run doubles", t0, 10*time.Minute - time.Second, 40 * time.Second},
		{"10m run resets", t0, 10 * time.Minute, 10 * time.Second},
		{"unknown start, long since previous delay resets", time.Time{}, 11 * time.Minute, 10 * time.Second},
		{"unknown start, short since previous delay doubles", time.Time{}, time.Minute, 40 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Backoff
			b.Exit(k, t0.Add(-time.Hour), t0.Add(-time.Hour+time.Second)) // 10 s
			prev := t0.Add(-time.Hour + 2*time.Second)
			b.Exit(k, prev.Add(-time.Second), prev) // 20 s; delay ends at prev+20s
			start := prev.Add(20 * time.Second)
			finish := start.Add(tt.run)
			if !tt.started.IsZero() {
				tt.started = start
			}
			until := b.Exit(k, tt.started, finish)
			if got := until.Sub(finish); got != tt.want {
				t.Fatalf("delay %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoffForgetAndPrune(t *testing.T) {
	var b Backoff
	a1 := Key{UID: "a", Container: "c"}
	a2 := Key{UID: "a", Container: "d"}
	b1 := Key{UID: "b", Container: "c"}
	for _, k := range []Key{a1, a2, b1} {
		b.Exit(k, t0, t0.Add(time.Second))
	}
	b.ForgetPod("a")
	if b.Delay(a1) != 0 || b.Delay(a2) != 0 || b.Delay(b1) != 10*time.Second {
		t.Fatalf("ForgetPod: %v %v %v", b.Delay(a1), b.Delay(a2), b.Delay(b1))
	}
	b.Prune(t0.Add(15 * time.Minute))
	if b.Delay(b1) == 0 {
		t.Fatal("pruned a recent entry")
	}
	b.Prune(t0.Add(16 * time.Minute))
	if b.Delay(b1) != 0 {
		t.Fatal("kept a stale entry")
	}
}

func TestBackoffCustom(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 3 * time.Second}
	k := Key{UID: "u", Container: "c"}
	var got []time.Duration
	for i := range 4 {
		f := t0.Add(time.Duration(i) * time.Minute)
		got = append(got, b.Exit(k, f.Add(-time.Second), f).Sub(f))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
}
