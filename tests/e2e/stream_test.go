package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/tests/testenv"
)

// streamSystem is a control plane, cloudcore and two edge nodes, each with
// its own containerd and a pod that prints who it is.
type streamSystem struct {
	kube   *testenv.Kube
	client kubernetes.Interface
	cloud  *testenv.Cloudcore
	a, b   *testenv.Edgecore
	// proxyA sits between edge A and cloudcore's stream tunnel port.
	proxyA *testenv.TCPProxy
}

const (
	streamNodeA = "edge-stream-a"
	streamNodeB = "edge-stream-b"
)

// kubectl logs, logs -f, exec, exec -i and attach on edge pods, through
// the real kube-apiserver (its kubelet client certificate, the Node
// address cloudcore writes), CloudStream, the stream tunnel, EdgeStream
// and containerd's streaming server.
func TestKubectlOnEdgePods(t *testing.T) {
	s := startStreamSystem(t)
	t.Run("kubectl logs", func(t *testing.T) { testLogs(t, s) })
	t.Run("kubectl logs -f streams until its deadline", func(t *testing.T) { testLogsFollow(t, s) })
	t.Run("kubectl exec -- echo", func(t *testing.T) { testExec(t, s) })
	t.Run("kubectl exec -i with stdin", func(t *testing.T) { testExecStdin(t, s) })
	t.Run("kubectl attach", func(t *testing.T) { testAttach(t, s) })
	t.Run("kubectl port-forward", func(t *testing.T) { testPortForward(t, s) })
	t.Run("a request without a valid client certificate is refused", func(t *testing.T) { testClientCertificate(t, s) })
	t.Run("one node's stream cannot reach another node's pods", func(t *testing.T) { testCrossNode(t, s) })
	t.Run("a dropped tunnel ends the stream with an error", func(t *testing.T) { testDroppedTunnel(t, s) })
}

func startStreamSystem(t *testing.T) *streamSystem {
	s := &streamSystem{kube: testenv.StartKube(t, testenv.KubeOptions{ControllerManager: true})}
	s.client = s.kube.Clientset(t)
	s.cloud = testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: binDir, Kube: s.kube})
	s.proxyA = testenv.StartTCPProxy(t, "127.0.0.1:"+strconv.Itoa(s.cloud.TunnelPort), testenv.ProxyOptions{})
	_, proxyPort, _ := strings.Cut(s.proxyA.Addr(), ":")
	port, _ := strconv.Atoi(proxyPort)
	for _, e := range []struct {
		node string
		edge **testenv.Edgecore
		port int
	}{{streamNodeA, &s.a, port}, {streamNodeB, &s.b, 0}} {
		*e.edge = testenv.StartEdgecore(t, testenv.EdgecoreOptions{
			Bin: binDir, Cloud: s.cloud, NodeName: e.node, Token: s.cloud.JoinToken(t, time.Hour),
			Containerd: testenv.StartContainerd(t, testenv.ContainerdOptions{}), TunnelPort: e.port,
		})
	}
	waitDefaultServiceAccount(t, s.client)
	for _, p := range []*corev1.Pod{
		streamPod("who-a", streamNodeA, "i=0; while true; do echo who-a line $i; i=$((i+1)); sleep 0.2; done", false),
		streamPod("who-b", streamNodeB, "echo who-b here; exec sleep 3600", false),
		streamPod("echo-a", streamNodeA, "while read l; do echo got:$l; done", true),
		streamPod("web-b", streamNodeB, "exec httpd -f -p 8080 -h /etc", false),
	} {
		if _, err := s.client.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"who-a", "who-b", "echo-a", "web-b"} {
		waitPod(t, s.client, "default", name, 90*time.Second, podRunning)
	}
	n := waitNode(t, s.client, streamNodeA, 30*time.Second, func(n *corev1.Node) error {
		if len(n.Status.Addresses) == 0 || n.Status.Addresses[0].Address != "127.0.0.1" {
			return fmt.Errorf("addresses %v, want cloudcore's 127.0.0.1 first", n.Status.Addresses)
		}
		return nil
	})
	if p := n.Status.DaemonEndpoints.KubeletEndpoint.Port; int(p) != s.cloud.StreamPort {
		t.Fatalf("node %s kubelet port %d, want CloudStream's %d", streamNodeA, p, s.cloud.StreamPort)
	}
	return s
}

func streamPod(name, node, script string, stdin bool) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name: "main", Image: testenv.BusyboxImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", script}, Stdin: stdin,
			}},
		},
	}
}

// kubectl runs kubectl to completion within a minute.
func kubectl(t *testing.T, s *streamSystem, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.kube.KubectlOutput(ctx, stdin, args...)
}

func testLogs(t *testing.T, s *streamSystem) {
	testenv.WaitFor(t, 30*time.Second, "kubectl logs who-b", func() error {
		out, err := kubectl(t, s, "", "logs", "who-b")
		if err != nil {
			return err
		}
		if out != "who-b here\n" {
			return fmt.Errorf("logs %q, want %q", out, "who-b here\n")
		}
		return nil
	})
	out, err := kubectl(t, s, "", "logs", "who-a", "--tail=2", "--timestamps")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("--tail=2 gave %d lines: %q", len(lines), out)
	}
	for _, l := range lines {
		ts, rest, _ := strings.Cut(l, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasPrefix(rest, "who-a line ") {
			t.Errorf("--timestamps line %q, want \"<RFC 3339 time> who-a line N\"", l)
		}
	}
	out, err = kubectl(t, s, "", "logs", "who-a", "--limit-bytes=5")
	if err != nil || out != "who-a" {
		t.Errorf("--limit-bytes=5 gave %q (%v), want %q", out, err, "who-a")
	}
}

// lineNumber is N of the last complete "who-a line N" in out, -1 if none.
func lastLineNumber(out string) int {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 2; i >= 0; i-- { // the last element is after the last newline
		if n, err := strconv.Atoi(strings.TrimPrefix(lines[i], "who-a line ")); err == nil {
			return n
		}
	}
	return -1
}

func testLogsFollow(t *testing.T, s *streamSystem) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out testenv.SyncBuffer
	cmd := s.kube.Kubectl(ctx, "logs", "-f", "who-a", "--tail=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := -1
	testenv.WaitFor(t, 15*time.Second, "kubectl logs -f to stream five new lines", func() error {
		n := lastLineNumber(out.String())
		if first < 0 {
			first = n
		}
		if first < 0 || n < first+5 {
			return fmt.Errorf("output so far %q", out.String())
		}
		return nil
	})
	cancel() // the deadline ends kubectl
	_ = cmd.Wait()
	if strings.Contains(out.String(), "error") {
		t.Errorf("kubectl logs -f reported an error before its deadline: %q", out.String())
	}
}

func testExec(t *testing.T, s *streamSystem) {
	out, err := kubectl(t, s, "", "exec", "who-b", "--", "echo", "hello from", "the edge")
	if err != nil {
		t.Fatal(err)
	}
	if out != "hello from the edge\n" {
		t.Errorf("exec output %q", out)
	}
	_, err = kubectl(t, s, "", "exec", "who-b", "--", "sh", "-c", "exit 3")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(err.Error(), "exit code 3") {
		t.Errorf("exec of `exit 3`: %v, want kubectl to report exit code 3", err)
	}
}

func testExecStdin(t *testing.T, s *streamSystem) {
	in := "first line\nsecond line\n"
	out, err := kubectl(t, s, in, "exec", "-i", "who-a", "--", "cat")
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("exec -i cat gave %q, want %q", out, in)
	}
}

func testAttach(t *testing.T, s *streamSystem) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out testenv.SyncBuffer
	cmd := s.kube.Kubectl(ctx, "attach", "-i", "echo-a")
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { cancel(); <-exited }()
	// Attach may start after the first write; write until the echo comes.
	testenv.WaitFor(t, 20*time.Second, "the attached container to answer", func() error {
		if strings.Contains(out.String(), "got:ping") {
			return nil
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("kubectl attach exited early (%v): %q", err, out.String())
		default:
		}
		if _, err := io.WriteString(stdin, "ping\n"); err != nil {
			return err
		}
		return fmt.Errorf("output so far %q", out.String())
	})
}

// testPortForward forwards a local port to busybox httpd serving /etc in
// web-b, and reads the pod's /etc/hostname through it.
func testPortForward(t *testing.T, s *streamSystem) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out testenv.SyncBuffer
	cmd := s.kube.Kubectl(ctx, "port-forward", "pod/web-b", "--address=127.0.0.1", ":8080")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	var local string
	testenv.WaitFor(t, 20*time.Second, "kubectl port-forward to listen", func() error {
		for _, l := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(l, "Forwarding from 127.0.0.1:"); ok {
				local, _, _ = strings.Cut(rest, " ")
				return nil
			}
		}
		return fmt.Errorf("output so far %q", out.String())
	})
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://127.0.0.1:" + local + "/hostname")
	if err != nil {
		t.Fatalf("GET through the forwarded port: %v (kubectl: %q)", err, out.String())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "web-b" {
		t.Errorf("GET /hostname through the forwarded port: %d %q, want 200 \"web-b\"", resp.StatusCode, b)
	}
}

func testClientCertificate(t *testing.T, s *streamSystem) {
	url := fmt.Sprintf("https://127.0.0.1:%d/containerLogs/default/who-b/main", s.cloud.StreamPort)
	get := func(certs []tls.Certificate) (string, error) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{Certificates: certs, InsecureSkipVerify: true},
		}}
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b), err
	}
	kubeletClient, err := tls.LoadX509KeyPair(s.kube.KubeletClientCertFile, s.kube.KubeletClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get([]tls.Certificate{kubeletClient}); err != nil || got != "200 who-b here\n" {
		t.Fatalf("with the apiserver's kubelet client certificate: %q, %v; want 200 and the log", got, err)
	}
	other := testenv.NewCA(t, t.TempDir())
	certFile, keyFile := other.IssueClient(t, "kube-apiserver-kubelet-client", "system:masters")
	forged, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, certs := range map[string][]tls.Certificate{"no certificate": nil, "a certificate from another CA": {forged}} {
		if got, err := get(certs); err == nil {
			t.Errorf("%s: answered %q, want the TLS handshake refused", name, got)
		}
	}
}

func testCrossNode(t *testing.T, s *streamSystem) {
	// Through the apiserver, each pod's request reaches its own node.
	out, err := kubectl(t, s, "", "exec", "who-b", "--", "hostname")
	if err != nil || strings.TrimSpace(out) != "who-b" {
		t.Errorf("exec hostname in who-b: %q, %v", out, err)
	}
	out, err = kubectl(t, s, "", "exec", "who-a", "--", "hostname")
	if err != nil || strings.TrimSpace(out) != "who-a" {
		t.Errorf("exec hostname in who-a: %q, %v", out, err)
	}
	// A request for B's pod that reaches A (here through A's own server,
	// which serves the same handler as A's end of the tunnel) is refused.
	resp, err := http.Get("http://" + s.a.StreamAddress + "/containerLogs/default/who-b/main")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || bytes.Contains(b, []byte("who-b here")) {
		t.Errorf("node A asked for node B's pod: %d %q, want 404", resp.StatusCode, b)
	}
}

// testDroppedTunnel cuts edge A's stream tunnel off (its packets go
// nowhere) while `kubectl logs -f` and `kubectl exec` stream from A: both
// end with an error within the keepalive's reach instead of hanging.
func testDroppedTunnel(t *testing.T, s *streamSystem) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logs, execOut testenv.SyncBuffer
	follow := s.kube.Kubectl(ctx, "logs", "-f", "who-a", "--tail=1")
	follow.Stdout, follow.Stderr = &logs, &logs
	sleeper := s.kube.Kubectl(ctx, "exec", "who-a", "--", "sh", "-c", "echo started; exec sleep 3600")
	sleeper.Stdout, sleeper.Stderr = &execOut, &execOut
	for _, c := range []*exec.Cmd{follow, sleeper} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, 20*time.Second, "both streams running", func() error {
		if lastLineNumber(logs.String()) < 0 || !strings.Contains(execOut.String(), "started") {
			return fmt.Errorf("logs %q, exec %q", logs.String(), execOut.String())
		}
		return nil
	})
	s.proxyA.Freeze()
	defer s.proxyA.Thaw()
	cut := time.Now()
	for name, c := range map[string]*exec.Cmd{"kubectl logs -f": follow, "kubectl exec": sleeper} {
		err := c.Wait()
		t.Logf("%s ended %v after the cut: %v", name, time.Since(cut).Round(time.Millisecond), err)
		if ctx.Err() != nil {
			t.Errorf("%s still ran at its deadline, a minute after the cut", name)
		}
		if err == nil && name == "kubectl exec" {
			t.Errorf("%s ended without an error", name)
		}
	}
}
