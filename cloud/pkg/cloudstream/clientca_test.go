package cloudstream_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
)

// cloudcore starts while the apiserver is away: until the kubelet client
// CA loads, the stream server refuses kube-apiserver at the handshake;
// once it loads, requests are served.
func TestStreamServerWaitsForTheKubeletClientCA(t *testing.T) {
	var available atomic.Bool
	asked := make(chan struct{}, 1)
	c := startCloud(t, map[string]string{"default/web": "edge-a"}, func(o *cloudstream.Options) {
		load := o.KubeletClientCAs
		o.KubeletClientCAs = func(ctx context.Context) (*x509.CertPool, error) {
			select {
			case asked <- struct{}{}:
			default:
			}
			if !available.Load() {
				return nil, errors.New("the apiserver is away")
			}
			return load(ctx)
		}
	})
	select {
	case <-asked:
	case <-time.After(10 * time.Second):
		t.Fatal("Start never loaded the kubelet client CA")
	}
	client := c.apiserver(t)
	if resp, err := client.Get(c.url("/containerLogs/default/web/app")); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d before the kubelet client CA loaded; want the handshake refused", resp.StatusCode)
	}
	available.Store(true)
	waitFor(t, "the stream server to serve once the CA loads", func() bool {
		resp, err := client.Get(c.url("/containerLogs/default/web/app"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		// The node has no tunnel: CloudStream itself answers.
		return resp.StatusCode == http.StatusBadGateway
	})
}
