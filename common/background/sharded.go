package background

import (
	"context"
	"hash/fnv"
	"sync"
)

// Sharded takes items from next and hands each to one of workers
// goroutines, chosen by the item's key, through a queue of queueSize per
// worker: the items of one key are handled in the order next returned
// them, different keys in parallel. When a queue is full Sharded waits,
// and next is not called meanwhile.
//
// It returns nil once ctx ends, or next's error if next fails while ctx is
// live; either way only after every worker has returned. workers and
// queueSize must be positive.
func Sharded[T any](ctx context.Context, workers, queueSize int,
	next func(context.Context) (item T, key string, err error),
	handle func(context.Context, T)) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel: stop, then join
	defer cancel()
	queues := make([]chan T, workers)
	for i := range queues {
		q := make(chan T, queueSize)
		queues[i] = q
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case item := <-q:
					handle(ctx, item)
				}
			}
		})
	}
	for {
		item, key, err := next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case queues[shard(key, workers)] <- item:
		case <-ctx.Done():
			return nil
		}
	}
}

// shard picks the worker of key among n.
func shard(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}
