// Package tunneltest runs cloudhub and edgehub in the test process over real
// TLS on loopback, for the tunnel's integration tests and benchmarks. Each
// side has a real beehive bus; the cloud side has a "source" module that
// feeds desired sets and collects what edges send up, the edge side a
// "probe" module that answers the cloud's requests and records the hub's
// notifications.
package tunneltest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
)

// PKI is a CA and the hub's serving certificate for 127.0.0.1.
type PKI struct {
	CA      *certs.CA
	Serving tls.Certificate
}

// NewPKI makes a fresh CA and serving certificate.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	ca, err := certs.NewCA("tether-test-ca", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.IssueServer([]string{"127.0.0.1", "localhost"}, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{CA: ca, Serving: serving}
}

// NodeCert issues a client certificate for node, as the join server would.
func (p *PKI) NodeCert(t testing.TB, node string) tls.Certificate {
	t.Helper()
	cert, err := NodeCert(p.CA, node)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// NodeCert issues a client certificate for node signed by ca.
func NodeCert(ca *certs.CA, node string) (tls.Certificate, error) {
	keyPEM, key, err := certs.NewNodeKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	csrPEM, err := certs.NewNodeCSR(node, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	csr, err := certs.ParseCSR(csrPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM, err := ca.SignNodeCSR(csr, time.Hour, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// StaticCerts is an edgehub.Certs with a fixed certificate.
type StaticCerts struct {
	Cert  tls.Certificate
	Roots *x509.CertPool
}

// Bootstrap implements edgehub.Certs: the certificate is already there.
func (s StaticCerts) Bootstrap(context.Context) error { return nil }

// ClientTLS implements edgehub.Certs.
func (s StaticCerts) ClientTLS(serverName string) *tls.Config {
	cert := s.Cert
	return &tls.Config{
		RootCAs:      s.Roots,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
	}
}

// Run implements edgehub.Certs: nothing rotates.
func (s StaticCerts) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Logger returns a logger for a test: quiet unless TETHER_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("TETHER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Run starts bus in a goroutine and returns a stop that cancels and joins it.
func Run(t testing.TB, bus *beehive.Bus) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("bus stopped with: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Object returns the JSON of a small object with a uid and padding of size bytes.
func Object(uid string, size int) []byte {
	pad := make([]byte, size)
	for i := range pad {
		pad[i] = 'x'
	}
	return fmt.Appendf(nil, `{"metadata":{"uid":%q},"data":{"pad":%q}}`, uid, pad)
}

// Key names a test configmap.
func Key(name string) message.Resource {
	return message.Resource{Namespace: "default", Type: "configmap", Name: name}
}

var _ edgehub.Certs = StaticCerts{}

// NonNodeCert issues a client certificate signed by the CA whose subject is
// not a node's (CN "admin").
func (p *PKI) NonNodeCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA.Cert, &key.PublicKey, p.CA.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
