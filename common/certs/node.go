package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// NodeCNPrefix starts the subject CN of every node certificate.
const NodeCNPrefix = "system:node:"

// NodesGroup is the subject O every node certificate carries.
const NodesGroup = "system:nodes"

// ErrNotANode is wrapped by NodeName's errors: the certificate does not
// name a node.
var ErrNotANode = errors.New("certificate does not identify a node")

// NodeName returns the node a verified client certificate names. Its CN
// must be NodeCNPrefix+<name> with <name> a DNS-1123 subdomain, and its O
// must contain NodesGroup; otherwise the error wraps ErrNotANode. NodeName
// does not verify the certificate's chain: the TLS handshake must have.
func NodeName(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", fmt.Errorf("%w: no certificate", ErrNotANode)
	}
	node, err := nodeFromSubject(cert.Subject, false)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotANode, err)
	}
	return node, nil
}

// CSRNodeName returns the node a certificate request asks for, checking its
// subject as SignNodeCSR does (CN NodeCNPrefix+<node> with <node> a DNS-1123
// subdomain, O exactly [NodesGroup]). It does not check the signature.
func CSRNodeName(csr *x509.CertificateRequest) (string, error) {
	if csr == nil {
		return "", errors.New("no certificate request")
	}
	return nodeFromSubject(csr.Subject, true)
}

// nodeFromSubject returns the node named by subject. exactOrg requires O to
// be exactly [NodesGroup] (what SignNodeCSR issues); otherwise O must only
// contain it.
func nodeFromSubject(subject pkix.Name, exactOrg bool) (string, error) {
	node, ok := strings.CutPrefix(subject.CommonName, NodeCNPrefix)
	if !ok {
		return "", fmt.Errorf("subject CN %q does not start with %q", subject.CommonName, NodeCNPrefix)
	}
	if err := ValidateNodeName(node); err != nil {
		return "", fmt.Errorf("subject CN %q: %w", subject.CommonName, err)
	}
	orgs := subject.Organization
	if exactOrg && !slices.Equal(orgs, []string{NodesGroup}) {
		return "", fmt.Errorf("subject O %q, want exactly [%q]", orgs, NodesGroup)
	}
	if !slices.Contains(orgs, NodesGroup) {
		return "", fmt.Errorf("subject O %q does not contain %q", orgs, NodesGroup)
	}
	return node, nil
}

// ValidateNodeName checks that node is a valid node name: a DNS-1123
// subdomain, as Kubernetes requires of Node objects.
func ValidateNodeName(node string) error {
	if errs := validation.IsDNS1123Subdomain(node); len(errs) > 0 {
		return fmt.Errorf("node name %q is invalid: %s", node, strings.Join(errs, "; "))
	}
	return nil
}

// NewNodeKey makes a new ECDSA P-256 key and returns it with its PKCS#8 PEM.
func NewNodeKey() (keyPEM []byte, key crypto.Signer, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate node key: %w", err)
	}
	keyPEM, err = encodeKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encode node key: %w", err)
	}
	return keyPEM, k, nil
}

// NewNodeCSR returns the PEM of a certificate request for node, signed by
// key, with the subject SignNodeCSR expects.
func NewNodeCSR(node string, key crypto.Signer) (csrPEM []byte, err error) {
	if err := ValidateNodeName(node); err != nil {
		return nil, fmt.Errorf("new CSR: %w", err)
	}
	tmpl := &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: NodeCNPrefix + node, Organization: []string{NodesGroup}},
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("new CSR for node %s: %w", node, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCSR, Bytes: der}), nil
}
