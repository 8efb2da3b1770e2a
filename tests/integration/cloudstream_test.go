package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/streamtunnel"
	"github.com/tether-edge/tether/tests/testenv"
)

const (
	csNamespace = "stream"
	csNodeA     = "edge-cs-a"
	csNodeB     = "edge-cs-b"
	csNodeC     = "edge-cs-c" // has no tunnel
)

// kubectl logs through the real kube-apiserver: it reads the Node's
// address and kubelet port (CloudStream's), presents its kubelet client
// certificate (whose CA CloudStream loads from the ConfigMap the apiserver
// publishes), and CloudStream routes by the pod's node to that edge's
// tunnel, authorizing with a real SubjectAccessReview.
func TestCloudStreamThroughKubeAPIServer(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	client := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var kubeletCAs *x509.CertPool
	waitUntil(t, "kube-apiserver publishes its client CA", func() error {
		var err error
		kubeletCAs, err = cloudstream.LoadKubeletClientCAs(ctx, client, "")
		return err
	})
	tether, err := certs.NewCA("tether-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serving, err := tether.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := cloudstream.New(cloudstream.Options{
		StreamAddress: "127.0.0.1:0", TunnelAddress: "127.0.0.1:0", ServerCert: serving,
		NodeCAs: tether.Pool(), KubeletClientCAs: cloudstream.StaticCAs(kubeletCAs),
		Pods: cloudstream.PodsFromClient(client), Authorizer: cloudstream.AuthorizerFromClient(client),
		KeepalivePeriod: time.Second, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	streamPort := m.StreamAddr().(*net.TCPAddr).Port
	mctx, mcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(mctx) }()
	t.Cleanup(func() {
		mcancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})

	createStreamObjects(ctx, t, client, int32(streamPort))
	edgeA := dialStreamEdge(t, m, tether, csNodeA)
	dialStreamEdge(t, m, tether, csNodeB)
	pods := client.CoreV1().Pods(csNamespace)

	t.Run("logs reach the pod's node only", func(t *testing.T) {
		for _, tc := range []struct{ pod, node string }{{"web-a", csNodeA}, {"web-b", csNodeB}} {
			tail := int64(3)
			b, err := pods.GetLogs(tc.pod, &corev1.PodLogOptions{Container: "app", TailLines: &tail}).Do(ctx).Raw()
			if err != nil {
				t.Fatalf("logs of %s: %v", tc.pod, err)
			}
			want := fmt.Sprintf("%s GET /containerLogs/%s/%s/app?tailLines=3\n", tc.node, csNamespace, tc.pod)
			if string(b) != want {
				t.Errorf("logs of %s: %q; want %q", tc.pod, b, want)
			}
		}
	})
	t.Run("a pod whose node has no tunnel", func(t *testing.T) {
		// Stream, as kubectl logs does. CloudStream answers 502, whose text
		// kube-apiserver passes on (a 503's it would replace with its
		// own), so kubectl says why.
		_, err := pods.GetLogs("web-c", &corev1.PodLogOptions{Container: "app"}).Stream(ctx)
		if err == nil || !strings.Contains(err.Error(), "node "+csNodeC+" has no stream tunnel to cloudcore") {
			t.Errorf("logs of web-c: %v; want CloudStream's reason", err)
		}
	})
	t.Run("a cluster user's certificate is forbidden", func(t *testing.T) {
		certFile, keyFile := kube.CA.IssueClient(t, "mallory", "developers")
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{cert}, RootCAs: tether.Pool(), ServerName: "127.0.0.1",
		}}}
		defer c.CloseIdleConnections()
		resp, err := c.Post("https://"+m.StreamAddr().String()+"/exec/"+csNamespace+"/web-a/app?command=sh", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "mallory") {
			t.Errorf("mallory's exec: %s %q; want 403", resp.Status, b)
		}
	})
	t.Run("logs -f streams, and a dropped tunnel ends it", func(t *testing.T) {
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		body, err := pods.GetLogs("web-a", &corev1.PodLogOptions{Container: "app", Follow: true}).Stream(sctx)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		br := bufio.NewReader(body)
		for i := range 3 {
			line, err := br.ReadString('\n')
			if want := fmt.Sprintf("%s line %d\n", csNodeA, i); err != nil || line != want {
				t.Fatalf("line %d: %q, %v; want %q", i, line, err, want)
			}
		}
		start := time.Now()
		_ = edgeA.Close()
		_, err = io.Copy(io.Discard, br)
		if sctx.Err() != nil {
			t.Fatal("the followed log still streams 30s after its tunnel was closed")
		}
		// kube-apiserver decides how a cut upstream reaches its client.
		t.Logf("the followed log ended %v after the tunnel closed: %v", time.Since(start).Round(time.Millisecond), err)
	})
}

// createStreamObjects makes three Nodes whose kubelet is CloudStream (as
// cloudcore writes edge Nodes) and a pod bound to each.
func createStreamObjects(ctx context.Context, t *testing.T, client kubernetes.Interface, port int32) {
	t.Helper()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: csNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No controller-manager creates it; pods need it.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: csNamespace}}
	if _, err := client.CoreV1().ServiceAccounts(csNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, node := range []string{csNodeA, csNodeB, csNodeC} {
		n, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
		if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-" + string("abc"[i]), Namespace: csNamespace},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app"}},
				AutomountServiceAccountToken: new(bool)},
		}
		if _, err := client.CoreV1().Pods(csNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// dialStreamEdge connects node's stream tunnel and serves, on it, logs
// that name the node and the request (a followed log streams a line every
// 20ms). It waits until CloudStream has the session.
func dialStreamEdge(t *testing.T, m *cloudstream.Module, ca *certs.CA, node string) *yamux.Session {
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := streamtunnel.Dial(ctx, m.TunnelAddr().String(), streamtunnel.DialOptions{
		TLS:             &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.Pool(), ServerName: "127.0.0.1"},
		KeepalivePeriod: time.Second, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatalf("%s: Dial: %v", node, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "true" {
			fmt.Fprintf(w, "%s %s %s\n", node, r.Method, r.URL.RequestURI())
			return
		}
		rc := http.NewResponseController(w)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "%s line %d\n", node, i)
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(s)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = s.Close()
		<-served
	})
	waitUntil(t, node+" is connected", func() error {
		for _, n := range m.Connected() {
			if n == node {
				return nil
			}
		}
		return fmt.Errorf("connected: %v", m.Connected())
	})
	return s
}

// waitUntil polls f until it returns nil, failing the test after 30s with
// its last error.
func waitUntil(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
