package twinbench

import (
	"strings"
	"testing"
	"time"
)

// The benchmark's machinery on a small load, so that `go test` keeps it
// working.
func TestSmallLoadIsStored(t *testing.T) {
	l := load{devices: 10, clients: 2, window: 8, updates: 500}
	e := startEdge(t, l.devices)
	d := newDriver(t, e, l)
	for range 2 { // the second round changes every twin again
		r := d.run(e, l.updates)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := len(r.latencies); got != l.updates {
			t.Fatalf("%d latencies, want %d", got, l.updates)
		}
		if r.elapsed() <= 0 {
			t.Fatalf("elapsed %v", r.elapsed())
		}
		checkStored(t, e, d.lastValues(r), 0, 5, 9)
	}
}

// Updates to devices the node does not have get 404 results, which must
// fail the round.
func TestErrorResultFailsTheRound(t *testing.T) {
	e := startEdge(t, 4)
	d := newDriver(t, e, load{devices: 6, clients: 1, window: 6, updates: 6})
	r := d.run(e, 6)
	if r.err == nil || !strings.Contains(r.err.Error(), "error result 404") {
		t.Fatalf("round error %v, want an error result 404", r.err)
	}
}

func TestRoundResults(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name    string
		results []string
		done    bool
		err     string
	}{
		{"all", []string{`{"event_id":"10"}`, `{"event_id":"11"}`}, true, ""},
		{"duplicate", []string{`{"event_id":"10"}`, `{"event_id":"10"}`}, false, ""},
		{"error", []string{`{"event_id":"10","code":500,"reason":"store"}`}, true, "error result 500"},
		{"foreign", []string{`{"event_id":"12"}`}, true, "not one of this round's"},
		{"garbage", []string{`{`}, true, "result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRound(10, 2, 1, 2)
			r.slots[0] <- struct{}{}
			r.slots[0] <- struct{}{}
			for _, p := range tc.results {
				r.result([]byte(p), now)
			}
			select {
			case <-r.done:
				if !tc.done {
					t.Fatalf("done, err %v", r.err)
				}
			default:
				if tc.done {
					t.Fatalf("not done after %d results", r.received())
				}
			}
			if (r.err == nil) != (tc.err == "") || r.err != nil && !strings.Contains(r.err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", r.err, tc.err)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of none = %v", got)
	}
}
