package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("tether-test-ca", 24*time.Hour, testNow)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func TestCARoundTrip(t *testing.T) {
	ca := newTestCA(t)
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 || !ca.Cert.MaxPathLenZero {
		t.Errorf("CA certificate: IsCA=%v KeyUsage=%v MaxPathLenZero=%v", ca.Cert.IsCA, ca.Cert.KeyUsage, ca.Cert.MaxPathLenZero)
	}
	if got, want := ca.Cert.NotBefore, testNow.Add(-time.Minute); !got.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", got, want)
	}
	if _, ok := ca.Key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("key is %T, want ECDSA", ca.Key)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatalf("KeyPEM: %v", err)
	}
	back, err := ParseCA(ca.CertPEM, keyPEM)
	if err != nil {
		t.Fatalf("ParseCA: %v", err)
	}
	if !bytes.Equal(back.Cert.Raw, ca.Cert.Raw) || back.Hash() != ca.Hash() {
		t.Errorf("round trip changed the certificate")
	}
	if !strings.HasPrefix(ca.Hash(), "sha256:") || len(ca.Hash()) != len("sha256:")+64 {
		t.Errorf("Hash = %q", ca.Hash())
	}
	// The parsed CA signs certificates the original's pool verifies.
	srv, err := back.IssueServer([]string{"hub.example"}, time.Hour, testNow)
	if err != nil {
		t.Fatalf("IssueServer: %v", err)
	}
	if _, err := srv.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "hub.example", CurrentTime: testNow}); err != nil {
		t.Errorf("verify against the original CA: %v", err)
	}
}

func TestNewCARejects(t *testing.T) {
	if _, err := NewCA("", time.Hour, testNow); err == nil {
		t.Error("empty common name accepted")
	}
	if _, err := NewCA("x", 0, testNow); err == nil {
		t.Error("zero validity accepted")
	}
}

func TestParseCARejects(t *testing.T) {
	ca := newTestCA(t)
	caKey, _ := ca.KeyPEM()
	other := newTestCA(t)
	otherKey, _ := other.KeyPEM()
	srv, err := ca.IssueServer([]string{"hub.example"}, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := encodeKey(srv.PrivateKey.(crypto.Signer))
	cases := []struct {
		name        string
		cert, key   []byte
		errContains string
	}{
		{"key of another CA", ca.CertPEM, otherKey, "does not match"},
		{"leaf certificate", encodeCert(srv.Leaf.Raw), leafKey, "not a CA"},
		{"garbage certificate", []byte("hello"), caKey, "no PEM block"},
		{"key given as certificate", caKey, caKey, "want CERTIFICATE"},
		{"certificate given as key", ca.CertPEM, ca.CertPEM, "want a private key"},
		{"empty key", ca.CertPEM, nil, "no PEM block"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCA(c.cert, c.key)
			if err == nil || !strings.Contains(err.Error(), c.errContains) {
				t.Errorf("ParseCA error = %v, want one containing %q", err, c.errContains)
			}
		})
	}
}

func TestIssueServerVerifiesForIPAndDNS(t *testing.T) {
	ca := newTestCA(t)
	hosts := []string{"10.0.0.5", "::1", "hub.tether.example", "*.hub.example"}
	cert, err := ca.IssueServer(hosts, time.Hour, testNow)
	if err != nil {
		t.Fatalf("IssueServer: %v", err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		t.Fatal("Leaf not set")
	}
	if len(leaf.IPAddresses) != 2 || len(leaf.DNSNames) != 2 {
		t.Errorf("IPs %v, DNS names %v", leaf.IPAddresses, leaf.DNSNames)
	}
	for _, name := range []string{"10.0.0.5", "::1", "hub.tether.example", "a.hub.example"} {
		opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: name, CurrentTime: testNow,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: "other.example", CurrentTime: testNow}
	if _, err := leaf.Verify(opts); err == nil {
		t.Error("certificate verified for a host it does not name")
	}
	if _, err := ca.IssueServer([]string{"not a host"}, time.Hour, testNow); err == nil {
		t.Error("invalid host accepted")
	}
	if _, err := ca.IssueServer(nil, time.Hour, testNow); err == nil {
		t.Error("no hosts accepted")
	}
}

func TestIssueCappedAtCAExpiry(t *testing.T) {
	ca := newTestCA(t)
	cert, err := ca.IssueServer([]string{"hub.example"}, 365*24*time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Leaf.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter %v, want the CA's %v", cert.Leaf.NotAfter, ca.Cert.NotAfter)
	}
	if _, err := ca.IssueServer([]string{"hub.example"}, time.Hour, testNow.Add(48*time.Hour)); err == nil {
		t.Error("an expired CA issued a certificate")
	}
}

func TestSignNodeCSR(t *testing.T) {
	ca := newTestCA(t)
	_, key, err := NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err := NewNodeCSR("edge-1.site-a", key)
	if err != nil {
		t.Fatalf("NewNodeCSR: %v", err)
	}
	csr, err := ParseCSR(csrPEM)
	if err != nil {
		t.Fatalf("ParseCSR: %v", err)
	}
	certPEM, err := ca.SignNodeCSR(csr, time.Hour, testNow)
	if err != nil {
		t.Fatalf("SignNodeCSR: %v", err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		t.Fatalf("ParseCertPEM: %v", err)
	}
	if cert.Subject.CommonName != "system:node:edge-1.site-a" || len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != "system:nodes" {
		t.Errorf("subject %v", cert.Subject)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Error("certificate is not for the CSR's key")
	}
	opts := x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := cert.Verify(opts); err != nil {
		t.Errorf("verify as client certificate: %v", err)
	}
	if got, want := cert.NotAfter, testNow.Add(time.Hour); !got.Equal(want) {
		t.Errorf("NotAfter %v, want %v", got, want)
	}
	if cert.SerialNumber.BitLen() < 100 {
		t.Errorf("serial %v looks too small to be 128 random bits", cert.SerialNumber)
	}
	if node, err := NodeName(cert); err != nil || node != "edge-1.site-a" {
		t.Errorf("NodeName = %q, %v", node, err)
	}
}

// csrWith makes a CSR with any subject, bypassing NewNodeCSR's checks.
func csrWith(t *testing.T, subject pkix.Name, key crypto.Signer) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func TestSignNodeCSRRejects(t *testing.T) {
	ca := newTestCA(t)
	_, key, _ := NewNodeKey()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	node := func(cn string, o ...string) pkix.Name { return pkix.Name{CommonName: cn, Organization: o} }
	badSig := csrWith(t, node("system:node:edge-1", NodesGroup), key)
	badSig.Signature = bytes.Clone(badSig.Signature)
	badSig.Signature[len(badSig.Signature)-3] ^= 0xff
	cases := []struct {
		name        string
		csr         *x509.CertificateRequest
		errContains string
	}{
		{"nil", nil, "no request"},
		{"CN without prefix", csrWith(t, node("edge-1", NodesGroup), key), "does not start with"},
		{"CN of a user", csrWith(t, node("system:admin", NodesGroup), key), "does not start with"},
		{"empty node name", csrWith(t, node("system:node:", NodesGroup), key), "invalid"},
		{"upper-case node name", csrWith(t, node("system:node:Edge-1", NodesGroup), key), "invalid"},
		{"node name with slash", csrWith(t, node("system:node:a/b", NodesGroup), key), "invalid"},
		{"no O", csrWith(t, node("system:node:edge-1"), key), "want exactly"},
		{"wrong O", csrWith(t, node("system:node:edge-1", "system:masters"), key), "want exactly"},
		{"extra O", csrWith(t, node("system:node:edge-1", NodesGroup, "system:masters"), key), "want exactly"},
		{"bad signature", badSig, "bad signature"},
		{"weak RSA key", csrWith(t, node("system:node:edge-1", NodesGroup), weak), "too short"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			certPEM, err := ca.SignNodeCSR(c.csr, time.Hour, testNow)
			if err == nil || !strings.Contains(err.Error(), c.errContains) {
				t.Errorf("SignNodeCSR = %d bytes, error %v; want an error containing %q", len(certPEM), err, c.errContains)
			}
		})
	}
}

func TestNodeNameRejectsNonNodes(t *testing.T) {
	ca := newTestCA(t)
	srv, err := ca.IssueServer([]string{"hub.example"}, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := NewNodeKey()
	leaf := func(subject pkix.Name) *x509.Certificate {
		tmpl := &x509.Certificate{Subject: subject, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		cert, err := ca.sign(tmpl, key.Public(), time.Hour, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	cases := []struct {
		name string
		cert *x509.Certificate
	}{
		{"nil", nil},
		{"CA", ca.Cert},
		{"server", srv.Leaf},
		{"node CN without group", leaf(pkix.Name{CommonName: "system:node:edge-1"})},
		{"node CN in another group", leaf(pkix.Name{CommonName: "system:node:edge-1", Organization: []string{"system:masters"}})},
		{"user in the nodes group", leaf(pkix.Name{CommonName: "alice", Organization: []string{NodesGroup}})},
		{"invalid node name", leaf(pkix.Name{CommonName: "system:node:EDGE_1", Organization: []string{NodesGroup}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			node, err := NodeName(c.cert)
			if !errors.Is(err, ErrNotANode) {
				t.Errorf("NodeName = %q, %v; want an error wrapping ErrNotANode", node, err)
			}
		})
	}
	extra := leaf(pkix.Name{CommonName: "system:node:edge-2", Organization: []string{"ops", NodesGroup}})
	if node, err := NodeName(extra); err != nil || node != "edge-2" {
		t.Errorf("NodeName with an extra group = %q, %v; want edge-2", node, err)
	}
}

func TestNewNodeKey(t *testing.T) {
	keyPEM, key, err := NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(keyPEM, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("key PEM is not PKCS#8: %.40q", keyPEM)
	}
	parsed, err := ParseKeyPEM(keyPEM)
	if err != nil {
		t.Fatalf("ParseKeyPEM: %v", err)
	}
	ec, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() || !ec.Equal(key) {
		t.Errorf("parsed key %T does not equal the generated P-256 key", parsed)
	}
	if _, err := NewNodeCSR("Not_Valid", key); err == nil {
		t.Error("NewNodeCSR accepted an invalid node name")
	}
}

func TestParsePEMErrors(t *testing.T) {
	ca := newTestCA(t)
	if _, err := ParseCSR(ca.CertPEM); err == nil || !strings.Contains(err.Error(), "want CERTIFICATE REQUEST") {
		t.Errorf("ParseCSR of a certificate: %v", err)
	}
	if _, err := ParseCSR([]byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")); err == nil {
		t.Error("ParseCSR accepted a truncated request")
	}
	if _, err := ParseCertPEM(nil); err == nil {
		t.Error("ParseCertPEM accepted nothing")
	}
}

func TestBackdate(t *testing.T) {
	ca := newTestCA(t)
	_, key, _ := NewNodeKey()
	csrPEM, _ := NewNodeCSR("edge-1", key)
	csr, _ := ParseCSR(csrPEM)
	for _, c := range []struct{ validity, back time.Duration }{
		{365 * 24 * time.Hour, time.Minute},
		{10 * time.Minute, time.Minute},
		{3 * time.Second, 300 * time.Millisecond},
	} {
		certPEM, err := ca.SignNodeCSR(csr, c.validity, testNow)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := ParseCertPEM(certPEM)
		// x509 times have one-second resolution.
		want := testNow.Add(-c.back).Truncate(time.Second)
		if !cert.NotBefore.Equal(want) {
			t.Errorf("validity %v: NotBefore %v, want %v", c.validity, cert.NotBefore, want)
		}
	}
}
