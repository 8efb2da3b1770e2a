package joinserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/common/certs"
)

// Credentials the fake validator knows.
const (
	goodToken    = "abc123.0123456789abcdef"
	expiredToken = "exp123.0123456789abcdef"
	brokenToken  = "brk123.0123456789abcdef" // the store cannot be read
)

// fakeTokens is a TokenValidator over a fixed set of credentials.
type fakeTokens struct{}

func (fakeTokens) Validate(_ context.Context, credential string) error {
	switch credential {
	case goodToken:
		return nil
	case expiredToken:
		return fmt.Errorf("%w: token exp123 expired", pki.ErrTokenExpired)
	case brokenToken:
		return errors.New("apiserver unreachable")
	default:
		return pki.ErrTokenInvalid
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
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

type testServer struct {
	*Server
	ca   *certs.CA
	url  string
	logs *syncBuffer
}

func newCA(t *testing.T) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA("test-ca", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// startServer runs a join server on loopback until the test ends.
func startServer(t *testing.T, tokens TokenValidator, clock func() time.Time) *testServer {
	t.Helper()
	ca := newCA(t)
	serverCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := New(Options{
		Address: "127.0.0.1:0", CA: ca, ServerCert: serverCert, Tokens: tokens,
		NodeCertValidity: time.Hour, Logger: slog.New(slog.NewTextHandler(logs, nil)), Clock: clock,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := &testServer{Server: srv, ca: ca, url: "https://" + srv.Addr().String(), logs: logs}
	runModule(t, srv)
	return ts
}

// waitFor polls cond every 10ms and fails the test if it is not true within
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("no %s after %v", what, timeout)
		case <-tick.C:
		}
	}
}

// runModule starts srv and, at cleanup, stops it and waits for Start to return.
func runModule(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v", err)
		}
	})
}

// client trusts ca and presents cert when given.
func client(ca *certs.CA, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// nodeCSR makes a key and a CSR for node.
func nodeCSR(t *testing.T, node string) (keyPEM, csrPEM []byte) {
	t.Helper()
	keyPEM, key, err := certs.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err = certs.NewNodeCSR(node, key)
	if err != nil {
		t.Fatal(err)
	}
	return keyPEM, csrPEM
}

// post sends body to the signing endpoint and returns status and body.
func post(t *testing.T, c *http.Client, url, bearer string, body []byte) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/node-certificate", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// joinNode gets a certificate for node with the good token and returns it
// as a tls.Certificate.
func joinNode(t *testing.T, ts *testServer, node string) tls.Certificate {
	t.Helper()
	keyPEM, csrPEM := nodeCSR(t, node)
	code, body, err := post(t, client(ts.ca, nil), ts.url, "Bearer "+goodToken, csrPEM)
	if err != nil || code != http.StatusOK {
		t.Fatalf("join %s: %d %q %v", node, code, body, err)
	}
	pair, err := tls.X509KeyPair([]byte(body), keyPEM)
	if err != nil {
		t.Fatalf("key pair for %s: %v", node, err)
	}
	return pair
}

func TestServesCA(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	resp, err := client(ts.ca, nil).Get(ts.url + "/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, ts.ca.CertPEM) {
		t.Fatalf("GET /ca.crt = %d, %d bytes; want 200 and the CA", resp.StatusCode, len(body))
	}
	if resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS version %x, want 1.3", resp.TLS.Version)
	}
}

func TestTokenJoin(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	pair := joinNode(t, ts, "edge-1")
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if node, err := certs.NodeName(leaf); err != nil || node != "edge-1" {
		t.Errorf("NodeName = %q, %v", node, err)
	}
	opts := x509.VerifyOptions{Roots: ts.ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		t.Errorf("issued certificate does not verify: %v", err)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 59*time.Minute || d > 62*time.Minute {
		t.Errorf("validity %v, want about an hour", d)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "issued node certificate") || !strings.Contains(logs, "token=abc123") {
		t.Errorf("issuance not logged with the token id: %s", logs)
	}
	if strings.Contains(logs, "0123456789abcdef") {
		t.Errorf("logs contain the token secret: %s", logs)
	}
}

func TestTokenRefused(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	_, csrPEM := nodeCSR(t, "edge-1")
	cases := []struct {
		name, auth string
		status     int
		body       string
	}{
		{"no credentials", "", http.StatusUnauthorized, "no credentials"},
		{"unknown token", "Bearer zzz999.0123456789abcdef", http.StatusUnauthorized, "join token invalid"},
		{"malformed token", "Bearer not-a-token", http.StatusUnauthorized, "join token invalid"},
		{"expired token", "Bearer " + expiredToken, http.StatusUnauthorized, "join token expired"},
		{"other scheme", "Basic " + goodToken, http.StatusUnauthorized, "Bearer"},
		{"empty bearer", "Bearer ", http.StatusUnauthorized, "Bearer"},
		{"store down", "Bearer " + brokenToken, http.StatusServiceUnavailable, "retry later"},
	}
	c := client(ts.ca, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := post(t, c, ts.url, tc.auth, csrPEM)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("got %d %q, want %d with %q", code, body, tc.status, tc.body)
			}
			if strings.HasPrefix(body, "-----BEGIN CERTIFICATE") {
				t.Error("a certificate was issued")
			}
		})
	}
	logs := ts.logs.String()
	if n := strings.Count(logs, "refused node certificate"); n != len(cases) {
		t.Errorf("%d refusals logged, want %d:\n%s", n, len(cases), logs)
	}
	if strings.Contains(logs, "0123456789abcdef") {
		t.Errorf("logs contain a token secret:\n%s", logs)
	}
}

func TestCertificateRenewsOwnNodeOnly(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	pairA := joinNode(t, ts, "edge-a")
	c := client(ts.ca, &pairA)

	_, csrA := nodeCSR(t, "edge-a")
	code, body, err := post(t, c, ts.url, "", csrA)
	if err != nil || code != http.StatusOK {
		t.Fatalf("renew edge-a with its certificate: %d %q %v", code, body, err)
	}
	if !strings.Contains(ts.logs.String(), "via=certificate certNode=edge-a") {
		t.Errorf("renewal not logged as by certificate:\n%s", ts.logs.String())
	}

	_, csrB := nodeCSR(t, "edge-b")
	code, body, err = post(t, c, ts.url, "", csrB)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusForbidden || !strings.Contains(body, "edge-a may not request a certificate for node edge-b") {
		t.Errorf("edge-a asking for edge-b: %d %q, want 403", code, body)
	}
}

// issueClient signs a client certificate with any subject, bypassing
// SignNodeCSR's checks.
func issueClient(t *testing.T, ca *certs.CA, subject pkix.Name, notAfter time.Time) tls.Certificate {
	t.Helper()
	keyPEM, key, err := certs.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func TestNonNodeCertificateForbidden(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	_, csrPEM := nodeCSR(t, "edge-1")
	for _, subject := range []pkix.Name{
		{CommonName: "system:node:edge-1"}, // no system:nodes group
		{CommonName: "alice", Organization: []string{certs.NodesGroup}},
	} {
		pair := issueClient(t, ts.ca, subject, time.Now().Add(time.Hour))
		code, body, err := post(t, client(ts.ca, &pair), ts.url, "", csrPEM)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusForbidden || !strings.Contains(body, "does not identify a node") {
			t.Errorf("certificate %v: %d %q, want 403", subject, code, body)
		}
	}
}

func TestForeignCACertificateRefused(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	other := newCA(t)
	pair := issueClient(t, other, pkix.Name{CommonName: "system:node:edge-1", Organization: []string{certs.NodesGroup}}, time.Now().Add(time.Hour))
	_, csrPEM := nodeCSR(t, "edge-1")
	code, body, err := post(t, client(ts.ca, &pair), ts.url, "", csrPEM)
	if err == nil {
		t.Fatalf("a certificate from another CA got %d %q; want the handshake refused", code, body)
	}
	t.Logf("refused as wanted: %v", err)
}

func TestExpiredClientCertificateRefused(t *testing.T) {
	// The server's clock is two hours ahead: the node's one-hour certificate
	// has expired by its reckoning.
	ts := startServer(t, fakeTokens{}, func() time.Time { return time.Now().Add(2 * time.Hour) })
	pair := issueClient(t, ts.ca, pkix.Name{CommonName: "system:node:edge-1", Organization: []string{certs.NodesGroup}}, time.Now().Add(time.Hour))
	_, csrPEM := nodeCSR(t, "edge-1")
	if code, body, err := post(t, client(ts.ca, &pair), ts.url, "", csrPEM); err == nil {
		t.Fatalf("an expired certificate got %d %q; want the handshake refused", code, body)
	}
}

func TestMalformedCSR(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	_, key, err := certs.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:masters"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	wrongGroup := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	cases := []struct {
		name   string
		body   []byte
		status int
		want   string
	}{
		{"empty", nil, http.StatusBadRequest, "malformed CSR: no PEM block"},
		{"garbage", []byte("hello"), http.StatusBadRequest, "malformed CSR: no PEM block"},
		{"certificate instead", ts.ca.CertPEM, http.StatusBadRequest, "want CERTIFICATE REQUEST"},
		{"wrong group", wrongGroup, http.StatusBadRequest, "CSR refused: subject O"},
		{"too big", bytes.Repeat([]byte("a"), maxCSRBytes+1), http.StatusRequestEntityTooLarge, "over 65536 bytes"},
	}
	c := client(ts.ca, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := post(t, c, ts.url, "Bearer "+goodToken, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %q, want %d with %q", code, body, tc.status, tc.want)
			}
		})
	}
}

func TestMethodsAndPaths(t *testing.T) {
	ts := startServer(t, fakeTokens{}, nil)
	c := client(ts.ca, nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/node-certificate", http.StatusMethodNotAllowed},
		{http.MethodPost, "/ca.crt", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nothing", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, ts.url+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

func TestRestartServesAgain(t *testing.T) {
	ca := newCA(t)
	serverCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Address: "127.0.0.1:0", CA: ca, ServerCert: serverCert, Tokens: fakeTokens{},
		NodeCertValidity: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Start(ctx) }()
		// Start binds again after a restart; wait for the new address.
		waitFor(t, 5*time.Second, "the listener", func() bool { return srv.Addr() != nil })
		resp, err := client(ca, nil).Get("https://" + srv.Addr().String() + "/ca.crt")
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		resp.Body.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run %d: Start returned %v", i, err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ca := newCA(t)
	serverCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	good := Options{Address: "127.0.0.1:0", CA: ca, ServerCert: serverCert, Tokens: fakeTokens{},
		NodeCertValidity: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for name, mutate := range map[string]func(*Options){
		"no address":  func(o *Options) { o.Address = "" },
		"no CA":       func(o *Options) { o.CA = nil },
		"no cert":     func(o *Options) { o.ServerCert = tls.Certificate{} },
		"no tokens":   func(o *Options) { o.Tokens = nil },
		"no validity": func(o *Options) { o.NodeCertValidity = 0 },
		"no logger":   func(o *Options) { o.Logger = nil },
		"bad address": func(o *Options) { o.Address = "127.0.0.1:notaport" },
	} {
		o := good
		mutate(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
