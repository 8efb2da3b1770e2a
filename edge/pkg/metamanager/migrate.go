// Schema migrations of the store's SQLite file.

package metamanager

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are the schema's steps, in order: migrations[i] takes a file
// from schema version i to i+1. Append only; never edit a step that has
// shipped.
var migrations = []string{
	// 1: synced objects and kept statuses.
	//
	// Both are rowid tables: a row up to about a page (4 KiB) stays in its
	// leaf, where WITHOUT ROWID would push any row over ~1 KiB into
	// overflow pages, which SQLite reads past its page cache.
	`CREATE TABLE objects (
		type             TEXT NOT NULL,
		namespace        TEXT NOT NULL, -- "" for cluster scope
		name             TEXT NOT NULL,
		uid              TEXT NOT NULL,
		resource_version TEXT NOT NULL,
		content          BLOB NOT NULL,
		UNIQUE (type, namespace, name)
	);
	CREATE TABLE statuses (
		key       TEXT NOT NULL UNIQUE, -- the message's resource, edge form
		timestamp INTEGER NOT NULL,     -- Header.Timestamp, ms
		message   BLOB NOT NULL         -- the whole message, common/wire frame
	);`,
	// 2: DeviceTwin's tables: each device's state, its attributes and its
	// twin properties. Attributes and twins are kept as DeviceTwin's JSON
	// (a twin with its version counters), which the store does not read.
	`CREATE TABLE devices (
		namespace   TEXT NOT NULL,
		name        TEXT NOT NULL,
		state       TEXT NOT NULL,
		last_online TEXT NOT NULL,
		UNIQUE (namespace, name)
	);
	CREATE TABLE device_attributes (
		namespace TEXT NOT NULL,
		name      TEXT NOT NULL,
		attribute TEXT NOT NULL,
		content   BLOB NOT NULL,
		UNIQUE (namespace, name, attribute)
	);
	CREATE TABLE device_twins (
		namespace TEXT NOT NULL,
		name      TEXT NOT NULL,
		property  TEXT NOT NULL,
		content   BLOB NOT NULL,
		UNIQUE (namespace, name, property)
	);`,
}

// schemaVersion is the version this binary writes and reads.
var schemaVersion = len(migrations)

// errSchemaMismatch is wrapped when a file's schema is not the one this
// binary reads (a newer file, or an older one opened read-only).
var errSchemaMismatch = errors.New("schema version mismatch")

// readSchemaVersion returns the file's schema version: 0 for a file that
// has no schema_version table (a new file).
func readSchemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("look for schema_version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := q.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema_version: %w", err)
	}
	return v, nil
}

// migrate brings the file at path, open on db, to schemaVersion, one
// transaction per step. A file newer than this binary is an error and is
// left as it is.
func migrate(ctx context.Context, db *sql.DB, path string) (from int, err error) {
	from, err = readSchemaVersion(ctx, db)
	if err != nil {
		return 0, err
	}
	if from > schemaVersion {
		return from, fmt.Errorf("%w: %s has schema version %d, newer than version %d that this edgecore knows; run a newer edgecore or move the file away", errSchemaMismatch, path, from, schemaVersion)
	}
	for v := from; v < schemaVersion; v++ {
		if err := migrateStep(ctx, db, v); err != nil {
			return from, fmt.Errorf("migrate %s from schema version %d to %d: %w", path, v, v+1, err)
		}
	}
	return from, nil
}

// migrateStep runs migrations[v] and records version v+1, atomically.
func migrateStep(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if v == 0 {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER NOT NULL);
			INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ? WHERE version = ?`, v+1, v)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("record version %d: schema_version did not hold version %d (%d rows, %v)", v+1, v, n, err)
	}
	return tx.Commit()
}
