package tunnel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// testPKI is the TLS material of the transport tests: a CA, the server's
// config and a node's, and a client config whose certificate comes from
// another CA.
type testPKI struct {
	server  *tls.Config
	node    *tls.Config // CN system:node:edge-1
	foreign *tls.Config // a node certificate from another CA
	caDER   []byte      // the CA's certificate, for another process
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	ca, caKey := newTestCA(t, "tether test CA")
	other, otherKey := newTestCA(t, "someone else's CA")
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	serverCert := newTestLeaf(t, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "cloudcore"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	nodeTemplate := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:node:edge-1"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientConfig := func(cert tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS13}
	}
	return &testPKI{
		server: &tls.Config{
			Certificates: []tls.Certificate{serverCert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS13,
		},
		node:    clientConfig(newTestLeaf(t, ca, caKey, nodeTemplate)),
		foreign: clientConfig(newTestLeaf(t, other, otherKey, nodeTemplate)),
		caDER:   ca.Raw,
	}
}

func newTestKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newTestCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newTestKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// newTestLeaf signs tmpl (its subject, names and usages) with the CA.
func newTestLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) tls.Certificate {
	t.Helper()
	key := newTestKey(t)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	leaf := *tmpl
	leaf.SerialNumber = serial
	leaf.NotBefore = time.Now().Add(-time.Hour)
	leaf.NotAfter = time.Now().Add(24 * time.Hour)
	leaf.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, &leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
