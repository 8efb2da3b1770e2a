package metamanager

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// quietLogger discards everything.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logBuffer is a logger's output, safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// openTestStore opens a writable store at path and closes it at the end of
// the test.
func openTestStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tempDB(t testing.TB) string {
	return filepath.Join(t.TempDir(), "edge", "edgecore.db")
}

// podJSON is a small pod with metadata.uid first, as Kubernetes writes it.
func podJSON(ns, name, uid, rv string) []byte {
	return fmt.Appendf(nil, `{"metadata":{"uid":%q,"name":%q,"namespace":%q,"resourceVersion":%q},"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","image":"busybox"}]}}`, uid, name, ns, rv)
}

func res(ns, typ, name string) message.Resource {
	return message.Resource{Namespace: ns, Type: typ, Name: name}
}

// syncMsg is a sync message as EdgeHub hands it to the store.
func syncMsg(op message.Operation, key message.Resource, rv string, content []byte) message.Message {
	m := message.New("edgecontroller", "metamanager", op, key, content)
	m.Header.ResourceVersion = rv
	return m
}

// mustApply applies m to a Store or a Manager.
func mustApply(t testing.TB, s interface {
	Apply(context.Context, message.Message) error
}, m message.Message) {
	t.Helper()
	if err := s.Apply(context.Background(), m); err != nil {
		t.Fatalf("Apply %s %s: %v", m.Route.Operation, m.Route.Resource, err)
	}
}

// stored is how many objects s holds.
func stored(t testing.TB, s *Store) int {
	t.Helper()
	m, err := s.Manifest(context.Background())
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	return len(m)
}

// statusMsg is a status an edge module would send, made at ts.
func statusMsg(key message.Resource, ts int64, content string) message.Message {
	m := message.NewToGroup("edged", "edgecontroller", message.OpUpdate, key, []byte(content))
	m.Route.Destination = "edgehub"
	m.Header.Timestamp = ts
	return m
}

// podWrite is the validated write of a pod named name, ready for the
// writer (its done channel made), as Apply would hand it over.
func podWrite(t testing.TB, name string) *writeOp {
	t.Helper()
	op, err := objectWrite(syncMsg(message.OpInsert, res("default", "pod", name), "1", podJSON("default", name, "u-"+name, "1")))
	if err != nil {
		t.Fatal(err)
	}
	op.done = make(chan struct{})
	return op
}
