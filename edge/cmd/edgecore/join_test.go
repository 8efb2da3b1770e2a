package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/edge/pkg/certmanager"
)

// testToken is a well-formed join token.
var testToken = "abcdef.0123456789abcdef." + strings.Repeat("a", 64)

// fakeBootstrap stands in for certmanager's Bootstrap: without a token it
// finds a valid certificate only when valid is set; with one it writes the
// three files, or fails with err.
type fakeBootstrap struct {
	valid bool
	err   error
	calls []certmanager.Options
}

var notAfter = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (f *fakeBootstrap) bootstrap(_ context.Context, o certmanager.Options) (*x509.Certificate, error) {
	f.calls = append(f.calls, o)
	if o.Token == "" {
		if f.valid {
			return &x509.Certificate{NotAfter: notAfter}, nil
		}
		return nil, fmt.Errorf("%w (read certificate: %w)", certmanager.ErrNoToken, fs.ErrNotExist)
	}
	// A real join writes the CA and the key before it asks for the
	// certificate: a failure leaves them behind in its folder.
	if err := os.MkdirAll(filepath.Dir(o.KeyFile), 0o755); err != nil {
		return nil, err
	}
	for _, file := range []string{o.CAFile, o.KeyFile} {
		if err := os.WriteFile(file, []byte("new "+filepath.Base(file)), 0o600); err != nil {
			return nil, err
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	if err := os.WriteFile(o.CertFile, []byte("new node.crt"), 0o644); err != nil {
		return nil, err
	}
	return &x509.Certificate{NotAfter: notAfter}, nil
}

func runJoin(t *testing.T, fake *fakeBootstrap, f joinFlags) (string, error) {
	t.Helper()
	if f.timeout == 0 {
		f.timeout = time.Second
	}
	var out bytes.Buffer
	err := joiner{out: &out, defaults: config.DefaultEdgeCore, bootstrap: fake.bootstrap}.join(context.Background(), f)
	return out.String(), err
}

// userConfig is an existing config with comments and settings join must keep.
const userConfig = `# Edge node in hall 3.
apiVersion: config.tether.io/v1alpha1
kind: EdgeCore
nodeName: old-name # renamed by join
edgeHub:
  # the cloud, as this site reaches it
  server: 10.0.0.1
  ports: {websocket: 11000, quic: 11001, https: 11002, stream: 11004}
  pkiDir: %q
  keepalivePeriod: 7s
metaManager:
  dbPath: /data/edgecore.db # on the SD card
edged: {enable: false}
`

func writeUserConfig(t *testing.T) (path, pkiDir string) {
	t.Helper()
	dir := t.TempDir()
	path, pkiDir = filepath.Join(dir, "edgecore.yaml"), filepath.Join(dir, "pki")
	if err := os.WriteFile(path, fmt.Appendf(nil, userConfig, pkiDir), 0o640); err != nil {
		t.Fatal(err)
	}
	return path, pkiDir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJoinEditsConfigKeepingCommentsAndSettings(t *testing.T) {
	path, pkiDir := writeUserConfig(t)
	fake := &fakeBootstrap{}
	out, err := runJoin(t, fake, joinFlags{configPath: path, cloud: "cloud.example:9443", token: testToken, name: "edge-7"})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	text := readFile(t, path)
	for _, want := range []string{"# Edge node in hall 3.", "# renamed by join", "# the cloud, as this site reaches it", "# on the SD card",
		"nodeName: edge-7", "server: cloud.example", "keepalivePeriod: 7s", "dbPath: /data/edgecore.db", "edged: {enable: false}"} {
		if !strings.Contains(text, want) {
			t.Errorf("edited config lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, testToken) || strings.Contains(text, "token") {
		t.Errorf("edited config names the token:\n%s", text)
	}
	cfg, err := config.LoadEdgeCore(path)
	if err != nil {
		t.Fatalf("edited config does not load: %v", err)
	}
	want := config.HubPorts{WebSocket: 11000, QUIC: 11001, HTTPS: 9443, Stream: 11004}
	if cfg.NodeName != "edge-7" || cfg.EdgeHub.Server != "cloud.example" || cfg.EdgeHub.Ports != want ||
		cfg.EdgeHub.KeepalivePeriod.Duration != 7*time.Second || cfg.EdgeHub.Transport != config.TransportWebSocket {
		t.Errorf("edited config = node %s, hub %+v", cfg.NodeName, cfg.EdgeHub)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("config mode = %v (%v), want the file's own 0640", fi.Mode().Perm(), err)
	}
	// The join asked the edited server, and its files moved into pkiDir.
	last := fake.calls[len(fake.calls)-1]
	if last.Server != "https://cloud.example:9443" || last.NodeName != "edge-7" || last.Token != testToken ||
		filepath.Dir(filepath.Dir(last.CertFile)) != pkiDir {
		t.Errorf("join options = %+v, want the new server and name, files in a folder under %s", last, pkiDir)
	}
	for _, name := range []string{"ca.crt", "node.crt", "node.key"} {
		if got := readFile(t, filepath.Join(pkiDir, name)); got != "new "+name {
			t.Errorf("%s = %q, want the joined file", name, got)
		}
	}
	if entries, _ := os.ReadDir(pkiDir); len(entries) != 3 {
		t.Errorf("pkiDir holds %d entries, want ca.crt, node.crt and node.key only", len(entries))
	}
	for _, want := range []string{"node edge-7 joined", "systemctl enable --now edgecore", "edgecore --config " + path} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// With no config file yet, join creates its folder and a minimal file
// (mode 0600) with the defaults' pkiDir and ports, the port from --cloud
// in edgeHub.ports.https.
func TestJoinWritesFreshConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "tether", "edgecore.yaml")
	defaults := func() *config.EdgeCore {
		c := config.DefaultEdgeCore()
		c.NodeName, c.EdgeHub.PKIDir = "host-1", filepath.Join(dir, "pki")
		return c
	}
	fake := &fakeBootstrap{}
	var out bytes.Buffer
	f := joinFlags{configPath: path, cloud: "[fd00::1]:8443", token: testToken, transport: "quic", timeout: time.Second}
	if err := (joiner{out: &out, defaults: defaults, bootstrap: fake.bootstrap}).join(context.Background(), f); err != nil {
		t.Fatalf("join: %v", err)
	}
	if got := fake.calls[len(fake.calls)-1]; got.Server != "https://[fd00::1]:8443" || got.NodeName != "host-1" {
		t.Errorf("join options = %+v, want the default name and the --cloud address", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("fresh config: %v, want mode 0600", err)
	}
	loaded, err := config.LoadEdgeCore(path)
	if err != nil {
		t.Fatalf("fresh config does not load: %v\n%s", err, readFile(t, path))
	}
	want := defaults().EdgeHub
	want.Ports.HTTPS, want.Server, want.Transport = 8443, "fd00::1", "quic"
	if loaded.NodeName != "host-1" || loaded.EdgeHub != want {
		t.Errorf("fresh config = node %s, hub %+v", loaded.NodeName, loaded.EdgeHub)
	}
	text := readFile(t, path)
	if !strings.HasPrefix(text, "# edgecore's config, written by edgecore join") || strings.Contains(text, "token") ||
		strings.Contains(text, "metaManager") {
		t.Errorf("fresh config is not the minimal one:\n%s", text)
	}
}

// A failed join with no config file creates neither the file nor its folder.
func TestJoinFailureWritesNoConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "edgecore.yaml")
	defaults := func() *config.EdgeCore {
		c := config.DefaultEdgeCore()
		c.EdgeHub.PKIDir = filepath.Join(dir, "pki")
		return c
	}
	fake := &fakeBootstrap{err: errors.New("refused")}
	f := joinFlags{configPath: path, cloud: "cloud", token: testToken, name: "edge-6", timeout: time.Second}
	if err := (joiner{out: io.Discard, defaults: defaults, bootstrap: fake.bootstrap}).join(context.Background(), f); err == nil {
		t.Fatal("join succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed join left %v behind", entries)
	}
}

func TestJoinValidation(t *testing.T) {
	tests := []struct {
		name string
		f    joinFlags
		want string
	}{
		{"no cloud", joinFlags{token: testToken}, "--cloud is required"},
		{"cloud port zero", joinFlags{cloud: "cloud:0", token: testToken}, "from 1 to 65535"},
		{"cloud port word", joinFlags{cloud: "cloud:https", token: testToken}, "from 1 to 65535"},
		{"cloud bad host", joinFlags{cloud: "bad_host", token: testToken}, "neither an IP address nor a DNS name"},
		{"cloud URL", joinFlags{cloud: "https://cloud", token: testToken}, "--cloud"},
		{"bad name", joinFlags{cloud: "cloud", token: testToken, name: "Edge_1"}, `--name: node name "Edge_1" is invalid`},
		{"bad token", joinFlags{cloud: "cloud", token: "abc"}, "--token: parse join token"},
		{"bad transport", joinFlags{cloud: "cloud", token: testToken, transport: "tcp"}, `--transport "tcp"`},
		{"force without token", joinFlags{cloud: "cloud", force: true}, "--force joins again and needs --token"},
		{"bad timeout", joinFlags{cloud: "cloud", token: testToken, timeout: -time.Second}, "--timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := writeUserConfig(t)
			before := readFile(t, path)
			tt.f.configPath = path
			fake := &fakeBootstrap{}
			_, err := runJoin(t, fake, tt.f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("join = %v, want an error containing %q", err, tt.want)
			}
			if len(fake.calls) != 0 {
				t.Errorf("bootstrap ran %d times despite invalid flags", len(fake.calls))
			}
			if readFile(t, path) != before {
				t.Error("config changed")
			}
		})
	}
}

func TestJoinRefusesInvalidConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edgecore.yaml")
	body := "apiVersion: config.tether.io/v1alpha1\nkind: EdgeCore\nedgeHub:\n  sever: 10.0.0.1\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := &fakeBootstrap{}
	_, err := runJoin(t, fake, joinFlags{configPath: path, cloud: "cloud", token: testToken})
	if err == nil || !strings.Contains(err.Error(), "sever") || !strings.Contains(err.Error(), path) {
		t.Errorf("join = %v, want the unknown field and the file named", err)
	}
	if len(fake.calls) != 0 || readFile(t, path) != body {
		t.Error("join went on with an invalid config")
	}
}

// A failed join changes nothing: not the config, not the files of a node
// that had some, and the error says what failed.
func TestJoinFailureChangesNothing(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"token refused", fmt.Errorf("join with token abcdef: request certificate: %w",
			&certmanager.ServerError{Method: "POST", Path: "/v1/node-certificate", Status: "401 Unauthorized", Code: http.StatusUnauthorized, Reason: "join token expired"}),
			"the cloud refused the join token (join token expired); create a new one with: cloudcore token create"},
		{"other refusal", &certmanager.ServerError{Status: "503 Service Unavailable", Code: 503, Reason: "cannot check join tokens now; retry later"},
			"refused the join (503 Service Unavailable: cannot check join tokens now"},
		{"CA mismatch", fmt.Errorf("join: fetch CA: %w", certmanager.ErrCAMismatch),
			"the CA at https://cloud.example:9443 is not the one the token pins"},
		{"unreachable", &url.Error{Op: "Get", URL: "https://cloud.example:9443/ca.crt", Err: errors.New("connection refused")},
			"cannot reach the cloud at https://cloud.example:9443"},
		{"timeout", fmt.Errorf("join: %w", context.DeadlineExceeded), "did not answer within 1s"},
		{"other", errors.New("disk full"), "join: disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, pkiDir := writeUserConfig(t)
			if err := os.MkdirAll(pkiDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(pkiDir, "node.key"), []byte("old key"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, path)
			fake := &fakeBootstrap{err: tt.err}
			out, err := runJoin(t, fake, joinFlags{configPath: path, cloud: "cloud.example:9443", token: testToken, name: "edge-7"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("join = %v, want an error containing %q", err, tt.want)
			}
			if out != "" {
				t.Errorf("printed %q on failure", out)
			}
			if readFile(t, path) != before {
				t.Error("config changed by a failed join")
			}
			entries, _ := os.ReadDir(pkiDir)
			if len(entries) != 1 || readFile(t, filepath.Join(pkiDir, "node.key")) != "old key" {
				t.Errorf("pkiDir after a failed join: %v, want only the old node.key", entries)
			}
		})
	}
}

// A failed join removes the PKI folders it created.
func TestJoinFailureRemovesCreatedFolders(t *testing.T) {
	path, pkiDir := writeUserConfig(t)
	parent := filepath.Dir(pkiDir)
	text := strings.Replace(readFile(t, path), pkiDir, filepath.Join(pkiDir, "a", "b"), 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := &fakeBootstrap{err: errors.New("refused")}
	if _, err := runJoin(t, fake, joinFlags{configPath: path, cloud: "cloud", token: testToken}); err == nil {
		t.Fatal("join succeeded")
	}
	if _, err := os.Stat(pkiDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s left behind (%v)", pkiDir, err)
	}
	if _, err := os.Stat(parent); err != nil {
		t.Errorf("removed a folder it did not create: %v", err)
	}
}

func TestJoinKeepsValidCertificate(t *testing.T) {
	path, pkiDir := writeUserConfig(t)
	fake := &fakeBootstrap{valid: true}
	out, err := runJoin(t, fake, joinFlags{configPath: path, cloud: "10.0.0.2"})
	if err != nil {
		t.Fatalf("join without token on a joined node: %v", err)
	}
	if len(fake.calls) != 1 || fake.calls[0].Token != "" || fake.calls[0].CertFile != filepath.Join(pkiDir, "node.crt") {
		t.Errorf("bootstrap calls = %+v, want one check of %s without a token", fake.calls, pkiDir)
	}
	if !strings.Contains(out, "node old-name already holds a valid certificate") || !strings.Contains(out, "--force") {
		t.Errorf("output:\n%s", out)
	}
	if cfg, err := config.LoadEdgeCore(path); err != nil || cfg.EdgeHub.Server != "10.0.0.2" || cfg.EdgeHub.Ports.HTTPS != 11002 {
		t.Errorf("config not updated: %v", err)
	}

	// --force joins again into fresh files.
	fake = &fakeBootstrap{valid: true}
	out, err = runJoin(t, fake, joinFlags{configPath: path, cloud: "10.0.0.2", token: testToken, force: true})
	if err != nil || len(fake.calls) != 1 || fake.calls[0].Token != testToken || !strings.Contains(out, "joined") {
		t.Errorf("--force: err %v, calls %+v, output %q", err, fake.calls, out)
	}
	if got := readFile(t, filepath.Join(pkiDir, "node.key")); got != "new node.key" {
		t.Errorf("node.key after --force = %q", got)
	}
}

func TestJoinWithoutTokenNeedsOne(t *testing.T) {
	path, _ := writeUserConfig(t)
	before := readFile(t, path)
	_, err := runJoin(t, &fakeBootstrap{}, joinFlags{configPath: path, cloud: "cloud"})
	if err == nil || !strings.Contains(err.Error(), "no valid certificate for node old-name") || !strings.Contains(err.Error(), "pass --token") {
		t.Errorf("join = %v", err)
	}
	if readFile(t, path) != before {
		t.Error("config changed")
	}
}

func TestSetScalar(t *testing.T) {
	tests := []struct {
		name, in   string
		path       []string
		tag, value string
		want       string
	}{
		{"add missing", "kind: EdgeCore\n", []string{"edgeHub", "ports", "https"}, "!!int", "1",
			"kind: EdgeCore\nedgeHub:\n  ports:\n    https: 1\n"},
		{"null section", "edgeHub:\n", []string{"edgeHub", "server"}, "!!str", "a", "edgeHub:\n  server: a\n"},
		{"keeps quotes", "nodeName: \"x\" # hi\n", []string{"nodeName"}, "!!str", "y", "nodeName: \"y\" # hi\n"},
		{"numeric name quoted", "nodeName: x\n", []string{"nodeName"}, "!!str", "123", "nodeName: \"123\"\n"},
		{"flow mapping", "ports: {https: 1, quic: 2}\n", []string{"ports", "https"}, "!!int", "3", "ports: {https: 3, quic: 2}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.in), &doc); err != nil {
				t.Fatal(err)
			}
			if err := setScalar(&doc, tt.path, tt.tag, tt.value); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(&doc); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), tt.want)
			}
		})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("edgeHub: [a]\n"), &doc); err != nil {
		t.Fatal(err)
	}
	if err := setScalar(&doc, []string{"edgeHub", "server"}, "!!str", "a"); err == nil || !strings.Contains(err.Error(), "edgeHub is not a mapping") {
		t.Errorf("setScalar into a list = %v", err)
	}
}

// join reads the root's persistent --config, as edgecore's other
// subcommands do.
func TestJoinCommandUsesRootConfigFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edgecore.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: config.tether.io/v1alpha1\nkind: EdgeCore\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := &cobra.Command{Use: "edgecore", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().String("config", "", "")
	root.AddCommand(joinCommand())
	root.SetArgs([]string{"join", "--config", path, "--cloud", "cloud", "--token", testToken})
	root.SetOut(new(bytes.Buffer))
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("join --config %s = %v, want that file's error", path, err)
	}
}
