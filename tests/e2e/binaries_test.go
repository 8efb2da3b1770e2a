// Package e2e runs the real cloudcore and edgecore binaries.
package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tether-edge/tether/common/certs"

	"github.com/tether-edge/tether/tests/testenv"
)

// binDir holds cloudcore and edgecore, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tether-e2e-bin-")
	if err == nil {
		err = buildBinaries(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildBinaries(dir string) error {
	return testenv.BuildBinaries(dir, testenv.CloudcorePackage, testenv.EdgecorePackage,
		"github.com/tether-edge/tether/tests/cmd/localup")
}

var binaries = []struct{ name, kind string }{
	{"cloudcore", "CloudCore"},
	{"edgecore", "EdgeCore"},
}

func TestUnknownFieldIsNamed(t *testing.T) {
	bin := binDir
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

// The printed defaults, with ports moved and paths and the cluster's
// address made local (localize), start the binary; it
// serves /readyz; SIGTERM stops it with exit status 0 within 5 s.
func TestDefaultConfigRunsAndStopsOnSIGTERM(t *testing.T) {
	bin := binDir
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			defaults, err := exec.Command(filepath.Join(bin, b.name), "--defaultconfig").Output()
			if err != nil {
				t.Fatalf("--defaultconfig: %v", err)
			}
			addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			var doc map[string]any
			if err := yaml.Unmarshal(defaults, &doc); err != nil {
				t.Fatalf("--defaultconfig printed invalid YAML: %v\n%s", err, defaults)
			}
			doc["health"] = map[string]any{"address": addr}
			localize(t, doc)
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
			proc := testenv.StartProcess(t, testenv.Command{
				Name: b.name, Path: filepath.Join(bin, b.name), Args: []string{"--config", cfg},
			})
			testenv.WaitHTTPReady(t, proc, "http://"+addr+"/readyz")
			if err := syscall.Kill(proc.Pid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-proc.Done():
				if err := proc.Err(); err != nil {
					t.Fatalf("exit after SIGTERM: %v\n%s", err, proc.Tail(20))
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("still running 5 s after SIGTERM\n%s", proc.Tail(20))
			}
			if !strings.Contains(proc.Tail(5), b.name+" stopped") {
				t.Errorf("log does not show a clean stop:\n%s", proc.Tail(20))
			}
		})
	}
}

// localize points what the defaults take from a real deployment at this
// test: cloudcore gets a CA in files, a kubeconfig (to an address nothing
// listens on: nothing asks the apiserver before a node joins) and free
// loopback ports; edgecore a temporary PKI folder.
func localize(t *testing.T, doc map[string]any) {
	dir := t.TempDir()
	if hub, ok := doc["cloudHub"].(map[string]any); ok {
		ca, err := certs.NewCA("e2e", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, err := ca.KeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "ca.crt"), ca.CertPEM)
		write(t, filepath.Join(dir, "ca.key"), keyPEM)
		write(t, filepath.Join(dir, "kubeconfig"), []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: x}}]\n"))
		doc["kubeAPI"].(map[string]any)["kubeconfig"] = filepath.Join(dir, "kubeconfig")
		hub["ca"] = map[string]any{"certFile": filepath.Join(dir, "ca.crt"), "keyFile": filepath.Join(dir, "ca.key")}
		ports := testenv.FreePorts(t, 3)
		for i, name := range []string{"websocket", "quic", "https"} {
			hub[name].(map[string]any)["address"] = fmt.Sprintf("127.0.0.1:%d", ports[i])
		}
	}
	if hub, ok := doc["edgeHub"].(map[string]any); ok {
		hub["pkiDir"] = dir
	}
}

func write(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
