package certmanager

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/jointoken"
)

// File modes.
const (
	publicMode  = 0o644
	privateMode = 0o600
	dirMode     = 0o755
)

// Bootstrap gives the node its identity: the files on disk when they are
// valid, else a join with the token (see the package doc). It returns an
// error wrapping ErrNoToken when a join is needed and there is no token.
func (m *Manager) Bootstrap(ctx context.Context) error {
	ca, cert, err := m.loadFiles()
	if err == nil {
		m.setIdentity(ca, cert)
		m.opts.Logger.Info("using existing node certificate", "node", m.opts.NodeName,
			"serial", cert.Leaf.SerialNumber.String(), "notAfter", cert.Leaf.NotAfter)
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		m.opts.Logger.Info("no node certificate yet: joining", "reason", err)
	} else {
		m.opts.Logger.Warn("existing node certificate unusable: joining again", "reason", err)
	}
	if m.joinToken() == "" {
		return fmt.Errorf("%w (%v)", ErrNoToken, err)
	}
	return m.join(ctx)
}

// loadFiles reads and checks the CA, certificate and key on disk. A key
// left pending by an interrupted rotation is adopted when it is the one
// that matches the certificate.
func (m *Manager) loadFiles() (*x509.Certificate, *tls.Certificate, error) {
	certPEM, err := os.ReadFile(m.opts.CertFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	caPEM, err := os.ReadFile(m.opts.CAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read CA: %w", err)
	}
	ca, err := parseCA(caPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("CA file %s: %w", m.opts.CAFile, err)
	}
	keyPEM, err := os.ReadFile(m.opts.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read key: %w", err)
	}
	cert, err := m.checkPair(ca, certPEM, keyPEM)
	if err == nil {
		return ca, cert, nil
	}
	cert, pendingErr := m.adoptPendingKey(ca, certPEM)
	if pendingErr != nil {
		return nil, nil, fmt.Errorf("certificate %s: %w", m.opts.CertFile, err)
	}
	return ca, cert, nil
}

// adoptPendingKey finishes a rotation interrupted between writing the new
// certificate and the new key.
func (m *Manager) adoptPendingKey(ca *x509.Certificate, certPEM []byte) (*tls.Certificate, error) {
	keyPEM, err := os.ReadFile(m.pendingKeyFile())
	if err != nil {
		return nil, err
	}
	cert, err := m.checkPair(ca, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if err := writeFile(m.opts.KeyFile, keyPEM, privateMode); err != nil {
		return nil, err
	}
	os.Remove(m.pendingKeyFile())
	m.opts.Logger.Info("completed an interrupted certificate rotation", "keyFile", m.opts.KeyFile)
	return cert, nil
}

// checkPair checks that certPEM and keyPEM belong together, that the
// certificate is a client certificate signed by ca, valid now, for this node.
func (m *Manager) checkPair(ca *x509.Certificate, certPEM, keyPEM []byte) (*tls.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate and key: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		pair.Leaf = leaf
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: m.opts.Clock(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return nil, fmt.Errorf("certificate does not verify against the CA (%s): %w", certs.Hash(ca.Raw), err)
	}
	node, err := certs.NodeName(leaf)
	if err != nil {
		return nil, err
	}
	if node != m.opts.NodeName {
		return nil, fmt.Errorf("certificate is for node %s, not %s", node, m.opts.NodeName)
	}
	return &pair, nil
}

// join gets the CA pinned by the token, then a certificate for a new key.
func (m *Manager) join(ctx context.Context) error {
	tok, err := jointoken.Parse(m.joinToken())
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	ca, err := m.fetchCA(ctx, tok.CAHash)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if err := writeFile(m.opts.CAFile, certs.EncodeCertPEM(ca.Raw), publicMode); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	keyPEM, csrPEM, err := m.newKeyAndCSR(m.opts.KeyFile)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	certPEM, err := m.requestCertificate(ctx, m.tlsConfig(ca, false), "Bearer "+tok.Credential(), csrPEM)
	if err != nil {
		return fmt.Errorf("join with token %s: %w", tok.ID, err)
	}
	cert, err := m.checkPair(ca, certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("join: issued certificate: %w", err)
	}
	if err := writeFile(m.opts.CertFile, certPEM, publicMode); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	m.setIdentity(ca, cert)
	m.opts.Logger.Info("joined the cluster", "node", m.opts.NodeName, "token", tok.ID, "caHash", tok.CAHash,
		"serial", cert.Leaf.SerialNumber.String(), "notAfter", cert.Leaf.NotAfter)
	return nil
}

// newKeyAndCSR makes a key, writes it to keyFile (0600) before anything is
// sent, and returns it with a CSR for the node.
func (m *Manager) newKeyAndCSR(keyFile string) (keyPEM, csrPEM []byte, err error) {
	keyPEM, key, err := certs.NewNodeKey()
	if err != nil {
		return nil, nil, err
	}
	if err := writeFile(keyFile, keyPEM, privateMode); err != nil {
		return nil, nil, err
	}
	csrPEM, err = certs.NewNodeCSR(m.opts.NodeName, key)
	if err != nil {
		return nil, nil, err
	}
	return keyPEM, csrPEM, nil
}

func (m *Manager) pendingKeyFile() string { return m.opts.KeyFile + ".next" }

// parseCA parses a CA certificate.
func parseCA(caPEM []byte) (*x509.Certificate, error) {
	ca, err := certs.ParseCertPEM(caPEM)
	if err != nil {
		return nil, err
	}
	if !ca.BasicConstraintsValid || !ca.IsCA {
		return nil, fmt.Errorf("certificate %q is not a CA", ca.Subject.CommonName)
	}
	return ca, nil
}

// writeFile creates path's directory if needed and writes data atomically.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	return certs.WriteFileAtomic(path, data, mode)
}
