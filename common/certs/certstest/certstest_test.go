package certstest_test

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/certs/certstest"
)

func TestIssue(t *testing.T) {
	ca, err := certs.NewCA("certstest-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "alice", Organization: []string{"dev", "ops"}}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth} {
		cert := certstest.Issue(t, ca, subject, usage)
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if !leaf.Equal(cert.Leaf) {
			t.Errorf("usage %v: Leaf is not the certificate's DER", usage)
		}
		if leaf.Subject.CommonName != subject.CommonName || !slices.Equal(leaf.Subject.Organization, subject.Organization) {
			t.Errorf("usage %v: subject %s, want %s", usage, leaf.Subject, subject)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %v: does not verify against the CA: %v", usage, err)
		}
		other := x509.ExtKeyUsageServerAuth
		if usage == other {
			other = x509.ExtKeyUsageClientAuth
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{other}}); err == nil {
			t.Errorf("usage %v: verifies for %v too", usage, other)
		}
		pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		if signer, isSigner := cert.PrivateKey.(crypto.Signer); !ok || !isSigner || !pub.Equal(signer.Public()) {
			t.Errorf("usage %v: private key %T does not match the certificate's public key", usage, cert.PrivateKey)
		}
	}
}
