package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/tests/testenv"
)

// `make up` runs localup: it must bring up a control plane reachable with the
// printed kubeconfig, the demo device, and both binaries' health endpoints,
// report the same system when run twice, and `down` must stop every process
// it started.
func TestLocalUpAndDown(t *testing.T) {
	dir := t.TempDir()
	localup := filepath.Join(binDir, "localup")
	run := func(verb string) string {
		t.Helper()
		out, err := exec.Command(localup, "-dir", dir, "-bin", binDir, verb).CombinedOutput()
		if err != nil {
			t.Fatalf("localup %s: %v\n%s\n%s", verb, err, out, testenv.TailFile(filepath.Join(dir, "localup.log"), 40))
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command(localup, "-dir", dir, "down").Run() })

	out := run("up")
	if !strings.Contains(out, "Tether is up") || !strings.Contains(out, "kubectl --kubeconfig") {
		t.Fatalf("up printed:\n%s", out)
	}
	var st struct {
		Kubeconfig, CloudcoreHealth, EdgecoreHealth, NodeName string
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Errorf("apiserver through the printed kubeconfig: %v", err)
	}
	checkDemoDevice(ctx, t, cfg, st.NodeName)
	for _, hint := range []string{"get device thermo-1 -o yaml", "mosquitto_sub -h 127.0.0.1 -p 1884", "mosquitto_pub -h 127.0.0.1 -p 1884 -t '$hw/events/device/default/thermo-1/twin/update'"} {
		if !strings.Contains(out, hint) {
			t.Errorf("up does not print %q:\n%s", hint, out)
		}
	}
	for _, url := range []string{st.CloudcoreHealth + "/readyz", st.EdgecoreHealth + "/readyz"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", url, resp.Status)
		}
	}

	if again := run("up"); !strings.Contains(again, "already running") {
		t.Errorf("second up printed:\n%s", again)
	}
	pidText, err := os.ReadFile(filepath.Join(dir, "localup.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))

	if out := run("down"); !strings.Contains(out, "stopped") {
		t.Errorf("down printed:\n%s", out)
	}
	// Every process the supervisor started was in its session; none may be left.
	if left := sessionMembers(pid); len(left) > 0 {
		t.Errorf("processes left after down: %v", left)
	}
	if out := run("down"); !strings.Contains(out, "nothing running") {
		t.Errorf("second down printed:\n%s", out)
	}
}

// checkDemoDevice asserts that up applied the demo DeviceModel and Device,
// the Device on the local edge node.
func checkDemoDevice(ctx context.Context, t *testing.T, cfg *rest.Config, node string) {
	t.Helper()
	devices := client.New(dynamic.NewForConfigOrDie(cfg))
	if _, err := devices.DeviceModels("default").Get(ctx, "thermo-model", metav1.GetOptions{}); err != nil {
		t.Errorf("demo DeviceModel: %v", err)
	}
	dev, err := devices.Devices("default").Get(ctx, "thermo-1", metav1.GetOptions{})
	switch {
	case err != nil:
		t.Errorf("demo Device: %v", err)
	case node == "" || dev.Spec.NodeName != node:
		t.Errorf("demo Device on node %q, want the local edge node %q", dev.Spec.NodeName, node)
	case dev.Spec.DeviceModelRef == nil || dev.Spec.DeviceModelRef.Name != "thermo-model":
		t.Errorf("demo Device references %+v, want thermo-model", dev.Spec.DeviceModelRef)
	}
}

// sessionMembers lists live (non-zombie) processes in session sid.
func sessionMembers(sid int) []testenv.Proc {
	var left []testenv.Proc
	for _, p := range testenv.Procs() {
		if p.Session == sid && p.Alive() {
			left = append(left, p)
		}
	}
	return left
}
