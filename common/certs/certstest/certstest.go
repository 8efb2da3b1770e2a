package certstest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/certs"
)

// Issue signs, with ca, a certificate for subject that is good for usage
// alone, on a new key from certs.NewNodeKey. The result has its Leaf set.
func Issue(t testing.TB, ca *certs.CA, subject pkix.Name, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	_, key, err := certs.NewNodeKey()
	if err != nil {
		t.Fatalf("certstest: new key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatalf("certstest: serial: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatalf("certstest: sign %s: %v", subject, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("certstest: parse %s: %v", subject, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
