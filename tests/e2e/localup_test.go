package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// kubeconfig it writes, the edge node Ready with the demo pod running on it
// (its logs reachable with the linked kubectl), the demo device, and both
// binaries' health and metrics endpoints; report the same system when run
// twice; and `down` must stop every process it started, containers included.
func TestLocalUpAndDown(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "out", "kubeconfig")
	localup := filepath.Join(binDir, "localup")
	run := func(verb string) string {
		t.Helper()
		out, err := exec.Command(localup, "-dir", dir, "-bin", binDir, "-kubeconfig", kubeconfig, verb).CombinedOutput()
		if err != nil {
			t.Fatalf("localup %s: %v\n%s\n%s", verb, err, out, testenv.TailFile(filepath.Join(dir, "localup.log"), 40))
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command(localup, "-dir", dir, "-kubeconfig", kubeconfig, "down").Run() })

	out := run("up")
	var st struct {
		Kubeconfig, CloudcoreHealth, EdgecoreHealth, NodeName, DemoPod string
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatalf("%v\nup printed:\n%s", err, out)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	kubectlLink := filepath.Join(dir, "out", "bin", "kubectl")
	for _, hint := range []string{
		"Tether is up", "starting containerd", // progress lines, repeated while up waits
		"edgecore join --cloud 127.0.0.1:",
		"export KUBECONFIG=" + kubeconfig + " PATH=" + filepath.Dir(kubectlLink) + ":$PATH",
		"kubectl get nodes,pods -o wide", "kubectl logs -f -n default " + strings.TrimPrefix(st.DemoPod, "default/"),
		"get device thermo-1 -o yaml", "mosquitto_sub -h 127.0.0.1 -p 1884",
		"mosquitto_pub -h 127.0.0.1 -p 1884 -t '$hw/events/device/default/thermo-1/twin/update'", "make down",
	} {
		if !strings.Contains(out, hint) {
			t.Errorf("up does not print %q:\n%s", hint, out)
		}
	}
	if st.Kubeconfig != kubeconfig {
		t.Errorf("state names kubeconfig %q, want %q", st.Kubeconfig, kubeconfig)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := kubernetes.NewForConfigOrDie(cfg)
	if node, err := client.CoreV1().Nodes().Get(ctx, st.NodeName, metav1.GetOptions{}); err != nil || !testenv.NodeReady(node) {
		t.Errorf("node %s after up: %v, want Ready", st.NodeName, err)
	}
	ns, name, _ := strings.Cut(st.DemoPod, "/")
	pod, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		err = podRunning(pod)
	}
	if err != nil || pod.Spec.NodeName != st.NodeName {
		t.Errorf("demo pod %s after up: %v, want running on %s", st.DemoPod, err, st.NodeName)
	}
	checkDemoDevice(ctx, t, cfg, st.NodeName)
	// What the hints tell a user to type works: the linked kubectl with the
	// written kubeconfig reaches the demo pod's logs through CloudStream.
	testenv.WaitFor(t, 30*time.Second, "kubectl logs of the demo pod", func() error {
		logs, err := exec.CommandContext(ctx, kubectlLink, "--kubeconfig", kubeconfig, "logs", "-n", ns, name).CombinedOutput()
		if err != nil || !strings.Contains(string(logs), "demo tick 0") {
			return fmt.Errorf("%v: %s", err, logs)
		}
		return nil
	})
	for _, url := range []string{st.CloudcoreHealth + "/readyz", st.EdgecoreHealth + "/readyz"} {
		if code, body := httpGet(t, url); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", url, code, body)
		}
	}
	for _, m := range []struct{ url, metric string }{
		{st.CloudcoreHealth + "/metrics", `tether_cloudhub_connected_nodes{transport="websocket"} 1`},
		{st.EdgecoreHealth + "/metrics", `tether_edgehub_connected{transport="websocket"} 1`},
		{st.EdgecoreHealth + "/metrics", "go_goroutines"},
	} {
		if code, body := httpGet(t, m.url); code != http.StatusOK || !strings.Contains(body, m.metric) {
			t.Errorf("GET %s: %d, lacks %q", m.url, code, m.metric)
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
	// Every process the supervisor started was in its session, and the demo
	// container with it; none may be left.
	if left := leftAfterDown(pid); len(left) > 0 {
		t.Errorf("processes left after down: %v", left)
	}
	for _, f := range []string{kubeconfig, kubectlLink} {
		if _, err := os.Lstat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after down: %v, want it removed", f, err)
		}
	}
	if out := run("down"); !strings.Contains(out, "nothing running") {
		t.Errorf("second down printed:\n%s", out)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
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

// leftAfterDown lists live (non-zombie) processes in session sid, and the
// demo container's wherever it is.
func leftAfterDown(sid int) []testenv.Proc {
	var left []testenv.Proc
	for _, p := range testenv.Procs() {
		if p.Alive() && (p.Session == sid || strings.Contains(strings.Join(p.Argv, " "), "demo tick")) {
			left = append(left, p)
		}
	}
	return left
}
