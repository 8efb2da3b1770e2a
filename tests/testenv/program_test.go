package testenv

import (
	"bytes"
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
