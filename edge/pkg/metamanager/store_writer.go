// The writer goroutine: group commit on the store's one writing connection.

package metamanager

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// writeSQL is the statement of each kind of write.
var writeSQL = [...]string{
	writePutObject: `INSERT INTO objects (type, namespace, name, uid, resource_version, content) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (type, namespace, name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version, content = excluded.content`,
	writeDeleteObject: `DELETE FROM objects WHERE type = ? AND namespace = ? AND name = ?`,
	// The WHERE keeps a newer status: then no row changes.
	writePutStatus: `INSERT INTO statuses (key, timestamp, message) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET timestamp = excluded.timestamp, message = excluded.message
		WHERE excluded.timestamp >= statuses.timestamp`,
	writeDeleteStatus: `DELETE FROM statuses WHERE key = ?`,

	writeEnsureDevice:           `INSERT INTO devices (namespace, name, state, last_online) VALUES (?, ?, '', '') ON CONFLICT (namespace, name) DO NOTHING`,
	writeSetDeviceState:         `UPDATE devices SET state = ?, last_online = ? WHERE namespace = ? AND name = ?`,
	writePutDeviceTwin:          `INSERT INTO device_twins (namespace, name, property, content) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, name, property) DO UPDATE SET content = excluded.content`,
	writeDeleteDeviceTwin:       `DELETE FROM device_twins WHERE namespace = ? AND name = ? AND property = ?`,
	writePutDeviceAttribute:     `INSERT INTO device_attributes (namespace, name, attribute, content) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, name, attribute) DO UPDATE SET content = excluded.content`,
	writeDeleteDeviceAttribute:  `DELETE FROM device_attributes WHERE namespace = ? AND name = ? AND attribute = ?`,
	writeDeleteDevice:           `DELETE FROM devices WHERE namespace = ? AND name = ?`,
	writeDeleteDeviceTwins:      `DELETE FROM device_twins WHERE namespace = ? AND name = ?`,
	writeDeleteDeviceAttributes: `DELETE FROM device_attributes WHERE namespace = ? AND name = ?`,
}

// batchWriter is the one goroutine that writes to the file. It holds the
// writing connection for the store's life and drives SQLite's driver
// directly: a batch is one transaction, its writes reuse prepared
// statements and one argument buffer, and database/sql's per-statement
// bookkeeping stays out of the hot loop.
type batchWriter struct {
	db       *sql.DB // one connection
	maxBatch int
	metrics  *Metrics

	// conn is db's connection; stmts and args are used only inside
	// conn.Raw, by run (or by a test while run is idle).
	conn  *sql.Conn
	stmts [len(writeSQL)]driver.StmtExecContext
	args  [6]driver.NamedValue

	// batch is reused from one commit to the next; only run uses it.
	batch []*writeOp

	// checkpoints is asked for a checkpoint every checkpointEvery writes;
	// uncheckpointed counts the writes since the last request.
	checkpoints    *checkpointer
	uncheckpointed int

	// commits counts committed transactions, for tests.
	commits atomic.Int64
}

// prepare takes the connection and prepares the statements.
func (w *batchWriter) prepare(ctx context.Context) error {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	w.conn = conn
	for i := range w.args {
		w.args[i].Ordinal = i + 1
	}
	return conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		for kind, q := range writeSQL {
			st, err := prep.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", q, err)
			}
			if w.stmts[kind], ok = st.(driver.StmtExecContext); !ok {
				st.Close() //nolint:errcheck // reporting the type
				return fmt.Errorf("driver statement %T cannot execute with a context", st)
			}
		}
		return nil
	})
}

// close closes the statements and the connection; run has returned.
func (w *batchWriter) close() error {
	var errs []error
	if w.conn != nil {
		errs = append(errs, w.conn.Raw(func(any) error {
			var errs []error
			for _, st := range w.stmts {
				if st != nil {
					errs = append(errs, st.(driver.Stmt).Close())
				}
			}
			return errors.Join(errs...)
		}), w.conn.Close())
	}
	return errors.Join(append(errs, w.db.Close())...)
}

// run takes writes from ops until ctx ends: the first one that arrives and
// then whatever else is waiting, up to maxBatch, committed together.
func (w *batchWriter) run(ctx context.Context, ops <-chan *writeOp) {
	for {
		first, ok := next(ctx, ops)
		if !ok {
			return
		}
		w.batch = collect(w.batch[:0], first, ops, w.maxBatch)
		w.commit(w.batch)
		clear(w.batch) // let the answered ops go
	}
}

// next returns the next write, or false once ctx ends. When none is
// waiting it blocks; then the sender that wakes it hands over its
// processor, and next yields it once so that the other callers ready to
// write can queue up for the same batch. Under load a write is always
// waiting and next does not yield.
func next(ctx context.Context, ops <-chan *writeOp) (*writeOp, bool) {
	select {
	case op := <-ops:
		return op, true
	default:
	}
	select {
	case op := <-ops:
		runtime.Gosched()
		return op, true
	case <-ctx.Done():
		return nil, false
	}
}

// collect appends first and then the ops waiting on ops, without blocking,
// until batch holds maxBatch.
func collect(batch []*writeOp, first *writeOp, ops <-chan *writeOp, maxBatch int) []*writeOp {
	batch = append(batch, first)
	for len(batch) < maxBatch {
		select {
		case op := <-ops:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

// commit writes batch and answers every op in it. An op whose statement
// fails is answered with its error and the rest are committed without it;
// a transaction that fails to begin or commit fails every op in it.
func (w *batchWriter) commit(batch []*writeOp) {
	// Writes do not take the store's lifetime: Close waits for them.
	ctx := context.Background()
	for len(batch) > 0 {
		bad, err := w.tryCommit(ctx, batch)
		if bad < 0 {
			if err != nil {
				w.metrics.WriteErrors.Add(float64(len(batch)))
			}
			for _, op := range batch {
				op.err = err
				close(op.done)
			}
			return
		}
		w.metrics.WriteErrors.Inc()
		batch[bad].err = err
		close(batch[bad].done)
		batch = append(batch[:bad], batch[bad+1:]...)
	}
}

// tryCommit runs batch in one transaction. If one op's statement fails it
// rolls back and returns that op's index and error; otherwise it returns
// -1 and the transaction's error.
func (w *batchWriter) tryCommit(ctx context.Context, batch []*writeOp) (bad int, err error) {
	bad = -1
	start := time.Now()
	err = w.conn.Raw(func(dc any) error {
		begin, ok := dc.(driver.ConnBeginTx)
		if !ok {
			return fmt.Errorf("driver connection %T cannot begin with a context", dc)
		}
		tx, err := begin.BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			return fmt.Errorf("metamanager: begin: %w", err)
		}
		for i, op := range batch {
			if err := w.exec(ctx, op); err != nil {
				tx.Rollback() //nolint:errcheck // reporting err
				bad = i
				return fmt.Errorf("metamanager: store %s: %w", op.key, err)
			}
		}
		if err := tx.Commit(); err != nil {
			tx.Rollback() //nolint:errcheck // a failed COMMIT can leave it open
			return fmt.Errorf("metamanager: commit %d writes: %w", len(batch), err)
		}
		return nil
	})
	if err != nil {
		return bad, err
	}
	w.metrics.WriteDuration.Observe(time.Since(start).Seconds())
	w.metrics.Writes.Add(float64(len(batch)))
	w.commits.Add(1)
	if w.uncheckpointed += len(batch); w.uncheckpointed >= checkpointEvery {
		w.checkpoints.request()
		w.uncheckpointed = 0
	}
	return -1, nil
}

// statusTypes maps the types of objects whose status the node reports
// to the type of that status: deleting the object drops its kept status.
var statusTypes = map[string]string{
	kubemsg.TypePod:      kubemsg.TypePodStatus,
	devicemsg.TypeDevice: devicemsg.TypeDeviceStatus,
}

// exec runs one op's statements. Called inside conn.Raw.
func (w *batchWriter) exec(ctx context.Context, op *writeOp) error {
	k := op.key
	switch op.kind {
	case writePutObject:
		_, err := w.execKind(ctx, op.kind, k.Type, k.Namespace, k.Name, op.version.UID, op.version.ResourceVersion, op.data)
		return err
	case writeDeleteObject:
		if _, err := w.execKind(ctx, op.kind, k.Type, k.Namespace, k.Name); err != nil {
			return err
		}
		statusType, ok := statusTypes[k.Type]
		if !ok {
			return nil
		}
		// A deleted object's status will never be wanted again.
		status := message.Resource{Namespace: k.Namespace, Type: statusType, Name: k.Name}
		_, err := w.execKind(ctx, writeDeleteStatus, status.String())
		return err
	case writePutStatus:
		res, err := w.execKind(ctx, op.kind, k.String(), op.timestamp, op.data)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		op.kept = n > 0
		return err
	case writeDeleteStatus:
		_, err := w.execKind(ctx, op.kind, k.String())
		return err
	case writeEnsureDevice:
		return w.execDeviceChange(ctx, op.device)
	case writeDeleteDevice:
		return w.execDeviceDelete(ctx, op.device)
	}
	return fmt.Errorf("unknown write kind %d", op.kind)
}

// execKind executes the statement of kind with args (six at most),
// through the reused argument buffer.
func (w *batchWriter) execKind(ctx context.Context, kind writeKind, args ...any) (driver.Result, error) {
	nv := w.args[:len(args)]
	for i, a := range args {
		nv[i].Value = a
	}
	res, err := w.stmts[kind].ExecContext(ctx, nv)
	for i := range nv {
		nv[i].Value = nil // hold no content past the call
	}
	return res, err
}
