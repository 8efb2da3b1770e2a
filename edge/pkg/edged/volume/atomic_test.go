package volume

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func folders(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "..") {
			out = append(out, e.Name())
		}
	}
	return out
}

// A volume is written once, updated through one switch of ..data, left
// alone when nothing changed, and loses the names that left the payload.
func TestAtomicWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	w := &AtomicWriter{Dir: dir}
	changed, err := w.Write(map[string]File{
		"mode":          {Data: []byte("v1"), Mode: 0o644},
		"conf/app.yaml": {Data: []byte("a: 1"), Mode: 0o600},
		"gone":          {Data: []byte("x"), Mode: 0o644},
	})
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, err %v", changed, err)
	}
	if got := read(t, filepath.Join(dir, "mode")); got != "v1" {
		t.Fatalf("mode = %q", got)
	}
	info, err := os.Stat(filepath.Join(dir, "conf", "app.yaml"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("conf/app.yaml: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	if link, err := os.Readlink(filepath.Join(dir, "mode")); err != nil || link != filepath.Join("..data", "mode") {
		t.Fatalf("mode is not a link through ..data: %q %v", link, err)
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))

	changed, err = w.Write(map[string]File{
		"mode":          {Data: []byte("v1"), Mode: 0o644},
		"conf/app.yaml": {Data: []byte("a: 1"), Mode: 0o600},
		"gone":          {Data: []byte("x"), Mode: 0o644},
	})
	if err != nil || changed {
		t.Fatalf("same payload: changed %v, err %v; want no change", changed, err)
	}
	if now, _ := os.Readlink(filepath.Join(dir, "..data")); now != first {
		t.Fatalf("..data moved from %s to %s without a change", first, now)
	}

	changed, err = w.Write(map[string]File{
		"mode":          {Data: []byte("v2"), Mode: 0o644},
		"conf/app.yaml": {Data: []byte("a: 2"), Mode: 0o600},
	})
	if err != nil || !changed {
		t.Fatalf("update: changed %v, err %v", changed, err)
	}
	if got := read(t, filepath.Join(dir, "mode")); got != "v2" {
		t.Fatalf("after the update mode = %q", got)
	}
	if got := read(t, filepath.Join(dir, "conf", "app.yaml")); got != "a: 2" {
		t.Fatalf("after the update conf/app.yaml = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "gone")); !os.IsNotExist(err) {
		t.Fatalf("gone is still there: %v", err)
	}
	if f := folders(t, dir); len(f) != 1 || f[0] == first {
		t.Fatalf("timestamped folders %v; want only the new one", f)
	}

	// A mode change alone is a change.
	if changed, err := w.Write(map[string]File{
		"mode":          {Data: []byte("v2"), Mode: 0o400},
		"conf/app.yaml": {Data: []byte("a: 2"), Mode: 0o600},
	}); err != nil || !changed {
		t.Fatalf("mode change: changed %v, err %v", changed, err)
	}
	if info, _ := os.Stat(filepath.Join(dir, "mode")); info.Mode().Perm() != fs.FileMode(0o400) {
		t.Fatalf("mode has %v; want 0400", info.Mode().Perm())
	}
}

func TestAtomicWriterRefusesEscapingPaths(t *testing.T) {
	w := &AtomicWriter{Dir: t.TempDir()}
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "..data", "a//b", "./a"} {
		if _, err := w.Write(map[string]File{p: {Data: []byte("x"), Mode: 0o644}}); err == nil {
			t.Errorf("path %q was accepted", p)
		}
	}
}
