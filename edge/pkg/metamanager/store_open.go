// Opening the store's SQLite file: connection strings, the integrity check,
// and moving a corrupt file aside.

package metamanager

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// readerConns is the size of the reader pool.
var readerConns = max(4, runtime.GOMAXPROCS(0))

// dsn is the connection string of the file at path. Every connection gets
// the busy timeout and synchronous=NORMAL (both per connection); readers
// are query_only, and read-only ones open the file with mode=ro so SQLite
// itself refuses writes and never creates the file. Writing connections do
// not checkpoint when they commit: the checkpointer does.
func dsn(path string, busy time.Duration, reader, readOnly bool) string {
	q := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")",
		"_pragma=synchronous(NORMAL)",
		"_txlock=immediate",
	}
	// Page cache, in KiB (a negative cache_size). The writer's holds the
	// whole store of a very busy node (16k objects of 1 KiB, updated, take
	// ~30 MiB of pages), so that an update reads no page; each reader's
	// holds the hot part. SQLite allocates only what the file fills.
	if reader {
		q = append(q, "_pragma=cache_size(-8192)", "_pragma=query_only(1)")
	} else {
		q = append(q, "_pragma=cache_size(-65536)")
		// The checkpointer does it, off the commit path.
		q = append(q, "_pragma=wal_autocheckpoint(0)")
	}
	if readOnly {
		q = append(q, "mode=ro")
	}
	// The path goes in a file: URI, escaped so that '?', '#' and '%' in it
	// stay part of the name.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + strings.Join(q, "&")
}

// openWriterDB opens a writing handle: one connection, never closed while
// the store is open. The file must already be private (makePrivate).
func openWriterDB(path string, busy time.Duration) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, busy, false, false))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// openReaderDB opens the pool of query-only connections.
func openReaderDB(path string, busy time.Duration, readOnly bool) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, busy, true, readOnly))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(readerConns)
	db.SetMaxIdleConns(readerConns)
	return db, nil
}

// errCorrupt is wrapped by checkFile's errors that mean the file is damaged
// (as opposed to unreadable for a reason that may pass, like a lock or a
// permission), so that the file should be moved aside.
var errCorrupt = errors.New("database file is corrupt")

// checkFile runs PRAGMA quick_check on db. A file that is not a database,
// or a check that finds damage, is errCorrupt.
func checkFile(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return corruptOr(fmt.Errorf("quick_check: %w", err))
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return corruptOr(fmt.Errorf("quick_check: %w", err))
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return corruptOr(fmt.Errorf("quick_check: %w", err))
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return fmt.Errorf("%w: quick_check: %s", errCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// sqliteMagic starts every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// checkHeader reads the start of the file at path, before SQLite opens it
// (and perhaps deletes a -wal it cannot use): a file that is not empty and
// does not start like an SQLite database is errCorrupt.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil // a new, empty file
	case errors.Is(err, io.ErrUnexpectedEOF) || err == nil && string(head) != sqliteMagic:
		return fmt.Errorf("%w: file is not a database (it starts %q)", errCorrupt, head[:n])
	}
	return err
}

// corruptOr wraps errCorrupt into err when SQLite's code says the file is
// damaged or not a database.
func corruptOr(err error) error {
	if isCorrupt(err) {
		return fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return err
}

// isCorrupt reports whether err is SQLite's SQLITE_CORRUPT or SQLITE_NOTADB.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// moveAside renames path and its -wal and -shm files to
// <path>.corrupt-<UTC time>[-wal|-shm], keeping them together for a look
// with the sqlite3 shell. It returns the new name of path.
func moveAside(path string, now time.Time) (string, error) {
	dest := path + ".corrupt-" + now.UTC().Format("20060102T150405.000Z")
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		err := os.Rename(path+suffix, dest+suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("move %s aside: %w", path+suffix, err)
		}
	}
	return dest, nil
}

// makePrivate creates the file if it is missing and makes it readable by
// its owner only: the store holds the node's secrets. SQLite creates the
// -wal and -shm files with the database file's mode.
func makePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	return nil
}
