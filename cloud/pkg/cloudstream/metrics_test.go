package cloudstream_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/daemon/metricstest"
	"github.com/tether-edge/tether/common/streamtunnel"
)

// checkDenials checks tether_cloudstream_denials_total has the series of
// each reason, with these counts, and no other.
func checkDenials(t *testing.T, reg *prometheus.Registry, forbidden, certificate, notReady float64) {
	t.Helper()
	got := metricstest.ByLabel(t, reg, "tether_cloudstream_denials_total", "reason")
	want := map[string]float64{"forbidden": forbidden, "certificate": certificate, "not_ready": notReady}
	if !maps.Equal(got, want) {
		t.Errorf("denials by reason %v; want %v (and no other reason)", got, want)
	}
}

// Each refusal is counted once with its reason; allowed requests and a
// failing Authorizer (503) are not denials.
func TestMetricsCountDenials(t *testing.T) {
	reg := prometheus.NewRegistry()
	authz := &fakeAuthorizer{allowed: []string{"kube-apiserver-kubelet-client"}}
	c := startCloud(t, map[string]string{"default/web": "edge-a"}, func(o *cloudstream.Options) {
		o.Authorizer = authz
		o.Metrics = cloudstream.NewMetrics(reg)
	})
	c.connectEdge(t, "edge-a", "", whoAmI("edge-a"))
	checkDenials(t, reg, 0, 0, 0)

	if got := get(t, c.apiserver(t), c.url("/containerLogs/default/web/app")); got.status != http.StatusOK {
		t.Fatalf("apiserver: %d %q", got.status, got.body)
	}
	alice := issueLeaf(t, c.pki.kubelet, pkix.Name{CommonName: "alice"}, x509.ExtKeyUsageClientAuth)
	if got := get(t, c.client(t, &alice), c.url("/exec/default/web/app?command=sh")); got.status != http.StatusForbidden {
		t.Fatalf("alice: %d %q; want 403", got.status, got.body)
	}
	checkDenials(t, reg, 1, 0, 0)

	authz.mu.Lock()
	authz.err = errors.New("apiserver unavailable")
	authz.mu.Unlock()
	if got := get(t, c.apiserver(t), c.url("/containerLogs/default/web/app")); got.status != http.StatusServiceUnavailable {
		t.Fatalf("authorizer failing: %d %q; want 503", got.status, got.body)
	}
	checkDenials(t, reg, 1, 0, 0)

	admin := issueLeaf(t, c.pki.tether, pkix.Name{CommonName: "admin", Organization: []string{certs.NodesGroup}}, x509.ExtKeyUsageClientAuth)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := streamtunnel.Dial(ctx, c.TunnelAddr().String(), streamtunnel.DialOptions{
		TLS:             &tls.Config{GetClientCertificate: presenting(&admin), RootCAs: c.pki.tether.Pool(), ServerName: "127.0.0.1"},
		KeepalivePeriod: keepalive, Logger: testLogger(t),
	})
	if !errors.Is(err, streamtunnel.ErrRefused) {
		t.Fatalf("tunnel with a certificate naming no node: %v; want ErrRefused", err)
	}
	checkDenials(t, reg, 1, 1, 0)
}

// A handshake before the kubelet client CA has loaded is a not_ready denial.
func TestMetricsCountHandshakesBeforeTheCA(t *testing.T) {
	reg := prometheus.NewRegistry()
	asked := make(chan struct{}, 1)
	c := startCloud(t, nil, func(o *cloudstream.Options) {
		o.Metrics = cloudstream.NewMetrics(reg)
		o.KubeletClientCAs = func(context.Context) (*x509.CertPool, error) {
			select {
			case asked <- struct{}{}:
			default:
			}
			return nil, errors.New("the apiserver is away")
		}
	})
	select {
	case <-asked:
	case <-time.After(10 * time.Second):
		t.Fatal("Start never loaded the kubelet client CA")
	}
	if resp, err := c.apiserver(t).Get(c.url("/containerLogs/default/web/app")); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d before the kubelet client CA loaded", resp.StatusCode)
	}
	checkDenials(t, reg, 0, 0, 1)
}
