package background

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Items of one key are handled in the order next returned them, each
// exactly once.
func TestShardedKeepsEachKeysOrder(t *testing.T) {
	const keys, perKey = 8, 50
	var items []string
	for i := range perKey {
		for k := range keys {
			items = append(items, fmt.Sprintf("k%d/%d", k, i))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu      sync.Mutex
		handled = map[string][]int{}
		total   int
	)
	pos := 0
	next := func(ctx context.Context) (string, string, error) {
		if pos == len(items) {
			<-ctx.Done()
			return "", "", ctx.Err()
		}
		item := items[pos]
		pos++
		key, _, _ := strings.Cut(item, "/")
		return item, key, nil
	}
	handle := func(_ context.Context, item string) {
		key, seq, _ := strings.Cut(item, "/")
		var n int
		fmt.Sscan(seq, &n)
		mu.Lock()
		defer mu.Unlock()
		handled[key] = append(handled[key], n)
		if total++; total == len(items) {
			cancel()
		}
	}
	if err := Sharded(ctx, 3, 4, next, handle); err != nil {
		t.Fatalf("Sharded after its context ended: %v, want nil", err)
	}
	if total != len(items) {
		t.Fatalf("handled %d items, want %d", total, len(items))
	}
	for key, seq := range handled {
		if !slices.IsSorted(seq) || len(seq) != perKey {
			t.Errorf("key %s handled %v, want 0..%d in order", key, seq, perKey-1)
		}
	}
}

// A failing next ends Sharded with its error, after the workers returned.
func TestShardedReturnsNextsError(t *testing.T) {
	boom := errors.New("bus closed")
	running := 0
	var mu sync.Mutex
	calls := 0
	next := func(context.Context) (int, string, error) {
		calls++
		if calls > 3 {
			return 0, "", boom
		}
		return calls, fmt.Sprint(calls), nil
	}
	handle := func(ctx context.Context, _ int) {
		mu.Lock()
		running++
		mu.Unlock()
		<-ctx.Done() // held until Sharded stops its workers
		mu.Lock()
		running--
		mu.Unlock()
	}
	if err := Sharded(context.Background(), 2, 4, next, handle); !errors.Is(err, boom) {
		t.Fatalf("Sharded = %v, want %v", err, boom)
	}
	mu.Lock()
	defer mu.Unlock()
	if running != 0 {
		t.Errorf("%d handlers still running after Sharded returned", running)
	}
}

func TestShard(t *testing.T) {
	seen := map[int]bool{}
	for _, n := range []string{"edge-a", "edge-b", "edge-c", "edge-d", "edge-e", "edge-f", "edge-g", "edge-h"} {
		i := shard(n, 4)
		if i < 0 || i >= 4 || shard(n, 4) != i {
			t.Fatalf("shard(%s, 4) = %d", n, i)
		}
		seen[i] = true
	}
	if len(seen) < 2 {
		t.Errorf("8 keys all on one worker of 4")
	}
	if shard("edge-a", 1) != 0 {
		t.Error("shard over one worker")
	}
}
