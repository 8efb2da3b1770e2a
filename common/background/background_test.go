package background

import (
	"context"
	"testing"
)

// Stop cancels the goroutine's context and returns only once it has
// returned; a second Stop and the zero Task's Stop do nothing.
func TestStopCancelsAndJoins(t *testing.T) {
	var zero Task
	zero.Stop()
	if zero.Started() {
		t.Fatal("the zero Task is started")
	}
	returned := false
	task := Go(context.Background(), func(ctx context.Context) {
		<-ctx.Done()
		returned = true
	})
	if !task.Started() {
		t.Fatal("a Task from Go is not started")
	}
	task.Stop()
	if !returned {
		t.Fatal("Stop returned before the goroutine did")
	}
	if task.Started() || task.cancel != nil || task.done != nil {
		t.Fatal("a stopped Task is not the zero Task")
	}
	task.Stop()
}
