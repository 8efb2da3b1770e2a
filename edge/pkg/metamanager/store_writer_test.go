package metamanager

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// TestStoreCollectBatches drives one writer step by hand: everything queued
// is taken, up to maxBatch, and committed in one transaction.
func TestStoreCollectBatches(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	queued := make(chan *writeOp, 10)
	for i := range 10 {
		queued <- podWrite(t, fmt.Sprint("p", i))
	}

	batch := collect(nil, <-queued, queued, 4)
	if len(batch) != 4 {
		t.Fatalf("collect took %d ops, want maxBatch 4", len(batch))
	}
	batch = collect(nil, <-queued, queued, 100)
	if len(batch) != 6 || len(queued) != 0 {
		t.Fatalf("collect took %d ops (%d left), want the 6 queued", len(batch), len(queued))
	}

	// The store's own writer is idle: no op has been sent to it.
	w := s.writer
	before := w.commits.Load()
	w.commit(batch)
	if got := w.commits.Load() - before; got != 1 {
		t.Fatalf("%d commits for one batch", got)
	}
	for _, op := range batch {
		<-op.done
		if op.err != nil {
			t.Fatalf("op %s: %v", op.key, op.err)
		}
	}
	if n := stored(t, s); n != 6 {
		t.Fatalf("the store holds %d objects, want 6", n)
	}
}

// TestStoreFailedStatementFailsAlone: an op whose statement fails is
// answered with its error, and the rest of its batch is committed.
func TestStoreFailedStatementFailsAlone(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	bad := podWrite(t, "bad")
	bad.kind = 99 // no statement runs it
	batch := []*writeOp{podWrite(t, "a"), bad, podWrite(t, "b")}
	a, b := batch[0], batch[2]
	s.writer.commit(batch)
	for _, op := range []*writeOp{a, bad, b} {
		<-op.done
	}
	if a.err != nil || b.err != nil {
		t.Fatalf("good ops failed: %v, %v", a.err, b.err)
	}
	if bad.err == nil {
		t.Fatal("the bad op succeeded")
	}
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := s.Get(ctx, res("default", "pod", name)); err != nil {
			t.Errorf("Get %s: %v", name, err)
		}
	}
}

// TestStoreGroupCommitUnderLoad: concurrent callers share transactions,
// and no transaction holds more than MaxBatch writes.
func TestStoreGroupCommitUnderLoad(t *testing.T) {
	const callers, each, maxBatch = 64, 30, 16
	s, err := OpenStore(StoreOptions{Path: tempDB(t), Logger: quietLogger(), MaxBatch: maxBatch})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := s.writer.commits.Load()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("pod-%d-%d", c, i)
				if err := s.Apply(context.Background(), syncMsg(message.OpInsert, res("default", "pod", name), "1", podJSON("default", name, "u", "1"))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	commits := s.writer.commits.Load() - before
	const ops = callers * each
	t.Logf("%d writes in %d commits", ops, commits)
	if commits >= ops {
		t.Errorf("%d commits for %d writes: no group commit", commits, ops)
	}
	if commits < ops/maxBatch {
		t.Errorf("%d commits for %d writes: more than MaxBatch %d per commit", commits, ops, maxBatch)
	}
	if n := stored(t, s); n != ops {
		t.Errorf("the store holds %d objects, want %d", n, ops)
	}
}

// TestStoreCloseWithCallersInFlight: Close returns while callers keep
// writing; each caller gets either success (and its write is in the file)
// or the store-closed error, and none is left waiting.
func TestStoreCloseWithCallersInFlight(t *testing.T) {
	path := tempDB(t)
	s, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	const callers = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := map[message.Resource]bool{}
	var unexpected []error
	started := make(chan struct{}, callers)
	for c := range callers {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := res("default", "pod", fmt.Sprintf("pod-%d-%d", c, i))
				err := s.Apply(context.Background(), syncMsg(message.OpInsert, key, "1", podJSON("default", key.Name, "u", "1")))
				if i == 0 {
					started <- struct{}{}
				}
				mu.Lock()
				switch {
				case err == nil:
					committed[key] = true
				case !errors.Is(err, errStoreClosed):
					unexpected = append(unexpected, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	for range callers {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if len(unexpected) > 0 {
		t.Fatalf("callers got %v", unexpected)
	}
	if _, err := s.Get(context.Background(), res("default", "pod", "pod-0-0")); !errors.Is(err, errStoreClosed) {
		t.Errorf("Get after Close: err = %v", err)
	}

	s2 := openTestStore(t, path)
	manifest, err := s2.Manifest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stored := map[message.Resource]bool{}
	for _, e := range manifest {
		stored[e.Key] = true
	}
	for key := range committed {
		if !stored[key] {
			t.Errorf("%s was reported committed but is not in the file", key)
		}
	}
	t.Logf("%d writes committed before Close, %d rows in the file", len(committed), len(stored))
}

// TestStoreCallerContext: a caller whose context ends gets ctx.Err(), even
// while the writer is stuck behind another process's lock.
func TestStoreCallerContext(t *testing.T) {
	path := tempDB(t)
	s := openTestStore(t, path)
	key := res("default", "pod", "web")
	msg := syncMsg(message.OpInsert, key, "1", podJSON("default", "web", "u1", "1"))

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Apply(done, msg); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with an ended context: err = %v", err)
	}

	// Another process holds the write lock.
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	// The writer takes a write and waits for the lock...
	first := podWrite(t, "web")
	s.ops <- first

	// ... so the next caller waits, until its context ends. It is
	// cancelled once it waits on ctx.Done (past Apply's early ctx.Err).
	ctx, cancel := context.WithCancel(context.Background())
	waiting := &doneWatch{Context: ctx, asked: make(chan struct{})}
	result := make(chan error, 1)
	go func() {
		result <- s.Apply(waiting, syncMsg(message.OpUpdate, key, "2", podJSON("default", "web", "u1", "2")))
	}()
	<-waiting.asked
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply behind a busy writer, then cancelled: err = %v", err)
	}

	if _, err := lock.ExecContext(context.Background(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	<-first.done
	if first.err != nil {
		t.Fatalf("the write taken before the lock was released: %v", first.err)
	}
	mustApply(t, s, syncMsg(message.OpUpdate, key, "3", podJSON("default", "web", "u1", "3")))
	if r, err := s.Get(context.Background(), key); err != nil || r.ResourceVersion != "3" {
		t.Fatalf("Get = %+v, %v", r, err)
	}
}

// doneWatch closes asked when Done is first called: its holder is about to
// wait on the context.
type doneWatch struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func (d *doneWatch) Done() <-chan struct{} {
	d.once.Do(func() { close(d.asked) })
	return d.Context.Done()
}

// TestStoreCheckpoints: the writer asks for a checkpoint every
// checkpointEvery writes, and a checkpoint copies the WAL into the file.
func TestStoreCheckpoints(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	w := s.writer
	// The writer is idle; give it a checkpointer nobody runs, to see its
	// requests.
	watch := newCheckpointer(s.checkpoints.db, quietLogger())
	w.checkpoints = watch
	var batch []*writeOp
	for i := range checkpointEvery - 1 {
		batch = append(batch, podWrite(t, fmt.Sprint("pod-", i)))
	}
	w.commit(batch)
	if len(watch.poke) != 0 {
		t.Fatalf("a checkpoint was requested after %d writes", len(batch))
	}
	w.commit([]*writeOp{podWrite(t, "one-more")})
	if len(watch.poke) != 1 {
		t.Fatalf("no checkpoint requested after %d writes", checkpointEvery)
	}

	frames, copied, err := watch.checkpoint(context.Background())
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if frames == 0 || copied != frames {
		t.Errorf("checkpoint: WAL has %d frames, %d copied; want all of them", frames, copied)
	}
}
