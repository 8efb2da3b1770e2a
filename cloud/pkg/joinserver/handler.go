package joinserver

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/jointoken"
)

// maxCSRBytes limits a signing request's body.
const maxCSRBytes = 64 << 10

const pemContentType = "application/x-pem-file"

// caller is who sent a signing request: a token holder or a node.
type caller struct {
	// tokenID is set when the request was authenticated by a join token.
	tokenID string
	// certNode is set when it was authenticated by a node certificate.
	certNode string
}

// logAttrs describes the caller for logs; never the token's secret.
func (c caller) logAttrs() []any {
	switch {
	case c.certNode != "":
		return []any{"via", "certificate", "certNode", c.certNode}
	case c.tokenID != "":
		return []any{"via", "token", "token", c.tokenID}
	default:
		return []any{"via", "none"}
	}
}

// refusal is a request refused: the status, what the client is told, and
// what is logged.
type refusal struct {
	status int
	public string
	detail string
}

func refuse(status int, public, detail string) *refusal {
	return &refusal{status: status, public: public, detail: detail}
}

func (s *Server) serveCA(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", pemContentType)
	if _, err := w.Write(s.opts.CA.CertPEM); err != nil {
		s.opts.Logger.Debug("write /ca.crt", "err", err)
	}
}

func (s *Server) serveNodeCertificate(w http.ResponseWriter, r *http.Request) {
	who, ref := s.authenticate(r)
	if ref != nil {
		s.writeRefusal(w, r, who, "", ref)
		return
	}
	csr, node, ref := readCSR(w, r)
	if ref != nil {
		s.writeRefusal(w, r, who, node, ref)
		return
	}
	if who.certNode != "" && who.certNode != node {
		msg := fmt.Sprintf("the certificate of node %s may not request a certificate for node %s", who.certNode, node)
		s.writeRefusal(w, r, who, node, refuse(http.StatusForbidden, msg, msg))
		return
	}
	certPEM, err := s.opts.CA.SignNodeCSR(csr, s.opts.NodeCertValidity, s.opts.Clock())
	if err != nil {
		s.writeRefusal(w, r, who, node, refuse(http.StatusBadRequest, err.Error(), err.Error()))
		return
	}
	s.logIssued(r, who, node, certPEM)
	w.Header().Set("Content-Type", pemContentType)
	if _, err := w.Write(certPEM); err != nil {
		s.opts.Logger.Warn("write issued certificate", "node", node, "err", err)
	}
}

// authenticate finds who is asking: a bearer token when the Authorization
// header is present, else a verified node client certificate.
func (s *Server) authenticate(r *http.Request) (caller, *refusal) {
	if header := r.Header.Get("Authorization"); header != "" {
		return s.authenticateToken(r, header)
	}
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return caller{}, refuse(http.StatusUnauthorized,
			"no credentials: present a join token (Authorization: Bearer <id>.<secret>) or a node client certificate",
			"no token and no client certificate")
	}
	leaf := r.TLS.VerifiedChains[0][0]
	node, err := certs.NodeName(leaf)
	if err != nil {
		return caller{}, refuse(http.StatusForbidden, err.Error(),
			fmt.Sprintf("client certificate %q (serial %s): %v", leaf.Subject.CommonName, leaf.SerialNumber, err))
	}
	return caller{certNode: node}, nil
}

// authenticateToken checks a bearer join token.
func (s *Server) authenticateToken(r *http.Request, header string) (caller, *refusal) {
	scheme, credential, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(credential) == "" {
		return caller{}, refuse(http.StatusUnauthorized, "Authorization must be: Bearer <id>.<secret>", "malformed Authorization header")
	}
	// The id is public and names the token in logs; a malformed credential
	// has none we can trust to print.
	id, _, err := jointoken.ParseCredential(credential)
	if err != nil {
		id = "(malformed)"
	}
	who := caller{tokenID: id}
	err = s.opts.Tokens.Validate(r.Context(), credential)
	switch {
	case err == nil:
		return who, nil
	case errors.Is(err, pki.ErrTokenExpired):
		return who, refuse(http.StatusUnauthorized, "join token expired", err.Error())
	case errors.Is(err, pki.ErrTokenInvalid):
		return who, refuse(http.StatusUnauthorized, "join token invalid", err.Error())
	default:
		return who, refuse(http.StatusServiceUnavailable, "cannot check join tokens now; retry later", err.Error())
	}
}

// readCSR reads and parses the request body, and returns the CSR and the
// node it asks for.
func readCSR(w http.ResponseWriter, r *http.Request) (*x509.CertificateRequest, string, *refusal) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCSRBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		msg := fmt.Sprintf("request body over %d bytes", maxCSRBytes)
		return nil, "", refuse(http.StatusRequestEntityTooLarge, msg, msg)
	}
	if err != nil {
		return nil, "", refuse(http.StatusBadRequest, "cannot read request body", "read body: "+err.Error())
	}
	csr, err := certs.ParseCSR(body)
	if err != nil {
		msg := "malformed CSR: " + err.Error()
		return nil, "", refuse(http.StatusBadRequest, msg, msg)
	}
	node, err := certs.CSRNodeName(csr)
	if err != nil {
		msg := "CSR refused: " + err.Error()
		return nil, "", refuse(http.StatusBadRequest, msg, msg)
	}
	return csr, node, nil
}

func (s *Server) writeRefusal(w http.ResponseWriter, r *http.Request, who caller, node string, ref *refusal) {
	attrs := append([]any{"status", ref.status, "reason", ref.detail, "remote", r.RemoteAddr, "node", node}, who.logAttrs()...)
	s.opts.Logger.Warn("refused node certificate", attrs...)
	if ref.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether-join"`)
	}
	http.Error(w, ref.public, ref.status)
}

func (s *Server) logIssued(r *http.Request, who caller, node string, certPEM []byte) {
	attrs := append([]any{"node", node, "remote", r.RemoteAddr}, who.logAttrs()...)
	if cert, err := certs.ParseCertPEM(certPEM); err == nil {
		attrs = append(attrs, "serial", cert.SerialNumber.String(), "notAfter", cert.NotAfter)
	}
	s.opts.Logger.Info("issued node certificate", attrs...)
}
