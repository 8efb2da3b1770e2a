// Checkpoints of the write-ahead log, off the writer's path.

package metamanager

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
)

// checkpointEvery is how many writes the writer commits between asking for
// a checkpoint, about SQLite's default of 1000 pages of WAL.
const checkpointEvery = 1000

// checkpointer copies the WAL back into the database file on a connection
// of its own. SQLite would otherwise checkpoint inside the commit that
// crosses wal_autocheckpoint, with two fsyncs, while every caller of that
// batch waits; here the writer only pokes it and goes on committing (WAL
// lets a passive checkpoint run beside the writer).
type checkpointer struct {
	db  *sql.DB // one connection
	log *slog.Logger
	// poke asks for a checkpoint; capacity 1, so pokes made while one
	// runs fold into the next.
	poke chan struct{}
}

func newCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	return &checkpointer{db: db, log: log, poke: make(chan struct{}, 1)}
}

// request asks for a checkpoint without waiting.
func (c *checkpointer) request() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// run checkpoints on request until ctx ends.
func (c *checkpointer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.poke:
		}
		if _, _, err := c.checkpoint(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("local store checkpoint failed; the WAL grows until one succeeds", "err", err)
		}
	}
}

// checkpoint copies what no reader still needs from the WAL into the file
// (PASSIVE: it never waits for a lock) and returns how many frames the WAL
// holds and how many of them are now in the file.
func (c *checkpointer) checkpoint(ctx context.Context) (walFrames, copied int, err error) {
	var busy int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walFrames, &copied)
	if err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	return walFrames, copied, nil
}
