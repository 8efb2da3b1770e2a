package metamanager

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

func TestStorePragmas(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	ctx := context.Background()
	type querier interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}
	check := func(db querier, who, pragma, want string) {
		t.Helper()
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("%s: PRAGMA %s: %v", who, pragma, err)
		}
		if got != want {
			t.Errorf("%s: PRAGMA %s = %q, want %q", who, pragma, got, want)
		}
	}
	// The writer is idle: its connection can answer.
	for _, db := range []struct {
		name string
		db   querier
	}{{"writer", s.writer.conn}, {"reader", s.readers}, {"checkpointer", s.checkpoints.db}} {
		check(db.db, db.name, "journal_mode", "wal")
		check(db.db, db.name, "synchronous", "1") // NORMAL
		check(db.db, db.name, "busy_timeout", "5000")
	}
	check(s.writer.conn, "writer", "query_only", "0")
	check(s.writer.conn, "writer", "wal_autocheckpoint", "0")
	check(s.writer.conn, "writer", "cache_size", "-65536")
	check(s.readers, "reader", "query_only", "1")
	check(s.readers, "reader", "cache_size", "-8192")
	if _, err := s.readers.ExecContext(ctx, `DELETE FROM objects`); err == nil {
		t.Error("a reader connection could write")
	}
}

func TestStoreOptionsDefaultsAndValidation(t *testing.T) {
	o := StoreOptions{Path: "x.db", Logger: quietLogger()}
	if err := o.validate(); err != nil || o.BusyTimeout.Seconds() != 5 || o.MaxBatch != 1024 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	for _, o := range []StoreOptions{
		{Logger: quietLogger()},
		{Path: "x.db"},
		{Path: "x.db", Logger: quietLogger(), BusyTimeout: -1},
		{Path: "x.db", Logger: quietLogger(), MaxBatch: -1},
	} {
		if _, err := OpenStore(o); err == nil {
			t.Errorf("OpenStore(%+v) succeeded", o)
		}
	}
}

func TestStoreMigratesAnEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edgecore.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTestStore(t, path)
	if s.Recovered() != "" {
		t.Fatalf("an empty file was treated as corrupt (moved to %s)", s.Recovered())
	}
	v, err := readSchemaVersion(context.Background(), s.readers)
	if err != nil || v != schemaVersion {
		t.Fatalf("schema version = %d, %v; want %d", v, err, schemaVersion)
	}
	mustApply(t, s, syncMsg(message.OpInsert, res("default", "pod", "web"), "1", podJSON("default", "web", "u1", "1")))
}

func TestStoreDirectoryIsCreatedPrivate(t *testing.T) {
	path := tempDB(t) // <tmp>/edge/edgecore.db; edge does not exist yet
	openTestStore(t, path)
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode = %v, want 0700", perm)
	}
}

// setSchemaVersion writes v into a closed store's schema_version.
func setSchemaVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE schema_version SET version = ?`, v); err != nil {
		t.Fatal(err)
	}
}

func TestStoreRefusesANewerSchema(t *testing.T) {
	path := tempDB(t)
	s := openTestStore(t, path)
	mustApply(t, s, syncMsg(message.OpInsert, res("default", "pod", "web"), "1", podJSON("default", "web", "u1", "1")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setSchemaVersion(t, path, schemaVersion+98)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	for _, ro := range []bool{false, true} {
		_, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger(), ReadOnly: ro})
		if !errors.Is(err, errSchemaMismatch) {
			t.Fatalf("ReadOnly=%v: OpenStore err = %v, want a schema mismatch", ro, err)
		}
		for _, want := range []string{fmt.Sprint(schemaVersion + 98), fmt.Sprintf("version %d", schemaVersion), path} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ReadOnly=%v: error %q does not name %q", ro, err, want)
			}
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("OpenStore changed a file with a newer schema")
	}
	if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) != 0 {
		t.Errorf("a newer file was moved aside: %v", matches)
	}
}

func TestStoreReadOnly(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	if _, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger(), ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing file succeeded")
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing file created its directory (stat: %v)", err)
	}

	w := openTestStore(t, path)
	key := res("default", "pod", "web")
	mustApply(t, w, syncMsg(message.OpInsert, key, "1", podJSON("default", "web", "u1", "1")))

	ro, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger(), ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open: %v", err)
	}
	defer ro.Close()
	if err := ro.Apply(ctx, syncMsg(message.OpDelete, key, "", nil)); !errors.Is(err, errStoreReadOnly) {
		t.Errorf("read-only Apply: err = %v", err)
	}
	if _, err := ro.PutStatus(ctx, statusMsg(res("", "nodestatus", "n"), 1, "{}")); !errors.Is(err, errStoreReadOnly) {
		t.Errorf("read-only PutStatus: err = %v", err)
	}
	if _, err := ro.readers.ExecContext(ctx, `DELETE FROM objects`); err == nil {
		t.Error("a read-only connection could write")
	}
	// It sees what the writer commits while it is open.
	mustApply(t, w, syncMsg(message.OpUpdate, key, "2", podJSON("default", "web", "u1", "2")))
	if r, err := ro.Get(ctx, key); err != nil || r.ResourceVersion != "2" {
		t.Fatalf("read-only Get = %+v, %v", r, err)
	}

	// With the writer closed too (no -wal, no -shm left behind).
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ro2, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger(), ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a closed store: %v", err)
	}
	defer ro2.Close()
	if r, err := ro2.Get(ctx, key); err != nil || r.ResourceVersion != "2" {
		t.Fatalf("read-only Get = %+v, %v", r, err)
	}
}

func TestStoreReadOnlyRefusesAnOlderSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edgecore.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger(), ReadOnly: true})
	if !errors.Is(err, errSchemaMismatch) || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("err = %v, want an older-schema error", err)
	}
}

// recoverFrom opens a store on a damaged file and checks it was moved
// aside, as it was, and a working empty store took its place.
func recoverFrom(t *testing.T, path string) {
	t.Helper()
	damaged, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	s, err := OpenStore(StoreOptions{Path: path, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("OpenStore on a damaged file: %v", err)
	}
	defer s.Close()

	moved := s.Recovered()
	if !strings.HasPrefix(moved, path+".corrupt-") {
		t.Fatalf("Recovered() = %q, want %s.corrupt-<time>", moved, path)
	}
	if got, err := os.ReadFile(moved); err != nil || !bytes.Equal(got, damaged) {
		t.Fatalf("moved file differs from the damaged one (read err %v)", err)
	}
	// Both may hold the node's secrets.
	for _, p := range []string{path, moved} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, perm)
		}
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "corrupt", "rebuilt from the cloud", moved} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q does not say %q", out, want)
		}
	}

	ctx := context.Background()
	if m, err := s.Manifest(ctx); err != nil || len(m) != 0 {
		t.Fatalf("new store Manifest = %v, %v; want empty", m, err)
	}
	key := res("default", "pod", "web")
	mustApply(t, s, syncMsg(message.OpInsert, key, "1", podJSON("default", "web", "u1", "1")))
	if _, err := s.Get(ctx, key); err != nil {
		t.Fatalf("new store Get: %v", err)
	}
}

func TestStoreRecoversFromAFileThatIsNotADatabase(t *testing.T) {
	path := tempDB(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte("this is not an SQLite file. "), 1000)
	if err := os.WriteFile(path, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-wal", []byte("stale wal"), 0o600); err != nil {
		t.Fatal(err)
	}
	recoverFrom(t, path)
	matches, _ := filepath.Glob(path + ".corrupt-*-wal")
	if len(matches) != 1 {
		t.Errorf("the -wal file was not moved with the database: %v", matches)
	}
}

func TestStoreRecoversFromDamagedPages(t *testing.T) {
	path := tempDB(t)
	s := openTestStore(t, path)
	for i := range 500 {
		name := fmt.Sprintf("pod-%03d", i)
		mustApply(t, s, syncMsg(message.OpInsert, res("default", "pod", name), "1", podJSON("default", name, "uid-"+name, "1")))
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}

	// Keep the header page, overwrite the pages after it.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 16*4096 {
		t.Fatalf("test file too small to damage: %d bytes", fi.Size())
	}
	junk := bytes.Repeat([]byte{0xA5, 0x5A, 0x00, 0xFF}, 4*4096/4)
	if _, err := f.WriteAt(junk, 4*4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	recoverFrom(t, path)
}

func TestStoreRecoversFromABadHeaderPage(t *testing.T) {
	path := tempDB(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	// The magic string, then nonsense where the page size and the schema
	// should be: SQLite itself must find it out.
	page := append([]byte(sqliteMagic), bytes.Repeat([]byte{0xEE}, 8192)...)
	if err := os.WriteFile(path, page, 0o600); err != nil {
		t.Fatal(err)
	}
	recoverFrom(t, path)
}

func TestStorePathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b?c#d%20e", "edge core.db")
	s := openTestStore(t, path)
	mustApply(t, s, syncMsg(message.OpInsert, res("default", "pod", "web"), "1", podJSON("default", "web", "u1", "1")))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the store is not at the path it was given: %v", err)
	}
	ro, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger(), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Get(context.Background(), res("default", "pod", "web")); err != nil {
		t.Fatal(err)
	}
}
