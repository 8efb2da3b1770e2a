package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed reference must be what the config source gives; change a
// config doc comment, field or default and this fails until `make generate`.
func TestReferenceIsUpToDate(t *testing.T) {
	t.Chdir("../..") // the repository root, where make runs configref
	want, err := Generate("common/config")
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	if err := Check("docs/config-reference.md", want); err != nil {
		t.Fatal(err)
	}
}

// Generate must not print this machine's host name, or the file would
// differ per machine: the defaults derived from it show the placeholder.
func TestGenerateHidesHostName(t *testing.T) {
	got, err := Generate("../../common/config")
	if err != nil {
		t.Fatal(err)
	}
	if host, _ := os.Hostname(); host != "" && strings.Contains(string(got), strings.ToLower(host)) {
		t.Errorf("the reference shows the host name %q", host)
	}
	if !strings.Contains(string(got), "| `nodeName` | string | `<host name>` |") {
		t.Errorf("nodeName's default is not marked as the host name")
	}
	if !strings.Contains(string(got), "`tether-edgecore-<host name>`") {
		t.Errorf("eventBus.external.clientID's default is not marked as derived from the host name")
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ref.md")
	want := []byte("# title\n\n| a | b |\n")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Check(path, want); err != nil {
		t.Errorf("Check of an equal file: %v", err)
	}

	err := Check(path, []byte("# title\n\n| a | c |\n"))
	if !errors.Is(err, ErrStale) {
		t.Fatalf("Check of a changed file = %v, want ErrStale", err)
	}
	for _, want := range []string{"is stale: run make generate", "line 3", "| a | b |", "| a | c |"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check error %q lacks %q", err, want)
		}
	}

	err = Check(path, []byte("# title\n\n| a | b |\nmore\n"))
	if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "(end of file)") {
		t.Errorf("Check of a file missing a line = %v", err)
	}

	if err := Check(filepath.Join(dir, "missing.md"), want); !errors.Is(err, ErrStale) {
		t.Errorf("Check of a missing file = %v, want ErrStale", err)
	}
}

func TestRunWritesThenChecks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ref.md")
	src := filepath.Join("..", "..", "common", "config")
	if err := run([]string{"-src", src, "-check", "-o", out}); !errors.Is(err, ErrStale) {
		t.Fatalf("-check before writing = %v, want ErrStale", err)
	}
	if err := run([]string{"-src", src, "-o", out}); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := run([]string{"-src", src, "-check", "-o", out}); err != nil {
		t.Fatalf("-check after writing: %v", err)
	}
	if err := run([]string{"-src", src, "extra"}); err == nil {
		t.Error("an extra argument: no error")
	}
}
