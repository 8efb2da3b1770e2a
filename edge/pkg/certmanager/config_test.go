package certmanager

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/config"
)

func TestFromConfig(t *testing.T) {
	hub := config.EdgeHub{Server: "cloud.example", Ports: config.HubPorts{HTTPS: 8443}, PKIDir: "/var/lib/tether/pki"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := FromConfig("edge-1", hub, "tok", log)
	got := [...]string{o.Server, o.NodeName, o.Token, o.CAFile, o.CertFile, o.KeyFile}
	want := [...]string{"https://cloud.example:8443", "edge-1", "tok",
		"/var/lib/tether/pki/ca.crt", "/var/lib/tether/pki/node.crt", "/var/lib/tether/pki/node.key"}
	if got != want || o.Logger != log {
		t.Errorf("FromConfig = %q (logger %p), want %q (logger %p)", got, o.Logger, want, log)
	}
	hub.Server = "fd00::1"
	if got := FromConfig("edge-1", hub, "", log).Server; got != "https://[fd00::1]:8443" {
		t.Errorf("IPv6 server URL = %q", got)
	}
}

// A refused token is a *ServerError with the server's status and reason,
// so a caller can tell it from an unreachable cloud.
func TestRefusedTokenIsServerError(t *testing.T) {
	c := newCluster(t, time.Hour)
	o := edgeOptions(t, c, io.Discard)
	wrong := c.token
	wrong.Secret = "0123456789abcdef"
	o.Token = wrong.String()
	err := newManager(t, o).Bootstrap(context.Background())
	var refused *ServerError
	if !errors.As(err, &refused) || refused.Code != http.StatusUnauthorized || refused.Reason != "join token invalid" {
		t.Fatalf("Bootstrap = %v, want a *ServerError 401 \"join token invalid\"", err)
	}
}
