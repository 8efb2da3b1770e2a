package tunnel

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// idleConnBudget is what an idle connected node may cost cloudcore in
// RSS. The test measures live heap and stacks, which the default GOGC lets
// grow to twice as much before a collection, so it holds them to half.
const idleConnBudget = 150 << 10

// memClientEnv tells this test binary to play TestIdleConnMemory's clients.
const memClientEnv = "TETHER_TUNNEL_MEMORY_CLIENTS"

// TestIdleConnMemory connects many nodes from another process (this test
// binary, running TestIdleConnMemoryClients), exchanges a keepalive-sized
// message each way on every conn, and measures the heap and goroutine
// stacks the server then holds for them.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("connects hundreds of conns from a child process")
	}
	const n = 300
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			var idle atomic.Int32
			s := startTestServer(t, tr, ServerOptions{Handle: func(_ context.Context, _ string, c Conn) {
				if _, err := c.Read(); err != nil {
					return
				}
				if err := c.Write([]message.Message{{Route: message.Route{Operation: message.OpKeepalive}}}); err != nil {
					return
				}
				idle.Add(1)
				drain(c)
			}})
			before := inUse()
			stopClients := startMemoryClients(t, s, n)
			if !waitFor(30*time.Second, func() bool { return idle.Load() == n }) {
				t.Fatalf("%d of %d conns became idle", idle.Load(), n)
			}
			perConn := (inUse() - before) / n
			t.Logf("%s: %.1f KiB of live heap and stacks per idle conn", tr, float64(perConn)/1024)
			if perConn > idleConnBudget/2 {
				t.Errorf("%d KiB per idle conn, over half the %d KiB budget", perConn>>10, idleConnBudget>>10)
			}
			stopClients()
		})
	}
}

// inUse returns the bytes of heap and goroutine stacks in use after a GC.
func inUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

// startMemoryClients runs n clients of s in a child process and returns
// once they are connected; the returned func ends them.
func startMemoryClients(t *testing.T, s *testServer, n int) (stop func()) {
	dir := t.TempDir()
	cert := s.pki.node.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"ca.der": s.pki.caDER, "node.der": cert.Certificate[0], "node.key": key} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleConnMemoryClients$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%s,%d", memClientEnv, dir, s.transport, s.addr, n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("memory clients: %v", err)
		}
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			stop()
		}
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if lines.Text() == "clients ready" {
			go func() { // drain the rest so the child never blocks on stdout
				for lines.Scan() {
				}
			}()
			return stop
		}
	}
	t.Fatalf("memory clients exited before connecting: %v", lines.Err())
	return nil
}

// TestIdleConnMemoryClients is TestIdleConnMemory's child: it connects the
// clients, says "clients ready" and holds them until stdin closes.
func TestIdleConnMemoryClients(t *testing.T) {
	spec := os.Getenv(memClientEnv)
	if spec == "" {
		t.Skip("run by TestIdleConnMemory")
	}
	parts := strings.Split(spec, ",")
	if len(parts) != 4 {
		t.Fatalf("%s=%q, want dir,transport,addr,n", memClientEnv, spec)
	}
	dir, transport, addr := parts[0], parts[1], parts[2]
	n, err := strconv.Atoi(parts[3])
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ca, err := x509.ParseCertificate(read("ca.der"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(read("node.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	o := DialOptions{TLS: &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{read("node.der")}, PrivateKey: key}},
		RootCAs:      pool,
	}}
	s := &testServer{transport: transport, addr: addr}
	for range n {
		c, err := s.dialOptions(o)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close("")
		if err := c.Write([]message.Message{{Route: message.Route{Operation: message.OpKeepalive}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("clients ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString(0)
}
