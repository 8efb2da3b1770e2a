package metamanager

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// The store holds secrets: the file and SQLite's WAL are the owner's
// alone, also when the file was created more open before.
func TestStoreFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	store := openTestStore(t, path)
	mustApply(t, store, syncMsg(message.OpInsert, message.Resource{Namespace: "default", Type: kubemsg.TypeSecret, Name: "s"}, "1", object("Secret", "u-s", "x")))
	for _, name := range []string{"edge.db", "edge.db-wal"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v; want 0600", name, perm)
		}
	}
}
