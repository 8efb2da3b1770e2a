package cloudhub_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/cloudhub"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
)

// idleBus is a Bus on which nothing arrives.
type idleBus struct{}

func (idleBus) Receive(ctx context.Context, _ string) (message.Message, error) {
	<-ctx.Done()
	return message.Message{}, ctx.Err()
}
func (idleBus) Send(context.Context, message.Message) error        { return nil }
func (idleBus) SendToGroup(context.Context, message.Message) error { return nil }
func (idleBus) SendResponse(context.Context, message.Message) error {
	return nil
}
func (idleBus) SendSync(context.Context, message.Message, time.Duration) (message.Message, error) {
	return message.Message{}, errors.New("idle bus")
}

func nodeTLS(t *testing.T, ca *certs.CA, node string) *tls.Config {
	t.Helper()
	keyPEM, key, err := certs.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err := certs.NewNodeCSR(node, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.ParseCSR(csrPEM)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNodeCSR(csr, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
}

// TestHubAdmitsOnlyOnceReady: until Options.Ready is closed a node is
// refused as unavailable (try later), then it is admitted.
func TestHubAdmitsOnlyOnceReady(t *testing.T) {
	ca, err := certs.NewCA("test-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	hub, err := cloudhub.New(cloudhub.Options{
		Bus: idleBus{}, ServerCert: serving, ClientCAs: ca.Pool(),
		WebSocketAddress: "127.0.0.1:0", NodeLimit: 10, KeepalivePeriod: time.Second, RequestTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: ready,
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := hub.WebSocketAddr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()

	dial := func() (tunnel.Conn, error) {
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		defer dcancel()
		return tunnel.DialWebSocket(dctx, addr, tunnel.DialOptions{TLS: nodeTLS(t, ca, "edge-1")})
	}
	_, err = dial()
	if !errors.Is(err, tunnel.ErrUnavailable) || !strings.Contains(err.Error(), "still loading") {
		t.Fatalf("dial before ready: %v; want ErrUnavailable, desired sets are still loading", err)
	}
	close(ready)
	c, err := dial()
	if err != nil {
		t.Fatalf("dial once ready: %v", err)
	}
	c.Close("test done")
}
