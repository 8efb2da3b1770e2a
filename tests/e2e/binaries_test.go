// Package e2e runs the real cloudcore and edgecore binaries.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// buildBinaries builds cloudcore and edgecore once per test binary run.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"github.com/tether-edge/tether/cloud/cmd/cloudcore",
		"github.com/tether-edge/tether/edge/cmd/edgecore")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var binaries = []struct{ name, kind string }{
	{"cloudcore", "CloudCore"},
	{"edgecore", "EdgeCore"},
}

func TestUnknownFieldIsNamed(t *testing.T) {
	bin := buildBinaries(t)
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "f.yaml")
			body := fmt.Sprintf("apiVersion: config.tether.io/v1alpha1\nkind: %s\nhealth:\n  adress: 127.0.0.1:1\n", b.kind)
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(filepath.Join(bin, b.name), "--config", cfg).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("want a non-zero exit, got %v\n%s", err, out)
			}
			if !strings.Contains(string(out), `unknown field "health.adress"`) {
				t.Errorf("output does not name the field:\n%s", out)
			}
		})
	}
}

// The printed defaults, with the health port moved, start the binary; it
// serves /readyz; SIGTERM stops it with exit status 0 within 5 s.
func TestDefaultConfigRunsAndStopsOnSIGTERM(t *testing.T) {
	bin := buildBinaries(t)
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			defaults, err := exec.Command(filepath.Join(bin, b.name), "--defaultconfig").Output()
			if err != nil {
				t.Fatalf("--defaultconfig: %v", err)
			}
			addr := freeAddr(t)
			var doc map[string]any
			if err := yaml.Unmarshal(defaults, &doc); err != nil {
				t.Fatalf("--defaultconfig printed invalid YAML: %v\n%s", err, defaults)
			}
			doc["health"] = map[string]any{"address": addr}
			if _, ok := doc["nodeName"]; ok {
				doc["nodeName"] = "edge-e2e" // the test host's name need not be a valid node name
			}
			cfgText, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(t.TempDir(), "f.yaml")
			if err := os.WriteFile(cfg, cfgText, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			cmd := exec.Command(filepath.Join(bin, b.name), "--config", cfg)
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() { cmd.Process.Kill() })

			waitReady(t, "http://"+addr+"/readyz", done)
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("still running 5 s after SIGTERM\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), b.name+" stopped") {
				t.Errorf("log does not show a clean stop:\n%s", logs.String())
			}
		})
	}
}

// waitReady polls url until it answers 200, the process exits, or 10 s pass.
func waitReady(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("process exited before ready: %v", err)
		case <-ctx.Done():
			t.Fatalf("%s not ready within 10 s", url)
		case <-tick.C:
		}
	}
}
