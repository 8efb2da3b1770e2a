package certmanager

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/jointoken"
)

// Defaults for Options' zero fields.
const (
	DefaultHTTPTimeout  = 10 * time.Second
	DefaultRetryInitial = time.Second
	DefaultRetryMax     = 5 * time.Minute
)

// ErrNoToken: Bootstrap found no usable certificate and has no token to
// join with.
var ErrNoToken = errors.New("certmanager: no valid certificate and no join token")

// ErrCAMismatch: the join server served a CA whose hash is not the one the
// join token pins (a wrong server, a token from another cluster, or someone
// in between). Bootstrap's error wraps it.
var ErrCAMismatch = errors.New("CA hash does not match the join token")

// ServerError is a join server's refusal: any answer but 200. Bootstrap's
// error wraps it; a refused or expired join token is Code 401.
type ServerError struct {
	// Method and Path are the request's; Status is the HTTP status line
	// ("401 Unauthorized") and Code its number.
	Method, Path, Status string
	Code                 int
	// Reason is the start of the server's answer (at most 512 bytes).
	Reason string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Method, e.Path, e.Status, e.Reason)
}

// Options configure a Manager.
type Options struct {
	// Server is the join server's base URL, "https://host:10002". Required.
	Server string
	// NodeName is this node's name, a DNS-1123 subdomain. Required.
	NodeName string
	// CAFile, CertFile and KeyFile are where the CA certificate, the node
	// certificate and the node key live. Required.
	CAFile, CertFile, KeyFile string
	// Token is the full join token ("<id>.<secret>.<ca hash>"); needed only
	// when no valid certificate exists yet. Optional.
	Token string
	// Logger is required.
	Logger *slog.Logger
	// Clock tells the time. nil = time.Now.
	Clock func() time.Time
	// Jitter returns a number in [0,1) that places each rotation within
	// 70–90% of the certificate's lifetime. nil = math/rand/v2.Float64.
	Jitter func() float64
	// HTTPTimeout bounds each request to the join server. Default 10s.
	HTTPTimeout time.Duration
	// RetryInitial and RetryMax bound the back-off between failed
	// rotations: it starts at RetryInitial and doubles up to RetryMax.
	// Defaults 1s and 5m.
	RetryInitial, RetryMax time.Duration
}

// withDefaults validates o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.NodeName == "":
		return o, errors.New("certmanager: NodeName is required")
	case o.CAFile == "" || o.CertFile == "" || o.KeyFile == "":
		return o, errors.New("certmanager: CAFile, CertFile and KeyFile are required")
	case o.Logger == nil:
		return o, errors.New("certmanager: Logger is required")
	case o.HTTPTimeout < 0 || o.RetryInitial < 0 || o.RetryMax < 0:
		return o, errors.New("certmanager: negative duration")
	}
	if err := certs.ValidateNodeName(o.NodeName); err != nil {
		return o, fmt.Errorf("certmanager: %w", err)
	}
	if o.Token != "" {
		if _, err := jointoken.Parse(o.Token); err != nil {
			return o, fmt.Errorf("certmanager: %w", err)
		}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	o.HTTPTimeout = cmp.Or(o.HTTPTimeout, DefaultHTTPTimeout)
	o.RetryInitial = cmp.Or(o.RetryInitial, DefaultRetryInitial)
	o.RetryMax = cmp.Or(o.RetryMax, max(DefaultRetryMax, o.RetryInitial))
	if o.RetryMax < o.RetryInitial {
		return o, fmt.Errorf("certmanager: RetryMax %v < RetryInitial %v", o.RetryMax, o.RetryInitial)
	}
	return o, nil
}

// Manager bootstraps and rotates the node's certificate.
type Manager struct {
	opts   Options
	server *url.URL

	// mu guards the fields below: Bootstrap and Run write them; Current and
	// the tls.Config callbacks read them from other goroutines.
	mu      sync.Mutex
	ca      *x509.Certificate
	current *tls.Certificate
	token   string // cleared once the node holds a certificate
}

// New validates o and returns a Manager. It does no I/O.
func New(o Options) (*Manager, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	server, err := url.Parse(o.Server)
	if err != nil {
		return nil, fmt.Errorf("certmanager: Server %q: %w", o.Server, err)
	}
	if server.Scheme != "https" || server.Host == "" {
		return nil, fmt.Errorf("certmanager: Server %q: want https://host[:port]", o.Server)
	}
	return &Manager{opts: o, server: server, token: o.Token}, nil
}

// Current returns the certificate in use (nil before Bootstrap). Its Leaf
// is set. Treat it as read-only.
func (m *Manager) Current() *tls.Certificate {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current
}

// ClientTLS returns a config for dialing the cloud at serverName: it trusts
// only the cluster CA and presents the current certificate on each
// handshake, so a rotation takes effect on the next dial. Called before
// Bootstrap, it trusts nothing and presents nothing.
func (m *Manager) ClientTLS(serverName string) *tls.Config {
	pool := x509.NewCertPool()
	m.mu.Lock()
	if m.ca != nil {
		pool.AddCert(m.ca)
	}
	m.mu.Unlock()
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		ServerName:           serverName,
		RootCAs:              pool,
		GetClientCertificate: m.clientCertificate,
	}
}

// clientCertificate is a tls.Config.GetClientCertificate that presents the
// current certificate.
func (m *Manager) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if cur := m.Current(); cur != nil {
		return cur, nil
	}
	return nil, errors.New("certmanager: no node certificate yet (Bootstrap first)")
}

// setIdentity installs a CA and certificate and forgets the token.
func (m *Manager) setIdentity(ca *x509.Certificate, cert *tls.Certificate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ca, m.current, m.token = ca, cert, ""
}

// identity returns the CA and the current certificate.
func (m *Manager) identity() (*x509.Certificate, *tls.Certificate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ca, m.current
}

func (m *Manager) joinToken() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token
}
