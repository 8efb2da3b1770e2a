package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// dbFixture is a store with a few objects and a status, and a config file
// pointing at it.
type dbFixture struct {
	dbPath, configPath string
	pod                []byte
}

func newDBFixture(t *testing.T) dbFixture {
	t.Helper()
	dir := t.TempDir()
	f := dbFixture{
		dbPath:     filepath.Join(dir, "lib", "edgecore.db"),
		configPath: filepath.Join(dir, "edgecore.yaml"),
		pod:        []byte(`{"metadata":{"uid":"u-web","name":"web","namespace":"default"},"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","image":"nginx"}]}}`),
	}
	s, err := metamanager.OpenStore(metamanager.StoreOptions{Path: f.dbPath, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, o := range []struct {
		key     message.Resource
		rv      string
		content string
	}{
		{message.Resource{Namespace: "default", Type: "pod", Name: "web"}, "11", string(f.pod)},
		{message.Resource{Namespace: "kube-system", Type: "pod", Name: "dns"}, "12", `{"metadata":{"uid":"u-dns"}}`},
		{message.Resource{Namespace: "default", Type: "configmap", Name: "web"}, "13", `{"metadata":{"uid":"u-cm"},"data":{"k":"v"}}`},
		{message.Resource{Namespace: "other", Type: "configmap", Name: "web"}, "14", `{"metadata":{"uid":"u-cm2"}}`},
		{message.Resource{Type: "node", Name: "edge-1"}, "15", `{"metadata":{"uid":"u-node","name":"edge-1"},"kind":"Node"}`},
	} {
		m := message.New("edgecontroller", "metamanager", message.OpInsert, o.key, []byte(o.content))
		m.Header.ResourceVersion = o.rv
		if err := s.Apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	st := message.NewToGroup("nodestatus", "edgecontroller", message.OpUpdate, message.Resource{Type: "nodestatus", Name: "edge-1"}, []byte(`{"phase":"Running"}`))
	st.Header.Timestamp = 1767225600000 // 2026-01-01T00:00:00Z
	if _, err := s.PutStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // left open: edgecore may be running
	f.writeConfig(t)
	return f
}

// writeConfig writes an edgecore config whose metaManager.dbPath is f.dbPath.
func (f dbFixture) writeConfig(t *testing.T) {
	t.Helper()
	cfg := fmt.Sprintf("apiVersion: %s\nkind: EdgeCore\nnodeName: edge-1\nmetaManager:\n  dbPath: %s\n", config.APIVersion, f.dbPath)
	if err := os.WriteFile(f.configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// run runs `edgecore --config <file> db <args>`, built as main builds it.
func (f dbFixture) run(args ...string) (string, error) {
	cmd := daemon.Daemon[*config.EdgeCore]{
		Name:     "edgecore",
		Defaults: config.DefaultEdgeCore,
		Load:     config.LoadEdgeCore,
		Run:      func(context.Context, *config.EdgeCore) error { panic("the daemon must not run") },
		Commands: func(load func() (*config.EdgeCore, error)) []*cobra.Command {
			return []*cobra.Command{dbCommand(load)}
		},
	}.Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{"--config", f.configPath, "db"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// rows splits tabwriter output into fields per line.
func rows(out string) [][]string {
	var r [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		r = append(r, strings.Fields(line))
	}
	return r
}

func TestDBList(t *testing.T) {
	f := newDBFixture(t)
	out, err := f.run("list")
	if err != nil {
		t.Fatalf("db list: %v", err)
	}
	want := `TYPE NAMESPACE NAME UID RESOURCEVERSION
configmap default web u-cm 13
configmap other web u-cm2 14
node - edge-1 u-node 15
pod default web u-web 11
pod kube-system dns u-dns 12

TYPE COUNT
configmap 2
node 1
pod 2
total 5`
	if got := normalize(out); got != want {
		t.Errorf("db list:\n%s\nwant (spacing aside):\n%s", out, want)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "pod"}, "TYPE NAMESPACE NAME UID RESOURCEVERSION\npod default web u-web 11\npod kube-system dns u-dns 12"},
		{[]string{"list", "pod", "-n", "kube-system"}, "TYPE NAMESPACE NAME UID RESOURCEVERSION\npod kube-system dns u-dns 12"},
		{[]string{"list", "-n", "null"}, "TYPE NAMESPACE NAME UID RESOURCEVERSION\nnode - edge-1 u-node 15\n\nTYPE COUNT\nnode 1\ntotal 1"},
		{[]string{"list", "secret"}, "TYPE NAMESPACE NAME UID RESOURCEVERSION"},
	} {
		out, err := f.run(tc.args...)
		if err != nil {
			t.Fatalf("db %v: %v", tc.args, err)
		}
		if got := normalize(out); got != tc.want {
			t.Errorf("db %v:\n%s\nwant:\n%s", tc.args, out, tc.want)
		}
	}
}

// normalize turns tabwriter output into single-spaced lines.
func normalize(out string) string {
	var lines []string
	for _, r := range rows(out) {
		lines = append(lines, strings.Join(r, " "))
	}
	return strings.Join(lines, "\n")
}

func TestDBGet(t *testing.T) {
	f := newDBFixture(t)
	var indented bytes.Buffer
	if err := json.Indent(&indented, f.pod, "", "  "); err != nil {
		t.Fatal(err)
	}
	wantPod := indented.String() + "\n"
	for _, args := range [][]string{
		{"get", "default/pod/web"},
		{"get", "pod", "web", "-n", "default"},
		{"get", "pod", "web"}, // one pod of that name: no -n needed
	} {
		out, err := f.run(args...)
		if err != nil {
			t.Fatalf("db %v: %v", args, err)
		}
		if out != wantPod {
			t.Errorf("db %v:\n%s\nwant:\n%s", args, out, wantPod)
		}
	}

	out, err := f.run("get", "null/node/edge-1", "-o", "yaml")
	if err != nil {
		t.Fatalf("db get -o yaml: %v", err)
	}
	if want := "kind: Node\nmetadata:\n  name: edge-1\n  uid: u-node\n"; out != want {
		t.Errorf("db get -o yaml:\n%s\nwant:\n%s", out, want)
	}
	if out, err := f.run("get", "node", "edge-1", "-n", "null"); err != nil || !strings.Contains(out, `"kind": "Node"`) {
		t.Errorf("db get node edge-1 -n null = %q, %v", out, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "default/pod/gone"}, "default/pod/gone not found in " + f.dbPath},
		{[]string{"get", "pod", "gone", "-n", "default"}, "default/pod/gone not found in " + f.dbPath},
		{[]string{"get", "pod", "gone"}, "pod gone not found in " + f.dbPath},
		{[]string{"get", "configmap", "web"}, "in namespaces default, other; choose one with -n"},
		{[]string{"get", "default/pod"}, "want <namespace>/<type>/<name>"},
		{[]string{"get", "a//b"}, "segment 2 is empty"},
		{[]string{"get", "default/pod/web", "-n", "x"}, "-n goes with TYPE NAME"},
		{[]string{"get", "default/pod/web", "-o", "xml"}, `-o "xml"`},
	} {
		_, err := f.run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("db %v: err = %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}

func TestDBStatuses(t *testing.T) {
	f := newDBFixture(t)
	out, err := f.run("statuses")
	if err != nil {
		t.Fatalf("db statuses: %v", err)
	}
	want := "KEY TIME OPERATION GROUP BYTES\nnull/nodestatus/edge-1 2026-01-01T00:00:00.000Z update edgecontroller 19"
	if got := normalize(out); got != want {
		t.Errorf("db statuses:\n%s\nwant:\n%s", out, want)
	}
}

func TestDBWithoutAStore(t *testing.T) {
	dir := t.TempDir()
	f := dbFixture{dbPath: filepath.Join(dir, "none.db"), configPath: filepath.Join(dir, "edgecore.yaml")}
	f.writeConfig(t)
	_, err := f.run("list")
	if err == nil || !regexp.MustCompile(`no local store at .*none\.db`).MatchString(err.Error()) {
		t.Fatalf("db list without a store: err = %v", err)
	}
	if _, statErr := os.Stat(f.dbPath); !os.IsNotExist(statErr) {
		t.Errorf("db list created %s", f.dbPath)
	}
}
