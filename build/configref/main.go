// Command configref writes docs/config-reference.md, the reference of every
// CloudCore and EdgeCore config field, from the common/config package.
//
// It parses the package source (go/parser) and walks each kind's root struct
// through nested structs, pointers, lists and maps of structs, taking YAML
// names from the json tags (inline and embedded structs flattened, "-"
// skipped). A row's meaning is the field's doc comment, and a field without
// one is an error naming it, so every field stays documented. Defaults come
// from config.DefaultCloudCore and DefaultEdgeCore marshalled to JSON, never
// from the comments; the EdgeCore defaults are those on a host named
// "<host name>", so the file is the same on every machine.
//
//	go run ./build/configref -o docs/config-reference.md   # make generate
//	go run ./build/configref -check                        # fail when stale
//
// Run it from the repository root. main_test.go fails when the committed file
// differs from what the source gives.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/tether-edge/tether/common/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "configref:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("configref", flag.ContinueOnError)
	out := fs.String("o", "docs/config-reference.md", "the reference file to write")
	src := fs.String("src", "common/config", "directory of the config package the binary is built with")
	check := fs.Bool("check", false, "compare with the -o file instead of writing it; fail when it differs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	want, err := Generate(*src)
	if err != nil {
		return err
	}
	if *check {
		return Check(*out, want)
	}
	return os.WriteFile(*out, want, 0o644)
}

// Generate renders the reference of the config package in srcDir, which
// must be the source of the common/config this binary links: the defaults
// come from the linked package.
func Generate(srcDir string) ([]byte, error) {
	pkg, err := ParsePackage(srcDir)
	if err != nil {
		return nil, err
	}
	var kinds []Kind
	var errs []error
	for _, k := range []struct {
		name     string
		defaults any
	}{
		{"CloudCore", config.DefaultCloudCore()},
		{"EdgeCore", config.DefaultEdgeCoreFor(hostPlaceholder)},
	} {
		sections, err := pkg.Walk(k.name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k.name, err))
			continue
		}
		defaults, err := DefaultsOf(k.defaults)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.name, err)
		}
		kinds = append(kinds, Kind{Name: k.name, Sections: sections, Defaults: defaults})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return Render(kinds), nil
}

// ErrStale says the reference file differs from what the source gives.
var ErrStale = errors.New("is stale: run make generate")

// Check compares the file at path with want; a difference wraps ErrStale
// and points at the first differing line.
func Check(path string, want []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s %w (%v)", path, ErrStale, err)
	}
	if bytes.Equal(got, want) {
		return nil
	}
	return fmt.Errorf("%s %w\n%s", path, ErrStale, diffHint(got, want))
}

// diffHint names the first line where got and want differ and shows both.
func diffHint(got, want []byte) string {
	g := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	w := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	for i := range max(len(g), len(w)) {
		gl, wl := line(g, i), line(w, i)
		if gl != wl {
			return fmt.Sprintf("first difference at line %d:\n  file:      %s\n  generated: %s", i+1, gl, wl)
		}
	}
	return "the files differ in their final newline"
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of file)"
}
