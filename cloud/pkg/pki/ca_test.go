package pki

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/certs"
)

func TestLoadCAFiles(t *testing.T) {
	ca, err := certs.NewCA("files-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if err := os.WriteFile(certFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCAFiles(certFile, keyFile)
	if err != nil {
		t.Fatalf("LoadCAFiles: %v", err)
	}
	if got.Hash() != ca.Hash() {
		t.Errorf("loaded CA %s, want %s", got.Hash(), ca.Hash())
	}
	if _, err := LoadCAFiles(certFile, filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "read key") {
		t.Errorf("missing key file: %v", err)
	}
	if _, err := LoadCAFiles(keyFile, keyFile); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("key as certificate: %v, want an error naming the file", err)
	}
}
