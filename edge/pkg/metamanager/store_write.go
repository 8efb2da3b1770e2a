// The store's writes: validation in the caller, then one writer goroutine
// that commits them in batches (group commit).

package metamanager

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/wire"
)

// writeKind says what a writeOp does.
type writeKind uint8

const (
	writePutObject writeKind = iota
	writeDeleteObject
	writePutStatus
	writeDeleteStatus
)

// writeOp is one validated write on its way to the writer, and its answer.
type writeOp struct {
	kind      writeKind
	key       message.Resource
	version   objsync.Version
	timestamp int64
	// data is the object's content (writePutObject) or the status's frame
	// (writePutStatus).
	data []byte

	// Set by the writer before it closes done.
	kept bool
	err  error
	done chan struct{}
}

// Apply stores a sync message: OpInsert and OpUpdate put the object
// (Route.Resource, Header.ResourceVersion, Content, and the uid read from
// the content), OpDelete removes it (an absent object is fine) and, for a
// pod, its kept status. It returns once the change is committed. Any other
// operation, a resource that names no object, or content that is not a
// JSON object is an error and writes nothing. If ctx ends first, Apply
// returns ctx.Err() and the change may or may not be committed.
func (s *Store) Apply(ctx context.Context, m message.Message) error {
	op, err := objectWrite(m)
	if err != nil {
		return fmt.Errorf("metamanager: apply %s %s: %w", m.Route.Operation, m.Route.Resource, err)
	}
	return s.write(ctx, op)
}

// objectWrite validates a sync message into its write.
func objectWrite(m message.Message) (*writeOp, error) {
	key := m.Route.Resource
	switch m.Route.Operation {
	case message.OpInsert, message.OpUpdate:
		if err := checkObjectKey(key); err != nil {
			return nil, err
		}
		uid, err := checkObject(m.Content)
		if err != nil {
			return nil, err
		}
		return &writeOp{
			kind:    writePutObject,
			key:     key,
			version: objsync.Version{UID: uid, ResourceVersion: m.Header.ResourceVersion},
			data:    m.Content,
		}, nil
	case message.OpDelete:
		if err := checkObjectKey(key); err != nil {
			return nil, err
		}
		return &writeOp{kind: writeDeleteObject, key: key}, nil
	default:
		return nil, fmt.Errorf("operation %q is not %s, %s or %s", m.Route.Operation, message.OpInsert, message.OpUpdate, message.OpDelete)
	}
}

// checkObjectKey accepts a resource that names one object, in edge form.
func checkObjectKey(key message.Resource) error {
	if err := key.Validate(); err != nil {
		return err
	}
	switch {
	case key.Type == "":
		return fmt.Errorf("%w: resource %q has no type", message.ErrBadResource, key)
	case key.Name == "":
		return fmt.Errorf("%w: resource %q names no object", message.ErrBadResource, key)
	case key.Node != "":
		return fmt.Errorf("%w: resource %q names node %q; the store keys objects in edge form", message.ErrBadResource, key, key.Node)
	}
	return nil
}

// checkObject accepts content that is one JSON object and returns its
// metadata.uid.
func checkObject(content []byte) (string, error) {
	trimmed := bytes.TrimLeft(content, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", fmt.Errorf("content is not a JSON object (%d bytes, starting %.20q)", len(content), trimmed)
	}
	if !json.Valid(content) {
		return "", fmt.Errorf("content is not valid JSON (%d bytes)", len(content))
	}
	uid, err := objsync.UIDOf(content)
	if err != nil {
		return "", fmt.Errorf("content: %w", err)
	}
	return uid, nil
}

// PutStatus keeps a status produced at the edge, keyed by its
// Route.Resource, until a newer one replaces it. kept is false, and
// nothing is written, when the kept status has a larger Header.Timestamp;
// an equal one is replaced. The whole message is kept.
func (s *Store) PutStatus(ctx context.Context, m message.Message) (kept bool, err error) {
	key := m.Route.Resource
	if err := checkObjectKey(key); err != nil {
		return false, fmt.Errorf("metamanager: keep status %s: %w", key, err)
	}
	frame, err := wire.Codec{}.Encode(m)
	if err != nil {
		return false, fmt.Errorf("metamanager: keep status %s: %w", key, err)
	}
	op := &writeOp{kind: writePutStatus, key: key, timestamp: m.Header.Timestamp, data: frame}
	if err := s.write(ctx, op); err != nil {
		return false, err
	}
	return op.kept, nil
}

// DeleteStatus drops the status kept for key, if any.
func (s *Store) DeleteStatus(ctx context.Context, key message.Resource) error {
	if err := checkObjectKey(key); err != nil {
		return fmt.Errorf("metamanager: delete status %s: %w", key, err)
	}
	return s.write(ctx, &writeOp{kind: writeDeleteStatus, key: key})
}

// write hands op to the writer and waits for its commit.
func (s *Store) write(ctx context.Context, op *writeOp) error {
	if s.writer == nil {
		return errStoreReadOnly
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	op.done = make(chan struct{})
	select {
	case s.ops <- op:
	case <-s.closed.Done():
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the writer answers before it stops.
	select {
	case <-op.done:
		return op.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchWriter is the one goroutine that writes to the file.
type batchWriter struct {
	db       *sql.DB // one connection
	maxBatch int

	upsertObject, deleteObject, upsertStatus, deleteStatus *sql.Stmt

	// batch is reused from one commit to the next; only run uses it.
	batch []*writeOp

	// commits counts committed transactions, for tests.
	commits atomic.Int64
}

func (w *batchWriter) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.upsertObject, `INSERT INTO objects (type, namespace, name, uid, resource_version, content) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (type, namespace, name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version, content = excluded.content`},
		{&w.deleteObject, `DELETE FROM objects WHERE type = ? AND namespace = ? AND name = ?`},
		// The WHERE keeps a newer status: then no row changes.
		{&w.upsertStatus, `INSERT INTO statuses (key, timestamp, message) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET timestamp = excluded.timestamp, message = excluded.message
			WHERE excluded.timestamp >= statuses.timestamp`},
		{&w.deleteStatus, `DELETE FROM statuses WHERE key = ?`},
	} {
		var err error
		if *p.stmt, err = w.db.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
	}
	return nil
}

// close closes the statements and the connection; the writer has stopped.
func (w *batchWriter) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.upsertObject, w.deleteObject, w.upsertStatus, w.deleteStatus} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, w.db.Close())...)
}

// run takes writes from ops until ctx ends: the first one that arrives and
// then whatever else is waiting, up to maxBatch, committed together.
func (w *batchWriter) run(ctx context.Context, ops <-chan *writeOp) {
	for {
		select {
		case first := <-ops:
			w.batch = collect(w.batch[:0], first, ops, w.maxBatch)
			w.commit(w.batch)
			clear(w.batch) // let the answered ops go
		case <-ctx.Done():
			return
		}
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
			for _, op := range batch {
				op.err = err
				close(op.done)
			}
			return
		}
		batch[bad].err = err
		close(batch[bad].done)
		batch = append(batch[:bad], batch[bad+1:]...)
	}
}

// tryCommit runs batch in one transaction. If one op's statement fails it
// rolls back and returns that op's index; otherwise it returns -1 and the
// transaction's error.
func (w *batchWriter) tryCommit(ctx context.Context, batch []*writeOp) (bad int, err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("metamanager: begin: %w", err)
	}
	stmts := [...]*sql.Stmt{
		writePutObject:    tx.StmtContext(ctx, w.upsertObject),
		writeDeleteObject: tx.StmtContext(ctx, w.deleteObject),
		writePutStatus:    tx.StmtContext(ctx, w.upsertStatus),
		writeDeleteStatus: tx.StmtContext(ctx, w.deleteStatus),
	}
	for i, op := range batch {
		if err := w.exec(ctx, stmts[:], op); err != nil {
			tx.Rollback() //nolint:errcheck // reporting err
			return i, fmt.Errorf("metamanager: store %s: %w", op.key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return -1, fmt.Errorf("metamanager: commit %d writes: %w", len(batch), err)
	}
	w.commits.Add(1)
	return -1, nil
}

// exec runs one op's statements; stmts is indexed by writeKind.
func (w *batchWriter) exec(ctx context.Context, stmts []*sql.Stmt, op *writeOp) error {
	k := op.key
	switch op.kind {
	case writePutObject:
		_, err := stmts[op.kind].ExecContext(ctx, k.Type, k.Namespace, k.Name, op.version.UID, op.version.ResourceVersion, op.data)
		return err
	case writeDeleteObject:
		if _, err := stmts[op.kind].ExecContext(ctx, k.Type, k.Namespace, k.Name); err != nil {
			return err
		}
		if k.Type != kubemsg.TypePod {
			return nil
		}
		// A deleted pod's status will never be wanted again.
		status := message.Resource{Namespace: k.Namespace, Type: kubemsg.TypePodStatus, Name: k.Name}
		_, err := stmts[writeDeleteStatus].ExecContext(ctx, status.String())
		return err
	case writePutStatus:
		res, err := stmts[op.kind].ExecContext(ctx, k.String(), op.timestamp, op.data)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		op.kept = n > 0
		return err
	case writeDeleteStatus:
		_, err := stmts[op.kind].ExecContext(ctx, k.String())
		return err
	}
	return fmt.Errorf("unknown write kind %d", op.kind)
}
