package cloudstream_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/streamtunnel"
)

func TestNewValidates(t *testing.T) {
	p := newPKI(t)
	good := func() cloudstream.Options {
		return cloudstream.Options{
			StreamAddress: "127.0.0.1:0", TunnelAddress: "127.0.0.1:0", ServerCert: p.serving,
			NodeCAs: p.tether.Pool(), KubeletClientCAs: cloudstream.StaticCAs(p.kubelet.Pool()), Pods: &fakePods{},
			KeepalivePeriod: time.Second, Logger: testLogger(t),
		}
	}
	cases := []struct {
		name   string
		change func(*cloudstream.Options)
		want   string
	}{
		{"no stream address", func(o *cloudstream.Options) { o.StreamAddress = "" }, "StreamAddress"},
		{"no tunnel address", func(o *cloudstream.Options) { o.TunnelAddress = "" }, "TunnelAddress"},
		{"no serving certificate", func(o *cloudstream.Options) { o.ServerCert = tls.Certificate{} }, "ServerCert"},
		{"no node CAs", func(o *cloudstream.Options) { o.NodeCAs = nil }, "NodeCAs"},
		{"no kubelet client CAs", func(o *cloudstream.Options) { o.KubeletClientCAs = nil }, "KubeletClientCAs"},
		{"no pods", func(o *cloudstream.Options) { o.Pods = nil }, "Pods"},
		{"no logger", func(o *cloudstream.Options) { o.Logger = nil }, "Logger"},
		{"no keepalive", func(o *cloudstream.Options) { o.KeepalivePeriod = 0 }, "KeepalivePeriod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := good()
			c.change(&o)
			if _, err := cloudstream.New(o); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v; want an error naming %s", err, c.want)
			}
		})
	}
	t.Run("port in use", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		o := good()
		o.TunnelAddress = busy.Addr().String()
		if _, err := cloudstream.New(o); err == nil || !strings.Contains(err.Error(), "tunnel server: listen "+o.TunnelAddress) {
			t.Errorf("New on a busy port: %v; want a listen error", err)
		}
	})
}

// Only kube-apiserver's kubelet client certificate gets through: anyone
// else fails the TLS handshake and never reaches a pod lookup.
func TestStreamServerRefusesOtherClients(t *testing.T) {
	c := startCloud(t, map[string]string{"default/web": "edge-a"})
	c.connectEdge(t, "edge-a", "", whoAmI("edge-a"))
	other := newCA(t, "other-ca")
	cn := pkix.Name{CommonName: "kube-apiserver-kubelet-client"}
	refused := []struct {
		name string
		cert *tls.Certificate
	}{
		{"no certificate", nil},
		{"certificate from another CA", ptr(issueLeaf(t, other, cn, x509.ExtKeyUsageClientAuth))},
		{"an edge node's certificate", ptr(c.pki.nodeCert(t, "edge-a"))},
		{"serving certificate of the kubelet client CA", ptr(issueLeaf(t, c.pki.kubelet, cn, x509.ExtKeyUsageServerAuth))},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			resp, err := c.client(t, r.cert).Get(c.url("/containerLogs/default/web/app"))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("request answered %s; want a TLS failure", resp.Status)
			}
			if !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error %v; want a TLS handshake failure", err)
			}
		})
	}
	if n := c.pods.lookups.Load(); n != 0 {
		t.Errorf("%d pod lookups for refused clients; want 0", n)
	}
	got := get(t, c.apiserver(t), c.url("/containerLogs/default/web/app"))
	if got.status != http.StatusOK || got.body != "edge-a GET /containerLogs/default/web/app" {
		t.Errorf("apiserver's request: %d %q", got.status, got.body)
	}
}

// Each request reaches the edge its pod runs on, with the same path,
// query and method, and only that edge.
func TestRoutesByPodNode(t *testing.T) {
	c := startCloud(t, map[string]string{
		"default/on-a": "edge-a", "default/on-b": "edge-b", "kube-system/on-c": "edge-c",
	})
	c.connectEdge(t, "edge-a", "", whoAmI("edge-a"))
	c.connectEdge(t, "edge-b", "", whoAmI("edge-b"))
	api := c.apiserver(t)
	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/containerLogs/default/on-b/app?follow=true&tailLines=5", 200, "edge-b GET /containerLogs/default/on-b/app?follow=true&tailLines=5"},
		{"GET", "/containerLogs/default/on-a/app", 200, "edge-a GET /containerLogs/default/on-a/app"},
		{"POST", "/exec/default/on-b/app?command=echo&command=hi&output=1", 200, "edge-b POST /exec/default/on-b/app?command=echo&command=hi&output=1"},
		{"POST", "/exec/default/on-a/0f1e-uid/app?command=ls", 200, "edge-a POST /exec/default/on-a/0f1e-uid/app?command=ls"},
		{"POST", "/attach/default/on-b/app?stdout=1", 200, "edge-b POST /attach/default/on-b/app?stdout=1"},
		{"POST", "/attach/default/on-b/uid/app", 200, "edge-b POST /attach/default/on-b/uid/app"},
		{"POST", "/portForward/default/on-a", 200, "edge-a POST /portForward/default/on-a"},
		{"POST", "/portForward/default/on-a/uid", 200, "edge-a POST /portForward/default/on-a/uid"},
		{"GET", "/containerLogs/kube-system/on-c/app", 502, "node edge-c has no stream tunnel to cloudcore (is edgecore running and connected?)\n"},
		{"GET", "/containerLogs/default/missing/app", 404, "pod default/missing not found\n"},
		{"GET", "/exec/default/missing/app", 404, "pod default/missing not found\n"},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, c.url(tc.path), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := do(t, api, req)
		if got.status != tc.status || got.body != tc.body {
			t.Errorf("%s %s: %d %q; want %d %q", tc.method, tc.path, got.status, got.body, tc.status, tc.body)
		}
	}
	for _, path := range []string{"/", "/pods", "/metrics", "/containerLogs/default/on-a", "/exec/default/on-a/a/b/c", "/run/default/on-a/app"} {
		got := get(t, api, c.url(path))
		if got.status != http.StatusNotFound || !strings.Contains(got.body, "CloudStream serves only /containerLogs/") {
			t.Errorf("GET %s: %d %q; want 404 naming the paths served", path, got.status, got.body)
		}
	}
}

// A node's name comes from its certificate only: a certificate that names
// no node is refused, and a node connecting again replaces its session.
func TestTunnelIdentity(t *testing.T) {
	c := startCloud(t, map[string]string{"default/web": "edge-a"})
	t.Run("certificate naming no node", func(t *testing.T) {
		cert := issueLeaf(t, c.pki.tether, pkix.Name{CommonName: "admin", Organization: []string{certs.NodesGroup}}, x509.ExtKeyUsageClientAuth)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := streamtunnel.Dial(ctx, c.TunnelAddr().String(), streamtunnel.DialOptions{
			TLS:             &tls.Config{GetClientCertificate: presenting(&cert), RootCAs: c.pki.tether.Pool(), ServerName: "127.0.0.1"},
			KeepalivePeriod: keepalive, Logger: testLogger(t),
		})
		if !errors.Is(err, streamtunnel.ErrRefused) || !strings.Contains(err.Error(), "system:node:") {
			t.Errorf("Dial: %v; want ErrRefused saying what a node CN looks like", err)
		}
	})
	t.Run("node certificate from another CA", func(t *testing.T) {
		other := newCA(t, "other-ca")
		cert := issueLeaf(t, other, pkix.Name{CommonName: "system:node:edge-a", Organization: []string{certs.NodesGroup}}, x509.ExtKeyUsageClientAuth)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := streamtunnel.Dial(ctx, c.TunnelAddr().String(), streamtunnel.DialOptions{
			TLS:             &tls.Config{GetClientCertificate: presenting(&cert), RootCAs: c.pki.tether.Pool(), ServerName: "127.0.0.1"},
			KeepalivePeriod: keepalive, Logger: testLogger(t),
		})
		if err == nil {
			t.Fatal("Dial with a certificate from another CA succeeded")
		}
	})
	t.Run("a stream the edge opens is refused", func(t *testing.T) {
		e := c.connectEdge(t, "edge-a", "", whoAmI("edge-a"))
		st, err := e.session.Open()
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer st.Close()
		_ = st.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(st, "GET /configmaps HTTP/1.1\r\nHost: cloud\r\n\r\n")
		if b, err := io.ReadAll(st); len(b) != 0 || isTimeout(err) {
			t.Errorf("the edge's stream read %q, %v; want it closed with nothing", b, err)
		}
		// The session itself stays usable.
		if got := get(t, c.apiserver(t), c.url("/containerLogs/default/web/app")); got.status != 200 {
			t.Errorf("request after the edge's stream: %d %q", got.status, got.body)
		}
	})
	t.Run("a node connecting again replaces its session", func(t *testing.T) {
		api := c.apiserver(t)
		first := c.connectEdge(t, "edge-a", "", whoAmI("edge-a first"))
		waitRoutedTo(t, api, c.url("/containerLogs/default/web/app"), "edge-a first ")
		c.connectEdge(t, "edge-a", "", whoAmI("edge-a second"))
		select {
		case <-first.session.CloseChan():
		case <-time.After(10 * time.Second):
			t.Fatal("the replaced session was not closed")
		}
		got := get(t, api, c.url("/containerLogs/default/web/app"))
		if !strings.HasPrefix(got.body, "edge-a second ") {
			t.Errorf("after reconnecting: %d %q; want the second edge", got.status, got.body)
		}
		if nodes := c.Connected(); len(nodes) != 1 || nodes[0] != "edge-a" {
			t.Errorf("Connected = %v; want [edge-a]", nodes)
		}
	})
}

// waitRoutedTo polls url until its answer starts with prefix.
func waitRoutedTo(t *testing.T, c *http.Client, url, prefix string) {
	t.Helper()
	waitFor(t, "a request reaches "+prefix, func() bool {
		return strings.HasPrefix(get(t, c, url).body, prefix)
	})
}

type answer struct {
	status int
	body   string
}

func get(t *testing.T, c *http.Client, url string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return answer{resp.StatusCode, string(b)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func ptr[T any](v T) *T { return &v }
