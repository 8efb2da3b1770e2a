// Package background runs goroutines that their owner cancels and joins:
// a Task, for modules that start and stop a piece of work as the cloud
// comes and goes (a registration loop, an event sender), and Sharded, a
// pool of workers that keeps the order of each key's items (the
// controllers' upstream halves, one node's or device's messages in
// order).
package background

import "context"

// Task is a goroutine's cancel and join. The zero Task is stopped. A Task
// is owned by one goroutine: Go and Stop are not safe to call concurrently.
type Task struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Go runs f in a goroutine with a child of ctx.
func Go(ctx context.Context, f func(context.Context)) Task {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	return Task{cancel: cancel, done: done}
}

// Started reports whether Go started t and Stop has not stopped it since,
// whether or not its goroutine has returned.
func (t *Task) Started() bool { return t.cancel != nil }

// Stop cancels the goroutine and waits for it to return; then t is the
// zero Task. Stopping a stopped Task does nothing.
func (t *Task) Stop() {
	if t.cancel != nil {
		t.cancel()
		<-t.done
		*t = Task{}
	}
}
