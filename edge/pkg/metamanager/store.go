// The SQLite store: opening and closing it, and what it reads.

package metamanager

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/wire"
)

// StoreOptions configure OpenStore.
type StoreOptions struct {
	// Path is the SQLite file; required. Its directory is created (0700)
	// if missing, except when ReadOnly.
	Path string
	// Logger is required.
	Logger *slog.Logger
	// BusyTimeout is how long a statement waits for another process's
	// lock on the file. 0 means 5s.
	BusyTimeout time.Duration
	// MaxBatch is the most writes committed in one transaction (group
	// commit). 0 means 1024.
	MaxBatch int
	// ReadOnly opens the file for inspection (edgecore db) while edgecore
	// may be running: no writer, no migration, no integrity check or
	// repair; the writing methods fail. The file must exist and have this
	// binary's schema version.
	ReadOnly bool
	// Metrics receives the writer's measurements; nil means collectors
	// on a registry of their own (measured, never served).
	Metrics *Metrics
}

func (o *StoreOptions) validate() error {
	switch {
	case o.Path == "":
		return errors.New("metamanager: StoreOptions.Path is required")
	case o.Logger == nil:
		return errors.New("metamanager: StoreOptions.Logger is required")
	case o.BusyTimeout < 0:
		return fmt.Errorf("metamanager: StoreOptions.BusyTimeout %v is negative", o.BusyTimeout)
	case o.MaxBatch < 0:
		return fmt.Errorf("metamanager: StoreOptions.MaxBatch %d is negative", o.MaxBatch)
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 1024
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return nil
}

// ErrNotFound is wrapped by Get when the store does not hold the object.
var ErrNotFound = errors.New("not found")

// errStoreClosed and errStoreReadOnly are returned by writes the store
// cannot take.
var (
	errStoreClosed   = errors.New("metamanager: store is closed")
	errStoreReadOnly = errors.New("metamanager: store is open read-only")
)

// Record is one stored object.
type Record struct {
	// Key is the object's resource, edge form.
	Key message.Resource
	objsync.Version
	// Content is the object's JSON as the cloud sent it.
	Content []byte
}

// Store is the SQLite file of MetaManager: the objects the cloud synced
// (it implements edgehub.Store) and the statuses kept while they wait for
// the cloud. All methods are safe for concurrent use. Writes go through
// one writer goroutine that commits them in batches; reads use a pool of
// query-only connections and run while the writer commits.
type Store struct {
	path      string
	log       *slog.Logger
	recovered string

	// readers is the pool of query_only connections.
	readers *sql.DB
	getStmt *sql.Stmt

	// writer is nil when the store is read-only.
	writer *batchWriter
	// ops carries writes to the writer; unbuffered, so a write is either
	// taken by the writer or still with its caller.
	ops chan *writeOp
	// checkpoints copies the WAL into the file beside the writer; nil when
	// the store is read-only.
	checkpoints *checkpointer
	// stop ends the writer and the checkpointer; workers joins them.
	stop    context.CancelFunc
	workers sync.WaitGroup
	// closed is done once Close has been called.
	closed context.Context

	closeOnce sync.Once
	closeErr  error
}

// OpenStore opens (creating it if needed) the store's file, checks it,
// migrates it to this binary's schema and starts the writer. A file that
// is not a database or fails PRAGMA quick_check is moved aside, logged at
// Error level, and replaced by an empty one (see Recovered). With
// o.ReadOnly it only opens the readers.
func OpenStore(o StoreOptions) (*Store, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	path, err := filepath.Abs(o.Path)
	if err != nil {
		return nil, fmt.Errorf("metamanager: store path %q: %w", o.Path, err)
	}
	closed, stop := context.WithCancel(context.Background())
	s := &Store{path: path, log: o.Logger, closed: closed, stop: stop}
	if o.ReadOnly {
		err = s.openReadOnly(o)
	} else {
		err = s.openWritable(o)
	}
	if err != nil {
		s.Close() //nolint:errcheck // the open error is the one to report
		return nil, fmt.Errorf("metamanager: open store: %w", err)
	}
	return s, nil
}

// openReadOnly opens the readers of an existing file with this binary's
// schema.
func (s *Store) openReadOnly(o StoreOptions) error {
	if _, err := os.Stat(s.path); err != nil {
		return err
	}
	readers, err := openReaderDB(s.path, o.BusyTimeout, true)
	if err != nil {
		return err
	}
	s.readers = readers
	v, err := readSchemaVersion(context.Background(), readers)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	switch {
	case v > schemaVersion:
		return fmt.Errorf("%w: %s has schema version %d, newer than version %d that this edgecore knows", errSchemaMismatch, s.path, v, schemaVersion)
	case v < schemaVersion:
		return fmt.Errorf("%w: %s has schema version %d, older than version %d; start edgecore once to migrate it", errSchemaMismatch, s.path, v, schemaVersion)
	}
	return s.prepareReads()
}

// openWritable opens, checks and migrates the file, then starts the writer.
func (s *Store) openWritable(o StoreOptions) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	ctx := context.Background()
	wdb, err := s.openChecked(ctx, o.BusyTimeout)
	if err != nil {
		return err
	}
	w := &batchWriter{db: wdb, maxBatch: o.MaxBatch, metrics: o.Metrics}
	s.writer = w
	from, err := migrate(ctx, wdb, s.path)
	if err != nil {
		return err
	}
	if from != schemaVersion {
		s.log.Info("local store schema migrated", "path", s.path, "from", from, "to", schemaVersion)
	}
	var mode string
	if err := wdb.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return fmt.Errorf("set WAL mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("set WAL mode: journal mode is still %q", mode)
	}
	if err := w.prepare(ctx); err != nil {
		return err
	}
	cdb, err := openWriterDB(s.path, o.BusyTimeout)
	if err != nil {
		return err
	}
	s.checkpoints = newCheckpointer(cdb, s.log)
	w.checkpoints = s.checkpoints
	if s.readers, err = openReaderDB(s.path, o.BusyTimeout, false); err != nil {
		return err
	}
	if err := s.prepareReads(); err != nil {
		return err
	}
	s.ops = make(chan *writeOp)
	s.workers.Go(func() { w.run(s.closed, s.ops) })
	s.workers.Go(func() { s.checkpoints.run(s.closed) })
	return nil
}

// openChecked makes the file private, opens the writer's handle and runs
// the integrity check. A corrupt file is moved aside (private too: it may
// hold secrets) and a new, private one opened in its place.
func (s *Store) openChecked(ctx context.Context, busy time.Duration) (*sql.DB, error) {
	if err := makePrivate(s.path); err != nil {
		return nil, err
	}
	err := checkHeader(s.path)
	if err == nil {
		var wdb *sql.DB
		if wdb, err = openWriterDB(s.path, busy); err != nil {
			return nil, err
		}
		if err = checkFile(ctx, wdb); err == nil {
			return wdb, nil
		}
		wdb.Close() //nolint:errcheck // the file is being given up
	}
	if !errors.Is(err, errCorrupt) {
		return nil, fmt.Errorf("check %s: %w", s.path, err)
	}
	dest, merr := moveAside(s.path, time.Now())
	if merr != nil {
		return nil, fmt.Errorf("%s is corrupt (%v) and could not be moved aside: %w", s.path, err, merr)
	}
	s.recovered = dest
	s.log.Error("local store is corrupt: moved it aside and started an empty one; it will be rebuilt from the cloud on the next connect",
		"path", s.path, "moved_to", dest, "err", err)
	if err := makePrivate(s.path); err != nil {
		return nil, err
	}
	wdb, err := openWriterDB(s.path, busy)
	if err != nil {
		return nil, err
	}
	if err := checkFile(ctx, wdb); err != nil {
		wdb.Close() //nolint:errcheck // reporting err
		return nil, fmt.Errorf("check new %s: %w", s.path, err)
	}
	return wdb, nil
}

func (s *Store) prepareReads() error {
	var err error
	s.getStmt, err = s.readers.Prepare(`SELECT uid, resource_version, content FROM objects WHERE type = ? AND namespace = ? AND name = ?`)
	if err != nil {
		return fmt.Errorf("prepare get: %w", err)
	}
	return nil
}

// Close stops the writer once it has committed and answered the writes it
// has taken, then closes the file. Writes waiting to be taken, and every
// call after Close, fail with an error saying the store is closed. Safe to
// call more than once; later calls return the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.workers.Wait()
		var errs []error
		if s.getStmt != nil {
			errs = append(errs, s.getStmt.Close())
		}
		if s.readers != nil {
			errs = append(errs, s.readers.Close())
		}
		if s.checkpoints != nil {
			errs = append(errs, s.checkpoints.db.Close())
		}
		// The writer's connection is the last: closing it checkpoints
		// the WAL and removes it.
		if s.writer != nil {
			errs = append(errs, s.writer.close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("metamanager: close store %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// Recovered is the path a corrupt file was moved to by OpenStore, or "".
func (s *Store) Recovered() string { return s.recovered }

// checkOpen fails once Close has been called.
func (s *Store) checkOpen() error {
	if s.closed.Err() != nil {
		return errStoreClosed
	}
	return nil
}

// Get returns the object stored under key, or an error wrapping
// ErrNotFound.
func (s *Store) Get(ctx context.Context, key message.Resource) (Record, error) {
	if err := checkObjectKey(key); err != nil {
		return Record{}, fmt.Errorf("metamanager: get %s: %w", key, err)
	}
	if err := s.checkOpen(); err != nil {
		return Record{}, err
	}
	r := Record{Key: key}
	err := s.getStmt.QueryRowContext(ctx, key.Type, key.Namespace, key.Name).Scan(&r.UID, &r.ResourceVersion, &r.Content)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Record{}, fmt.Errorf("%s %w in %s", key, ErrNotFound, s.path)
	case err != nil:
		return Record{}, fmt.Errorf("metamanager: get %s: %w", key, err)
	}
	return r, nil
}

// List returns the objects of type typ in namespace, ordered by type,
// namespace and name. typ "" means every type; namespace "" means every
// namespace (cluster-scoped objects included).
func (s *Store) List(ctx context.Context, typ, namespace string) ([]Record, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	q := `SELECT type, namespace, name, uid, resource_version, content FROM objects`
	where, args := listFilter(typ, namespace)
	rows, err := s.readers.QueryContext(ctx, q+where+` ORDER BY type, namespace, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("metamanager: list: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.Key.Type, &r.Key.Namespace, &r.Key.Name, &r.UID, &r.ResourceVersion, &r.Content); err != nil {
			return nil, fmt.Errorf("metamanager: list: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metamanager: list: %w", err)
	}
	return out, nil
}

// listFilter is List's WHERE clause.
func listFilter(typ, namespace string) (string, []any) {
	var conds []string
	var args []any
	if typ != "" {
		conds, args = append(conds, "type = ?"), append(args, typ)
	}
	if namespace != "" {
		conds, args = append(conds, "namespace = ?"), append(args, namespace)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Manifest implements edgehub.Store: every object's key and version.
func (s *Store) Manifest(ctx context.Context) ([]objsync.Entry, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.readers.QueryContext(ctx, `SELECT type, namespace, name, uid, resource_version FROM objects ORDER BY type, namespace, name`)
	if err != nil {
		return nil, fmt.Errorf("metamanager: manifest: %w", err)
	}
	defer rows.Close()
	var out []objsync.Entry
	for rows.Next() {
		var e objsync.Entry
		if err := rows.Scan(&e.Key.Type, &e.Key.Namespace, &e.Key.Name, &e.UID, &e.ResourceVersion); err != nil {
			return nil, fmt.Errorf("metamanager: manifest: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metamanager: manifest: %w", err)
	}
	return out, nil
}

// Statuses returns every kept status, oldest Header.Timestamp first.
func (s *Store) Statuses(ctx context.Context) ([]message.Message, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.readers.QueryContext(ctx, `SELECT key, message FROM statuses ORDER BY timestamp, key`)
	if err != nil {
		return nil, fmt.Errorf("metamanager: statuses: %w", err)
	}
	defer rows.Close()
	var out []message.Message
	for rows.Next() {
		var key string
		var frame []byte
		if err := rows.Scan(&key, &frame); err != nil {
			return nil, fmt.Errorf("metamanager: statuses: %w", err)
		}
		m, err := wire.Codec{}.Decode(frame)
		if err != nil {
			return nil, fmt.Errorf("metamanager: kept status %s: %w", key, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metamanager: statuses: %w", err)
	}
	return out, nil
}
