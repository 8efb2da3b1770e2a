package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tether-edge/tether/tests/testenv"
)

// A node joins from nothing but a token: edgecore fetches and pins the CA,
// gets its certificate, connects over each transport and syncs; the next
// start needs no token; both binaries stop cleanly on SIGTERM.
func TestJoinFromNothing(t *testing.T) {
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: binDir, Kube: kube})
	for _, transport := range []string{"websocket", "quic"} {
		t.Run(transport, func(t *testing.T) {
			node := "edge-" + transport
			edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{
				Bin: binDir, Cloud: cloud, NodeName: node, Transport: transport, Token: cloud.JoinToken(t, time.Hour),
			})
			testenv.WaitLog(t, edge.Process, 30*time.Second, "in sync with the cloud")
			key, err := os.Stat(filepath.Join(edge.PKIDir, "node.key"))
			if err != nil || key.Mode().Perm() != 0o600 {
				t.Fatalf("node.key: %v, mode %v; want 0600", err, key.Mode().Perm())
			}
			stopCleanly(t, edge.Process, "edgecore")

			// Restarted without a token, it uses the certificate it has.
			again := testenv.StartEdgecore(t, testenv.EdgecoreOptions{Bin: binDir, Cloud: cloud, NodeName: node, Transport: transport, PKIDir: edge.PKIDir})
			testenv.WaitLog(t, again.Process, 30*time.Second, "in sync with the cloud")
			stopCleanly(t, again.Process, "edgecore")
		})
	}
	stopCleanly(t, cloud.Process, "cloudcore")
}

// stopCleanly sends SIGTERM and expects exit 0 within 5 s.
func stopCleanly(t *testing.T, p *testenv.Process, name string) {
	t.Helper()
	if err := syscall.Kill(p.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			t.Fatalf("%s exit after SIGTERM: %v\n%s", name, err, p.Tail(20))
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still running 5 s after SIGTERM\n%s", name, p.Tail(20))
	}
}

// `cloudcore token create|list|revoke` manage the tokens a node joins with;
// a revoked token no longer joins.
func TestTokenCommand(t *testing.T) {
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: binDir, Kube: kube})
	token := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "cloudcore"), append([]string{"token", "--config", cloud.ConfigPath}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cloudcore token %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	tok := token("create", "--ttl", "1h", "--description", "e2e")
	id, _, _ := strings.Cut(tok, ".")
	if list := token("list"); !strings.Contains(list, id) || !strings.Contains(list, "e2e") {
		t.Fatalf("token list does not show %s:\n%s", id, list)
	}
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{Bin: binDir, Cloud: cloud, NodeName: "edge-cli", Token: tok})
	testenv.WaitLog(t, edge.Process, 30*time.Second, "in sync with the cloud")

	if out := token("revoke", id); !strings.Contains(out, "revoked") {
		t.Fatalf("revoke printed %q", out)
	}
	if list := token("list"); strings.Contains(list, id) {
		t.Fatalf("revoked token still listed:\n%s", list)
	}
	refused := testenv.StartEdgecore(t, testenv.EdgecoreOptions{Bin: binDir, Cloud: cloud, NodeName: "edge-late", Token: tok})
	testenv.WaitLog(t, refused.Process, 30*time.Second, "401")
}
