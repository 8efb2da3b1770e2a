// Command mkimage packs a static busybox into a one-layer OCI image and writes
// it as an OCI image layout tar that `ctr images import` accepts.
//
// The tests cannot pull images (no internet), so build/test-images.sh uses this
// to make the busybox and pause images the CRI tests run. The output depends
// only on the busybox binary and the flags: every timestamp, owner and order
// is fixed, so the same input gives the same digests.
//
//	mkimage -busybox /bin/busybox -ref tether.local/busybox:test -o busybox.tar -- sh
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// requiredApplets are the applets the tests rely on; mkimage fails when the
// busybox binary lacks one.
var requiredApplets = []string{"sh", "echo", "sleep", "cat", "wget", "nc", "httpd", "ls", "true"}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	busybox := fs.String("busybox", "/bin/busybox", "static busybox binary to pack")
	ref := fs.String("ref", "", "image reference stored in index.json, e.g. tether.local/busybox:test")
	out := fs.String("o", "", "output tar file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmd := fs.Args()
	if *ref == "" || *out == "" || len(cmd) == 0 {
		return errors.New("usage: mkimage -busybox FILE -ref NAME -o FILE -- CMD [ARG...]")
	}
	bin, err := os.ReadFile(*busybox)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	applets, err := listApplets(*busybox)
	if err != nil {
		return err
	}
	layer, err := buildLayer(bin, applets)
	if err != nil {
		return fmt.Errorf("build layer: %w", err)
	}
	tarball, err := buildLayout(layer, *ref, cmd)
	if err != nil {
		return fmt.Errorf("build image layout: %w", err)
	}
	return writeAtomic(*out, tarball)
}

// listApplets asks busybox which applets it has, sorted, and checks that the
// ones the tests need are there.
func listApplets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", busybox, err)
	}
	var applets []string
	for _, name := range strings.Fields(string(out)) {
		if name != "busybox" && !strings.Contains(name, "/") {
			applets = append(applets, name)
		}
	}
	slices.Sort(applets)
	applets = slices.Compact(applets)
	for _, need := range requiredApplets {
		if _, found := slices.BinarySearch(applets, need); !found {
			return nil, fmt.Errorf("%s has no %q applet", busybox, need)
		}
	}
	return applets, nil
}

// writeAtomic writes data to a temporary file next to path and renames it, so
// a reader never sees half an image.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mkimage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := bytes.NewReader(data).WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
