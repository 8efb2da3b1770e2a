package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/tests/testenv"
)

// runBinary runs one of the built binaries to completion within a minute
// and returns its stdout, its stderr and its exit code.
func runBinary(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v still running after a minute\nstdout:\n%s\nstderr:\n%s", name, args, &out, &errOut)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out.String(), errOut.String(), code
}

// edgeConfigForJoin writes an edgecore config for cloud with this test's
// ports and folders, and no token; join fills in the name, the server and
// the join port (placeholders here).
func edgeConfigForJoin(t *testing.T, cloud *testenv.Cloudcore) (path, pkiDir string) {
	t.Helper()
	dir := t.TempDir()
	ports := testenv.FreePorts(t, 2)
	path, pkiDir = filepath.Join(dir, "edgecore.yaml"), filepath.Join(dir, "pki")
	body := fmt.Sprintf(`# written by the e2e test; join keeps this comment
apiVersion: config.tether.io/v1alpha1
kind: EdgeCore
nodeName: placeholder
health: {address: "127.0.0.1:%d"}
edgeHub:
  server: 192.0.2.1 # replaced by join
  ports: {websocket: %d, quic: %d, https: 1, stream: %d}
  pkiDir: %q
  keepalivePeriod: 2s
  reconnectInitial: 200ms
  reconnectMax: 2s
metaManager: {dbPath: %q}
nodeStatus: {updatePeriod: 1s, leaseDuration: 4s}
edged: {enable: false}
eventBus:
  mode: embedded
  embedded: {listen: "127.0.0.1:%d"}
`, ports[0], cloud.WebSocketPort, cloud.QUICPort, cloud.TunnelPort, pkiDir, filepath.Join(dir, "edgecore.db"), ports[1])
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pkiDir
}

// An operator's way in: `cloudcore token create` (with the config, or with
// only a kubeconfig), `edgecore join`, then edgecore runs from the config
// join wrote. A refused token changes nothing; a revoked one no longer joins.
func TestJoinCommand(t *testing.T) {
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: binDir, Kube: kube})
	token := func(args ...string) (tok, hint string) {
		t.Helper()
		out, errOut, code := runBinary(t, "cloudcore", append([]string{"token"}, args...)...)
		if code != 0 {
			t.Fatalf("cloudcore token %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return strings.TrimSpace(out), errOut
	}
	tok, hint := token("--config", cloud.ConfigPath, "create", "--ttl", "1h", "--description", "joincmd")
	if want := fmt.Sprintf("edgecore join --cloud 127.0.0.1:%d --token %s", cloud.HTTPSPort, tok); !strings.Contains(hint, want) {
		t.Errorf("token create hint:\n%s\nwant %q", hint, want)
	}
	// An admin with a kubeconfig and no config file: the defaults' namespace
	// is the one cloudcore uses here.
	tok2, hint2 := token("--kubeconfig", kube.Kubeconfig, "create", "--description", "by-kubeconfig")
	if want := "edgecore join --cloud 127.0.0.1 --token " + tok2; !strings.Contains(hint2, want) {
		t.Errorf("token create --kubeconfig hint:\n%s\nwant %q", hint2, want)
	}
	id, _, _ := strings.Cut(tok, ".")
	id2, _, _ := strings.Cut(tok2, ".")
	if list, _ := token("--kubeconfig", kube.Kubeconfig, "list"); !strings.Contains(list, id) || !strings.Contains(list, id2) || !strings.Contains(list, "joincmd") {
		t.Fatalf("token list does not show %s and %s:\n%s", id, id2, list)
	}

	cfgPath, pkiDir := edgeConfigForJoin(t, cloud)
	cloudAddr := fmt.Sprintf("127.0.0.1:%d", cloud.HTTPSPort)
	join := func(args ...string) (string, string, int) {
		t.Helper()
		return runBinary(t, "edgecore", append([]string{"join", "--config", cfgPath, "--cloud", cloudAddr, "--timeout", "20s"}, args...)...)
	}

	// A token the cloud does not know: exit 1, the reason, nothing changed.
	before, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	bogus := id + ".0123456789abcdef." + strings.SplitN(tok, ".", 3)[2]
	_, errOut, code := join("--token", bogus, "--name", "edge-join")
	if code != 1 || !strings.Contains(errOut, "the cloud refused the join token (join token invalid)") {
		t.Errorf("join with a bogus token: exit %d, stderr:\n%s", code, errOut)
	}
	if after, _ := os.ReadFile(cfgPath); !bytes.Equal(after, before) {
		t.Errorf("a refused join changed the config:\n%s", after)
	}
	if _, err := os.Stat(filepath.Join(pkiDir, "node.crt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused join left node.crt (%v)", err)
	}

	out, errOut, code := join("--token", tok, "--name", "edge-join")
	if code != 0 {
		t.Fatalf("join: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"node edge-join joined", "systemctl enable --now edgecore", "edgecore --config " + cfgPath} {
		if !strings.Contains(out, want) {
			t.Errorf("join output lacks %q:\n%s", want, out)
		}
	}
	if key, err := os.Stat(filepath.Join(pkiDir, "node.key")); err != nil || key.Mode().Perm() != 0o600 {
		t.Fatalf("node.key: %v; want mode 0600", err)
	}
	written, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(written), tok) || !strings.Contains(string(written), "# written by the e2e test; join keeps this comment") {
		t.Errorf("config after join (want the comment kept, no token):\n%s", written)
	}
	cfg, err := config.LoadEdgeCore(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != "edge-join" || cfg.EdgeHub.Server != "127.0.0.1" || cfg.EdgeHub.Ports.HTTPS != cloud.HTTPSPort || cfg.EdgeHub.Token != "" {
		t.Errorf("config after join: node %s, edgeHub %+v", cfg.NodeName, cfg.EdgeHub)
	}

	edge := testenv.StartProcess(t, testenv.Command{Name: "edgecore-edge-join", Path: filepath.Join(binDir, "edgecore"), Args: []string{"--config", cfgPath}})
	testenv.WaitLog(t, edge, 30*time.Second, "in sync with the cloud")
	stopCleanly(t, edge, "edgecore")

	// Again on a joined node: no token needed, the certificate is kept.
	if out, errOut, code := join(); code != 0 || !strings.Contains(out, "already holds a valid certificate") {
		t.Errorf("join on a joined node: exit %d\n%s%s", code, out, errOut)
	}

	// A revoked token joins no one.
	if out, _ := token("--kubeconfig", kube.Kubeconfig, "revoke", id2); !strings.Contains(out, "revoked") {
		t.Fatalf("revoke printed %q", out)
	}
	cfgPath, pkiDir = edgeConfigForJoin(t, cloud)
	if _, errOut, code := join("--token", tok2, "--name", "edge-revoked"); code != 1 || !strings.Contains(errOut, "the cloud refused the join token") {
		t.Errorf("join with a revoked token: exit %d, stderr:\n%s", code, errOut)
	}
	if _, err := os.Stat(pkiDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused join left %s (%v)", pkiDir, err)
	}
}
