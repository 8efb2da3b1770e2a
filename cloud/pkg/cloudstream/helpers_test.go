package cloudstream_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"go.uber.org/goleak"

	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/certs/certstest"
	"github.com/tether-edge/tether/common/streamtunnel"
)

// keepalive is short so that lost tunnels are noticed within a test.
const keepalive = 250 * time.Millisecond

// pki is a test's certificates: the Tether CA (node and serving
// certificates) and the CA that signs kube-apiserver's kubelet client
// certificate.
type pki struct {
	tether, kubelet *certs.CA
	serving         tls.Certificate
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{tether: newCA(t, "tether-ca"), kubelet: newCA(t, "kubelet-client-ca")}
	var err error
	if p.serving, err = p.tether.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	return p
}

func newCA(t testing.TB, name string) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA(name, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issueLeaf signs a certificate for subject with the given usage.
func issueLeaf(t testing.TB, ca *certs.CA, subject pkix.Name, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	return certstest.Issue(t, ca, subject, usage)
}

// nodeCert is node's certificate from the Tether CA.
func (p *pki) nodeCert(t testing.TB, node string) tls.Certificate {
	t.Helper()
	return issueLeaf(t, p.tether, pkix.Name{CommonName: certs.NodeCNPrefix + node, Organization: []string{certs.NodesGroup}},
		x509.ExtKeyUsageClientAuth)
}

// apiserverCert is kube-apiserver's kubelet client certificate.
func (p *pki) apiserverCert(t testing.TB) tls.Certificate {
	t.Helper()
	return issueLeaf(t, p.kubelet, pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
		x509.ExtKeyUsageClientAuth)
}

// fakePods maps "namespace/name" to a node and counts lookups.
type fakePods struct {
	nodes   map[string]string
	lookups atomic.Int64
}

func (f *fakePods) NodeOf(_ context.Context, namespace, name string) (string, error) {
	f.lookups.Add(1)
	node, ok := f.nodes[namespace+"/"+name]
	if !ok {
		return "", fmt.Errorf("%s/%s: %w", namespace, name, cloudstream.ErrPodNotFound)
	}
	return node, nil
}

// cloud is a running module.
type cloud struct {
	*cloudstream.Module
	pki    *pki
	pods   *fakePods
	cancel context.CancelFunc
	done   chan error
}

func newModule(t testing.TB, p *pki, pods *fakePods, change ...func(*cloudstream.Options)) *cloudstream.Module {
	t.Helper()
	o := cloudstream.Options{
		StreamAddress:    "127.0.0.1:0",
		TunnelAddress:    "127.0.0.1:0",
		ServerCert:       p.serving,
		NodeCAs:          p.tether.Pool(),
		KubeletClientCAs: cloudstream.StaticCAs(p.kubelet.Pool()),
		Pods:             pods,
		KeepalivePeriod:  keepalive,
		Logger:           testLogger(t),
	}
	for _, c := range change {
		c(&o)
	}
	m, err := cloudstream.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// startCloud builds and starts a module, with options changed by change;
// cleanup stops it and checks that Start returned nil.
func startCloud(t testing.TB, pods map[string]string, change ...func(*cloudstream.Options)) *cloud {
	t.Helper()
	p := newPKI(t)
	c := &cloud{pki: p, pods: &fakePods{nodes: pods}}
	c.Module = newModule(t, p, c.pods, change...)
	c.start(t)
	t.Cleanup(func() { c.stop(t) })
	return c
}

func (c *cloud) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan error, 1)
	go func() { c.done <- c.Start(ctx) }()
}

// stop cancels Start and waits for it, failing the test if it errs or
// takes too long. Stopping twice is a no-op.
func (c *cloud) stop(t testing.TB) {
	t.Helper()
	if c.done == nil {
		return
	}
	c.cancel()
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Start did not return within 10s of its ctx ending")
	}
	c.done = nil
}

// client is kube-apiserver's side: an HTTPS client with cert (none when
// nil) trusting the Tether CA.
func (c *cloud) client(t testing.TB, cert *tls.Certificate) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: c.pki.tether.Pool(), ServerName: "127.0.0.1", GetClientCertificate: presenting(cert)}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func (c *cloud) apiserver(t testing.TB) *http.Client {
	t.Helper()
	cert := c.pki.apiserverCert(t)
	return c.client(t, &cert)
}

func (c *cloud) url(path string) string {
	return "https://" + c.StreamAddr().String() + path
}

// edge is a node's end of the tunnel, serving handler on its session.
type edge struct {
	node    string
	session *yamux.Session
	srv     *http.Server
	served  chan struct{}
}

// edgeTLS is node's tunnel client config.
func (c *cloud) edgeTLS(t testing.TB, node string) *tls.Config {
	t.Helper()
	cert := c.pki.nodeCert(t, node)
	return &tls.Config{GetClientCertificate: presenting(&cert), RootCAs: c.pki.tether.Pool(),
		ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
}

// presenting always presents cert (none when nil), even when its CA is not
// one the server asks for, as an attacker would.
func presenting(cert *tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
}

// connectEdge dials the tunnel (at addr, or the module's when empty) as
// node, serves handler on the session and waits until the module has the
// node's new session. Cleanup closes it.
func (c *cloud) connectEdge(t testing.TB, node, addr string, handler http.Handler) *edge {
	t.Helper()
	if addr == "" {
		addr = c.TunnelAddr().String()
	}
	before := c.Connected()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := streamtunnel.Dial(ctx, addr, streamtunnel.DialOptions{
		TLS: c.edgeTLS(t, node), KeepalivePeriod: keepalive, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatalf("edge %s: Dial: %v", node, err)
	}
	e := &edge{node: node, session: s, srv: &http.Server{Handler: handler}, served: make(chan struct{})}
	go func() {
		defer close(e.served)
		_ = e.srv.Serve(s)
	}()
	t.Cleanup(e.close)
	// The module registers the session after the edge's Dial returns. A
	// node connecting again is already listed: its caller waits for a
	// request to reach the new edge instead.
	if !slices.Contains(before, node) {
		waitFor(t, "the module has "+node+"'s session", func() bool { return slices.Contains(c.Connected(), node) })
	}
	return e
}

func (e *edge) close() {
	_ = e.srv.Close()
	_ = e.session.Close()
	<-e.served
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// whoAmI is an edge handler that answers its node's name and the request
// URI it got.
func whoAmI(node string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", node, r.Method, r.URL.RequestURI())
	})
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// checkNoLeaks fails the test, at cleanup, if goroutines started during it
// are still running 5s later. goleak.Find alone gives up after about 0.4s,
// too soon for goroutines a loaded -race run is still unwinding.
// Register it first, so that it runs after every other cleanup.
func checkNoLeaks(t testing.TB) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if err = goleak.Find(opt); err == nil {
				return
			}
		}
		t.Error(err)
	})
}
