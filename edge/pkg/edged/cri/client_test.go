package cri

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestSocketPath(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "/run/containerd/containerd.sock", want: "/run/containerd/containerd.sock"},
		{in: "unix:///run/containerd/containerd.sock", want: "/run/containerd/containerd.sock"},
		{in: "tcp://127.0.0.1:1234", err: "only unix sockets"},
		{in: "unix://", err: "no socket path"},
	} {
		got, err := socketPath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("socketPath(%q) error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("socketPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestDialChecksOptions(t *testing.T) {
	if _, err := Dial(t.Context(), Options{Logger: testLogger(t)}); err == nil {
		t.Error("Dial without an endpoint succeeded")
	}
	if _, err := Dial(t.Context(), Options{RuntimeEndpoint: "/x.sock"}); err == nil {
		t.Error("Dial without a logger succeeded")
	}
}

func TestDialMissingSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "missing.sock")
	_, err := Dial(t.Context(), Options{RuntimeEndpoint: sock, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), sock) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dial(%s) error %v, want one naming the socket and wrapping fs.ErrNotExist", sock, err)
	}
}

func TestDialChecksAPIVersion(t *testing.T) {
	sock := serveFake(t, &fakeRuntime{apiVersion: "v1alpha2"})
	_, err := Dial(t.Context(), Options{RuntimeEndpoint: sock, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "v1alpha2") {
		t.Errorf("Dial to a v1alpha2 runtime: error %v, want one naming the socket and the version", err)
	}
	c := dialFake(t, &fakeRuntime{apiVersion: "v1"})
	if c.RuntimeName() != "fake" || c.RuntimeVersion() != "0.1" {
		t.Errorf("runtime %s %s, want fake 0.1", c.RuntimeName(), c.RuntimeVersion())
	}
}

func TestSeparateImageEndpoint(t *testing.T) {
	rt, img := serveFake(t, &fakeRuntime{apiVersion: "v1"}), serveFake(t, &fakeRuntime{apiVersion: "v1"})
	c, err := Dial(t.Context(), Options{RuntimeEndpoint: rt, ImageEndpoint: img, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	// The fake image endpoint has no image service: the call reaches it.
	if _, err := c.ListImages(t.Context()); !IsUnimplemented(err) || !strings.Contains(err.Error(), "list images") {
		t.Errorf("ListImages on a runtime without an image service: %v, want Unimplemented, naming the call", err)
	}
}
