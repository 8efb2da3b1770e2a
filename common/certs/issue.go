package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// minRSABits is the smallest RSA key SignNodeCSR accepts.
const minRSABits = 2048

// IssueServer returns a serving certificate (ExtKeyUsageServerAuth) with a
// new ECDSA P-256 key for hosts: each is an IP literal (put in IPAddresses)
// or a DNS name, possibly a wildcard (put in DNSNames). The subject CN is
// hosts[0]. The certificate's Leaf is set. Its NotAfter is now+validity, or
// the CA's NotAfter if that is sooner.
func (ca *CA) IssueServer(hosts []string, validity time.Duration, now time.Time) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("issue server certificate: no hosts")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 && len(validation.IsWildcardDNS1123Subdomain(h)) > 0 {
			return tls.Certificate{}, fmt.Errorf("issue server certificate: host %q is neither an IP address nor a DNS name: %s", h, strings.Join(errs, "; "))
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: generate key: %w", err)
	}
	leaf, err := ca.sign(tmpl, key.Public(), validity, now)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate for %v: %w", hosts, err)
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// SignNodeCSR verifies csr's signature, its public key (ECDSA, Ed25519, or
// RSA of at least 2048 bits) and its subject (CN NodeCNPrefix+<node> with
// <node> a DNS-1123 subdomain, O exactly [NodesGroup]), and returns the PEM
// of a client certificate (ExtKeyUsageClientAuth) for that subject and key.
// Any other subject fields, SANs and extensions in the request are ignored.
// NotAfter is now+validity, or the CA's NotAfter if that is sooner.
func (ca *CA) SignNodeCSR(csr *x509.CertificateRequest, validity time.Duration, now time.Time) ([]byte, error) {
	if csr == nil {
		return nil, errors.New("sign node CSR: no request")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("sign node CSR: bad signature: %w", err)
	}
	node, err := CSRNodeName(csr)
	if err != nil {
		return nil, fmt.Errorf("sign node CSR: %w", err)
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("sign CSR for node %s: %w", node, err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: NodeCNPrefix + node, Organization: []string{NodesGroup}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, err := ca.sign(tmpl, csr.PublicKey, validity, now)
	if err != nil {
		return nil, fmt.Errorf("sign CSR for node %s: %w", node, err)
	}
	return encodeCert(cert.Raw), nil
}

// sign fills tmpl's serial and validity, signs it for pub and parses the
// result.
func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey, validity time.Duration, now time.Time) (*x509.Certificate, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("validity %v must be positive", validity)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate(validity))
	tmpl.NotAfter = now.Add(validity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	if !tmpl.NotAfter.After(now) {
		return nil, fmt.Errorf("CA %q expired at %s", ca.Cert.Subject.CommonName, ca.Cert.NotAfter.Format(time.RFC3339))
	}
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse issued certificate: %w", err)
	}
	return cert, nil
}

// checkPublicKey refuses key types and sizes too weak to identify a node.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P224() {
			return errors.New("ECDSA curve P-224 is too weak")
		}
		return nil
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is too short (want at least %d)", k.N.BitLen(), minRSABits)
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
}
