package cloudstream_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/rest"
	clientremotecommand "k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/tests/testenv"
)

// execStreams are the streams a remotecommand client opened for an exec
// with stdout only.
type execStreams struct {
	errStream, stdout httpstream.Stream
}

// spdyExecEdge is an edge's kubelet stand-in for exec: it speaks protocol
// over SPDY, takes the client's error and stdout streams, then runs act;
// the connection closes when act returns.
func spdyExecEdge(t testing.TB, protocol string, act func(execStreams, httpstream.Connection)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := httpstream.Handshake(r, w, []string{protocol}); err != nil {
			t.Errorf("edge: handshake: %v", err)
			return
		}
		type opened struct {
			s     httpstream.Stream
			reply <-chan struct{}
		}
		streams := make(chan opened, 8)
		conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, reply <-chan struct{}) error {
			streams <- opened{s, reply}
			return nil
		})
		if conn == nil {
			t.Error("edge: upgrade failed")
			return
		}
		defer conn.Close()
		var es execStreams
		for es.errStream == nil || es.stdout == nil {
			select {
			case o := <-streams:
				select {
				case <-o.reply:
				case <-conn.CloseChan():
					return
				}
				switch o.s.Headers().Get(corev1.StreamType) {
				case corev1.StreamTypeError:
					es.errStream = o.s
				case corev1.StreamTypeStdout:
					es.stdout = o.s
				}
			case <-conn.CloseChan():
				return
			}
		}
		act(es, conn)
	})
}

// lineWriter is a stdout that tells when it has seen want.
type lineWriter struct {
	want string
	seen chan struct{}

	// mu guards b.
	mu sync.Mutex
	b  strings.Builder
}

func newLineWriter(want string) *lineWriter {
	return &lineWriter{want: want, seen: make(chan struct{})}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.b.String(), w.want)
	w.b.Write(p)
	if !had && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// execThrough runs client-go's SPDY executor (as kube-apiserver does)
// against the stream server with stdout into out and returns its result.
func (c *cloud) execThrough(t testing.TB, out *lineWriter) <-chan error {
	t.Helper()
	cert := c.pki.apiserverCert(t)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: c.url(""), TLSClientConfig: rest.TLSClientConfig{
		CAData:     certs.EncodeCertPEM(c.pki.tether.Cert.Raw),
		CertData:   certs.EncodeCertPEM(cert.Certificate[0]),
		KeyData:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		ServerName: "127.0.0.1",
	}}
	u, err := url.Parse(c.url("/exec/default/web/app?command=sleep&command=3600&output=1"))
	if err != nil {
		t.Fatal(err)
	}
	exec, err := clientremotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- exec.StreamWithContext(ctx, clientremotecommand.StreamOptions{Stdout: out})
	}()
	return done
}

// result waits for an exec's result.
func result(t testing.TB, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the exec did not end")
		return nil
	}
}

// started is an edge act that writes "started" on stdout and runs until
// its connection ends.
func started(es execStreams, conn httpstream.Connection) {
	_, _ = es.stdout.Write([]byte("started\n"))
	<-conn.CloseChan()
}

// An exec whose tunnel is lost fails, telling why, in every remotecommand
// version kube-apiserver may choose: when the edge closes its session and
// when the edge stops answering.
func TestExecFailsWhenTunnelIsLost(t *testing.T) {
	closeSession := func(e *edge, _ *testenv.TCPProxy) { _ = e.session.Close() }
	freeze := func(_ *edge, p *testenv.TCPProxy) { p.Freeze() }
	cases := []struct {
		name     string
		protocol string
		drop     func(*edge, *testenv.TCPProxy)
	}{
		{"v5, the edge closes its session", remotecommand.StreamProtocolV5Name, closeSession},
		{"v4, the edge closes its session", remotecommand.StreamProtocolV4Name, closeSession},
		{"v3, the edge closes its session", remotecommand.StreamProtocolV3Name, closeSession},
		{"v4, the edge stops answering", remotecommand.StreamProtocolV4Name, freeze},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startCloud(t, map[string]string{"default/web": "edge-a"})
			proxy := testenv.StartTCPProxy(t, c.TunnelAddr().String(), testenv.ProxyOptions{})
			e := c.connectEdge(t, "edge-a", proxy.Addr(), spdyExecEdge(t, tc.protocol, started))
			out := newLineWriter("started\n")
			done := c.execThrough(t, out)
			select {
			case <-out.seen:
			case err := <-done:
				t.Fatalf("the exec ended before it started: %v", err)
			}
			tc.drop(e, proxy)
			err := result(t, done)
			if err == nil || !strings.Contains(err.Error(), "stream tunnel to node edge-a lost") {
				t.Fatalf("exec ended with %v; want the lost tunnel", err)
			}
			t.Logf("exec: %v", err)
		})
	}
}

// An exec the edge ends itself keeps its result, also when the tunnel is
// lost after the result was sent.
func TestExecResultFromTheEdgeIsKept(t *testing.T) {
	exit3, err := json.Marshal(metav1.Status{
		Status: metav1.StatusFailure, Reason: remotecommand.NonZeroExitCodeReason,
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommand.ExitCodeCauseType, Message: "3"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	writeExit3 := func(es execStreams) { _, _ = es.errStream.Write(exit3) }
	cases := []struct {
		name string
		// result is written on the error stream before it is closed.
		result func(execStreams)
		// lose: the tunnel is lost once the client has seen "done";
		// otherwise the edge closes the connection.
		lose    bool
		wantErr string // "" for success
	}{
		{"exit 0", func(execStreams) {}, false, ""},
		{"exit 3", writeExit3, false, "exit code 3"},
		{"exit 0, then the tunnel is lost", func(execStreams) {}, true, ""},
		{"exit 3, then the tunnel is lost", writeExit3, true, "exit code 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startCloud(t, map[string]string{"default/web": "edge-a"})
			act := func(es execStreams, conn httpstream.Connection) {
				tc.result(es)
				_ = es.errStream.Close()
				// After the error stream's frames, on the same
				// connection: seen by the client only after them.
				_, _ = es.stdout.Write([]byte("done\n"))
				if tc.lose {
					<-conn.CloseChan()
				}
			}
			e := c.connectEdge(t, "edge-a", "", spdyExecEdge(t, remotecommand.StreamProtocolV4Name, act))
			out := newLineWriter("done\n")
			done := c.execThrough(t, out)
			if tc.lose {
				select {
				case <-out.seen:
				case err := <-done:
					t.Fatalf("the exec ended before the edge's result came: %v", err)
				}
				_ = e.session.Close()
			}
			err := result(t, done)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("exec: %v; want success", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("exec: %v; want %q", err, tc.wantErr)
			}
			if out.String() != "done\n" {
				t.Errorf("stdout %q, want done", out.String())
			}
		})
	}
}
