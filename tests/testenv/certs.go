package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a throw-away certificate authority for one test cluster. It signs
// kube-apiserver's serving certificate, and kube-apiserver trusts client
// certificates it signs (--client-ca-file), as does kube-controller-manager's
// CSR signer (--cluster-signing-*).
type CA struct {
	// CertFile and KeyFile are PEM files of the CA certificate and its
	// ECDSA P-256 key.
	CertFile, KeyFile string
	cert              *x509.Certificate
	key               *ecdsa.PrivateKey
	dir               string
}

// NewCA makes a CA valid for a day and writes it to dir, where it also
// writes the certificates it issues.
func NewCA(t T, dir string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "tether-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("create CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse CA certificate: %v", err)
	}
	ca := &CA{cert: cert, key: key, dir: dir}
	ca.CertFile, ca.KeyFile = writePair(t, dir, "ca", der, key)
	return ca
}

// IssueServing issues a serving certificate for the given DNS names and IP
// addresses and returns the paths of its PEM certificate and key.
func (ca *CA) IssueServing(t T, name string, hosts []string) (certFile, keyFile string) {
	t.Helper()
	tmpl := ca.template(t, pkix.Name{CommonName: name}, x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(t, name, tmpl)
}

// IssueClient issues a client certificate with the given common name (the
// user for kube-apiserver) and organizations (its groups) and returns the
// paths of its PEM certificate and key.
func (ca *CA) IssueClient(t T, commonName string, orgs ...string) (certFile, keyFile string) {
	t.Helper()
	tmpl := ca.template(t, pkix.Name{CommonName: commonName, Organization: orgs}, x509.ExtKeyUsageClientAuth)
	return ca.issue(t, "client-"+sanitize(commonName), tmpl)
}

func (ca *CA) template(t T, subject pkix.Name, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

func (ca *CA) issue(t T, name string, tmpl *x509.Certificate) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatalf("issue certificate %s: %v", name, err)
	}
	// The serial keeps file names unique when one CA serves several clusters.
	return writePair(t, ca.dir, fmt.Sprintf("%s-%x", name, tmpl.SerialNumber), der, key)
}

func newKey(t T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return key
}

func serial(t T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("random serial: %v", err)
	}
	return n
}

// writeKey writes key as a PEM "EC PRIVATE KEY" file, which kube-apiserver
// and kube-controller-manager accept for service-account keys too.
func writeKey(t T, path string, key *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	writePEM(t, path, "EC PRIVATE KEY", der)
}

func writePair(t T, dir, name string, certDER []byte, key *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", certDER)
	writeKey(t, keyFile, key)
	return certFile, keyFile
}

func writePEM(t T, path, kind string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// sanitize maps a name to something usable in a file name.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
