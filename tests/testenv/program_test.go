package testenv

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestProgramT(t *testing.T) {
	var log bytes.Buffer
	p := NewProgramT(t.TempDir(), &log)
	var order []string
	var dirs []string
	err := p.Run(func(pt T) {
		pt.Cleanup(func() { order = append(order, "first") })
		pt.Cleanup(func() { order = append(order, "second") })
		dirs = append(dirs, pt.TempDir(), pt.TempDir())
		pt.Fatalf("boom %d", 1)
		order = append(order, "after Fatalf")
	})
	if err == nil || err.Error() != "boom 1" {
		t.Errorf("Run returned %v, want boom 1", err)
	}
	if !p.Failed() || !strings.Contains(log.String(), "boom 1\n") {
		t.Errorf("failed=%v log=%q", p.Failed(), log.String())
	}
	if filepath.Base(dirs[0]) != "001" || filepath.Base(dirs[1]) != "002" {
		t.Errorf("temp dirs %v, want .../001 and .../002", dirs)
	}
	p.Close()
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("ran %v, want the cleanups last first and nothing after Fatalf", order)
	}
}

// TestMissingComponentFails checks that a missing binary fails the test with
// the script to run, instead of skipping it.
func TestMissingComponentFails(t *testing.T) {
	missing := Paths{KubeBin: "/nonexistent/k8s", ContainerdBin: "/nonexistent/ctd", Mosquitto: "/nonexistent/mosquitto"}
	for name, start := range map[string]func(T){
		"kube":       func(t T) { StartKube(t, KubeOptions{Paths: missing}) },
		"containerd": func(t T) { StartContainerd(t, ContainerdOptions{Paths: missing}) },
		"mosquitto":  func(t T) { StartMosquittoWith(t, MosquittoOptions{Paths: missing}) },
	} {
		p := NewProgramT(t.TempDir(), io.Discard)
		err := p.Run(start)
		p.Close()
		if err == nil || !strings.Contains(err.Error(), "not found at /nonexistent/") ||
			!strings.HasSuffix(err.Error(), ": run build/test-deps.sh (make test does)") {
			t.Errorf("%s with missing binaries: %v", name, err)
		}
	}
}
