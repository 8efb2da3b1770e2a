package integration

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/joinserver"
	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/edge/pkg/certmanager"
	"github.com/tether-edge/tether/tests/testenv"
)

// TestJoin joins edge nodes through a join server whose tokens live in a
// real kube-apiserver, with the CA from EnsureCASecret: a valid token joins,
// a revoked or expired one is refused.
func TestJoin(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cs := kube.Clientset(t)
	ns := newNamespace(t, cs, "tether-system")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ca, err := pki.EnsureCASecret(ctx, cs, ns, "tether-ca", time.Now())
	if err != nil {
		t.Fatalf("EnsureCASecret: %v", err)
	}
	clock := &fakeClock{}
	tokens, err := pki.NewTokens(pki.TokenOptions{Client: cs, Namespace: ns, CAHash: ca.Hash(), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer([]string{"127.0.0.1", "localhost"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := joinserver.New(joinserver.Options{
		Address: "127.0.0.1:0", CA: ca, ServerCert: serverCert, Tokens: tokens,
		NodeCertValidity: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	runJoinServer(t, srv)
	server := "https://" + srv.Addr().String()

	good, _, err := tokens.Create(ctx, time.Hour, "edge-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := joinEdge(ctx, t, server, "edge-1", good.String()); err != nil {
		t.Fatalf("join with a valid token: %v", err)
	}

	revoked, _, err := tokens.Create(ctx, time.Hour, "edge-2")
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Revoke(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	err = joinEdge(ctx, t, server, "edge-2", revoked.String())
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "join token invalid") {
		t.Errorf("join with a revoked token = %v; want 401 join token invalid", err)
	}

	expiring, _, err := tokens.Create(ctx, time.Hour, "edge-3")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	err = joinEdge(ctx, t, server, "edge-3", expiring.String())
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "join token expired") {
		t.Errorf("join with an expired token = %v; want 401 join token expired", err)
	}
}

// joinEdge bootstraps node with token in a fresh directory and checks, on
// success, that the key file is private.
func joinEdge(ctx context.Context, t *testing.T, server, node, token string) error {
	t.Helper()
	dir := t.TempDir()
	m, err := certmanager.New(certmanager.Options{
		Server: server, NodeName: node, Token: token,
		CAFile: filepath.Join(dir, "ca.crt"), CertFile: filepath.Join(dir, "node.crt"), KeyFile: filepath.Join(dir, "node.key"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("certmanager.New: %v", err)
	}
	if err := m.Bootstrap(ctx); err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(dir, "node.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		return errors.New("key file missing or not mode 0600")
	}
	return nil
}

// runJoinServer serves srv until the test ends.
func runJoinServer(t *testing.T, srv *joinserver.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("join server: %v", err)
		}
	})
}
