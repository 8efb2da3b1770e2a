package certmanager

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/joinserver"
	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/jointoken"
)

// oneShotTokens accepts one credential, once: any later use is refused, so
// a test can prove that rotation does not use the token.
type oneShotTokens struct {
	credential string

	// mu guards uses.
	mu   sync.Mutex
	uses int
}

func (o *oneShotTokens) Validate(_ context.Context, credential string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.uses++
	if credential != o.credential || o.uses > 1 {
		return pki.ErrTokenInvalid
	}
	return nil
}

func (o *oneShotTokens) Uses() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.uses
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cluster is a CA, a join token for it, and a join server on loopback.
type cluster struct {
	ca         *certs.CA
	serverCert tls.Certificate
	token      jointoken.Token
	tokens     *oneShotTokens
	validity   time.Duration
	server     *joinserver.Server
	stop       func()
	serverLogs *syncBuffer
}

func newCluster(t *testing.T, validity time.Duration) *cluster {
	t.Helper()
	ca, err := certs.NewCA("test-ca", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jointoken.Generate(ca.Hash())
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{ca: ca, serverCert: serverCert, token: tok, validity: validity,
		tokens: &oneShotTokens{credential: tok.Credential()}, serverLogs: &syncBuffer{}}
	c.start(t, "127.0.0.1:0")
	return c
}

// start runs a join server at addr until stop or the end of the test.
func (c *cluster) start(t *testing.T, addr string) {
	t.Helper()
	srv, err := joinserver.New(joinserver.Options{
		Address: addr, CA: c.ca, ServerCert: c.serverCert, Tokens: c.tokens,
		NodeCertValidity: c.validity, Logger: slog.New(slog.NewTextHandler(c.serverLogs, nil)),
	})
	if err != nil {
		t.Fatalf("joinserver.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	var once sync.Once
	c.server = srv
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("join server: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
}

func (c *cluster) url() string { return "https://" + c.server.Addr().String() }

// edgeOptions are options for node "edge-1" with files in a new directory
// (under a folder that does not exist yet).
func edgeOptions(t *testing.T, c *cluster, logs io.Writer) Options {
	dir := filepath.Join(t.TempDir(), "pki")
	return Options{
		Server: c.url(), NodeName: "edge-1", Token: c.token.String(),
		CAFile: filepath.Join(dir, "ca.crt"), CertFile: filepath.Join(dir, "node.crt"), KeyFile: filepath.Join(dir, "node.key"),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	}
}

func newManager(t *testing.T, o Options) *Manager {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func bootstrap(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestJoinFromNothing(t *testing.T) {
	c := newCluster(t, time.Hour)
	logs := &syncBuffer{}
	o := edgeOptions(t, c, logs)
	m := newManager(t, o)
	bootstrap(t, m)

	if node, err := certs.NodeName(m.Current().Leaf); err != nil || node != "edge-1" {
		t.Errorf("NodeName = %q, %v", node, err)
	}
	caPEM, err := os.ReadFile(o.CAFile)
	if err != nil || !bytes.Equal(caPEM, c.ca.CertPEM) {
		t.Errorf("CA file: %v, equal %v", err, bytes.Equal(caPEM, c.ca.CertPEM))
	}
	if mode := fileMode(t, o.KeyFile); mode != 0o600 {
		t.Errorf("key file mode %v, want 0600", mode)
	}
	if _, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile); err != nil {
		t.Errorf("certificate and key files: %v", err)
	}
	if c.tokens.Uses() != 1 {
		t.Errorf("token used %d times, want 1", c.tokens.Uses())
	}
	if strings.Contains(logs.String(), c.token.Secret) || strings.Contains(c.serverLogs.String(), c.token.Secret) {
		t.Error("a log contains the token's secret")
	}
	// ClientTLS trusts the CA and presents the node certificate.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: m.ClientTLS("127.0.0.1")}}
	resp, err := client.Get(c.url() + "/ca.crt")
	if err != nil {
		t.Fatalf("GET with ClientTLS: %v", err)
	}
	resp.Body.Close()
	if len(resp.TLS.PeerCertificates) == 0 || resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("connection state %+v", resp.TLS)
	}
}

func TestBootstrapReusesFiles(t *testing.T) {
	c := newCluster(t, time.Hour)
	o := edgeOptions(t, c, io.Discard)
	first := newManager(t, o)
	bootstrap(t, first)

	o.Token = ""
	second := newManager(t, o)
	bootstrap(t, second)
	if !bytes.Equal(second.Current().Certificate[0], first.Current().Certificate[0]) {
		t.Error("second Bootstrap did not reuse the certificate on disk")
	}
	if c.tokens.Uses() != 1 {
		t.Errorf("token validated %d times, want 1", c.tokens.Uses())
	}
}

func TestBootstrapNeedsTokenWithoutFiles(t *testing.T) {
	c := newCluster(t, time.Hour)
	o := edgeOptions(t, c, io.Discard)
	o.Token = ""
	err := newManager(t, o).Bootstrap(context.Background())
	if !errors.Is(err, ErrNoToken) {
		t.Fatalf("Bootstrap = %v, want ErrNoToken", err)
	}
}

func TestBootstrapRejectsOtherNodesFiles(t *testing.T) {
	c := newCluster(t, time.Hour)
	o := edgeOptions(t, c, io.Discard)
	bootstrap(t, newManager(t, o))

	// The same files do not make another node, nor this node once expired.
	other := o
	other.NodeName, other.Token = "edge-2", ""
	if err := newManager(t, other).Bootstrap(context.Background()); !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "not edge-2") {
		t.Errorf("edge-2 with edge-1's files: %v", err)
	}
	later := o
	later.Token, later.Clock = "", func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := newManager(t, later).Bootstrap(context.Background()); !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired files: %v", err)
	}
}

func TestCAHashMismatchRefused(t *testing.T) {
	c := newCluster(t, time.Hour)
	other, err := certs.NewCA("impostor", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	o := edgeOptions(t, c, io.Discard)
	wrong := c.token
	wrong.CAHash = other.Hash()
	o.Token = wrong.String()
	err = newManager(t, o).Bootstrap(context.Background())
	if !errors.Is(err, ErrCAMismatch) || !strings.Contains(err.Error(), "refusing it") || !strings.Contains(err.Error(), other.Hash()) {
		t.Fatalf("Bootstrap = %v, want a refusal naming the pinned hash", err)
	}
	for _, f := range []string{o.CAFile, o.KeyFile, o.CertFile} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written after the CA was refused (%v)", f, err)
		}
	}
	if c.tokens.Uses() != 0 {
		t.Errorf("token sent %d times to a server with the wrong CA", c.tokens.Uses())
	}
}

// runManager runs m.Run until the test ends or stop is called, and checks
// that Run returns nil.
func runManager(t *testing.T, m *Manager) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return 10s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond every 20ms and fails the test when it is still false
// after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("no %s within %v", what, timeout)
		case <-tick.C:
		}
	}
}

func TestRotationUsesCertificateNotToken(t *testing.T) {
	// A 6s certificate is rotated at 70% (jitter 0) of its lifetime, about
	// 4s after issue, well before it expires.
	c := newCluster(t, 6*time.Second)
	o := edgeOptions(t, c, io.Discard)
	o.Jitter = func() float64 { return 0 }
	m := newManager(t, o)
	bootstrap(t, m)
	first := m.Current()
	stop := runManager(t, m)

	waitFor(t, 15*time.Second, "rotation", func() bool { return m.Current() != first })
	stop()
	// The rotation was not early. (Nor late: the server accepted the old
	// certificate, so it had not expired.)
	nb, lifetime := first.Leaf.NotBefore, first.Leaf.NotAfter.Sub(first.Leaf.NotBefore)
	if since := time.Since(nb); since < lifetime*7/10 {
		t.Errorf("rotated %v after NotBefore, before 70%% of the %v lifetime", since, lifetime)
	}
	cur := m.Current()
	if cur.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 || !cur.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Errorf("new certificate serial %v notAfter %v; old %v %v", cur.Leaf.SerialNumber, cur.Leaf.NotAfter,
			first.Leaf.SerialNumber, first.Leaf.NotAfter)
	}
	if c.tokens.Uses() != 1 {
		t.Errorf("token validated %d times, want once (the join)", c.tokens.Uses())
	}
	if !strings.Contains(c.serverLogs.String(), "via=certificate certNode=edge-1") {
		t.Errorf("server did not log an issuance by certificate:\n%s", c.serverLogs.String())
	}
	// The files on disk are the new pair, the key still private.
	pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil || !bytes.Equal(pair.Certificate[0], cur.Certificate[0]) {
		t.Errorf("files do not hold the current certificate and its key (%v)", err)
	}
	if mode := fileMode(t, o.KeyFile); mode != 0o600 {
		t.Errorf("key file mode %v after rotation, want 0600", mode)
	}
	if _, err := os.Stat(o.KeyFile + ".next"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pending key left behind (%v)", err)
	}
}

func TestRotationRetriesUntilServerReturns(t *testing.T) {
	c := newCluster(t, time.Hour)
	logs := &syncBuffer{}
	o := edgeOptions(t, c, logs)
	// The edge clock runs 50 minutes ahead: the one-hour certificate is due
	// for rotation at once (at 70%, jitter 0). Back to real time before the server returns, so
	// that one rotation is due, not a stream of them.
	var offset atomic.Int64
	offset.Store(int64(50 * time.Minute))
	o.Clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	o.Jitter = func() float64 { return 0 }
	o.RetryInitial, o.RetryMax = 10*time.Millisecond, 40*time.Millisecond
	m := newManager(t, o)
	bootstrap(t, m)
	first := m.Current()
	addr := c.server.Addr().String()
	c.stop()

	runManager(t, m)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("edge log:\n%s", logs.String())
		}
	})
	waitFor(t, 15*time.Second, "three failed rotations", func() bool {
		return strings.Count(logs.String(), "certificate rotation failed") >= 3
	})
	if !strings.Contains(logs.String(), "retryIn=40ms") {
		t.Errorf("back-off did not reach RetryMax:\n%s", logs.String())
	}
	offset.Store(0)
	c.start(t, addr)
	waitFor(t, 15*time.Second, "rotation after the server came back", func() bool { return m.Current() != first })
}

func TestRunBeforeBootstrap(t *testing.T) {
	c := newCluster(t, time.Hour)
	m := newManager(t, edgeOptions(t, c, io.Discard))
	if err := m.Run(context.Background()); err == nil {
		t.Error("Run before Bootstrap succeeded")
	}
	if _, err := m.ClientTLS("x").GetClientCertificate(nil); err == nil {
		t.Error("ClientTLS presented a certificate before Bootstrap")
	}
}

func TestNewValidates(t *testing.T) {
	good := Options{Server: "https://hub:10002", NodeName: "edge-1", CAFile: "ca", CertFile: "c", KeyFile: "k",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	for name, mutate := range map[string]func(*Options){
		"no server":         func(o *Options) { o.Server = "" },
		"http server":       func(o *Options) { o.Server = "http://hub:10002" },
		"no node":           func(o *Options) { o.NodeName = "" },
		"bad node":          func(o *Options) { o.NodeName = "Edge_1" },
		"no key file":       func(o *Options) { o.KeyFile = "" },
		"no logger":         func(o *Options) { o.Logger = nil },
		"malformed token":   func(o *Options) { o.Token = "abc123.tooshort.ff" },
		"max under initial": func(o *Options) { o.RetryInitial, o.RetryMax = time.Minute, time.Second },
	} {
		o := good
		mutate(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
