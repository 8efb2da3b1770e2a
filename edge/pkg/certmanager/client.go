package certmanager

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tether-edge/tether/common/certs"
)

// Join server paths and limits.
const (
	caPath           = "/ca.crt"
	signPath         = "/v1/node-certificate"
	maxResponseBytes = 64 << 10
	maxErrorBody     = 512
)

// fetchCA downloads the CA without verifying the server (nothing is trusted
// yet) and accepts it only when its hash is pinned.
func (m *Manager) fetchCA(ctx context.Context, pinned string) (*x509.Certificate, error) {
	// Unverified on purpose: the token's hash decides what is accepted.
	insecure := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	body, err := m.do(ctx, insecure, http.MethodGet, caPath, "", nil)
	if err != nil {
		return nil, fmt.Errorf("fetch CA: %w", err)
	}
	ca, err := parseCA(body)
	if err != nil {
		return nil, fmt.Errorf("fetch CA from %s: %w", m.opts.Server, err)
	}
	if got := certs.Hash(ca.Raw); got != pinned {
		return nil, fmt.Errorf("CA served by %s has hash %s but the join token pins %s: refusing it (wrong server, or someone in between): %w",
			m.opts.Server, got, pinned, ErrCAMismatch)
	}
	return ca, nil
}

// requestCertificate posts csrPEM and returns the issued certificate's PEM.
// bearer, when not empty, is the Authorization header's value.
func (m *Manager) requestCertificate(ctx context.Context, cfg *tls.Config, bearer string, csrPEM []byte) ([]byte, error) {
	certPEM, err := m.do(ctx, cfg, http.MethodPost, signPath, bearer, csrPEM)
	if err != nil {
		return nil, fmt.Errorf("request certificate: %w", err)
	}
	return certPEM, nil
}

// tlsConfig trusts only ca; withCert presents the current certificate.
func (m *Manager) tlsConfig(ca *x509.Certificate, withCert bool) *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: m.server.Hostname()}
	if withCert {
		cfg.GetClientCertificate = m.clientCertificate
	}
	return cfg
}

// do sends one request on a fresh connection and returns the body of a 200
// answer; any other status is an error quoting the server's reason.
func (m *Manager) do(ctx context.Context, cfg *tls.Config, method, path, bearer string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, m.server.JoinPath(path).String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	transport := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		reason := strings.TrimSpace(string(data[:min(len(data), maxErrorBody)]))
		return nil, &ServerError{Method: method, Path: path, Status: resp.Status, Code: resp.StatusCode, Reason: reason}
	}
	return data, nil
}
