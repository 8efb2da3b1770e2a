package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/tests/testenv"
)

// TestEdgecoreMetrics runs the built cloudcore and edgecore (Edged on
// containerd, the embedded MQTT broker) against a real kube-apiserver:
// once a pod runs and a device has published, edgecore's /metrics shows
// the tunnel up, PLEG relisting, the pod's start, SQLite commits and the
// publication received.
func TestEdgecoreMetrics(t *testing.T) {
	t.Parallel()
	const node = "edge-metrics"
	bin := t.TempDir()
	built := make(chan error, 1)
	go func() { built <- testenv.BuildBinaries(bin, testenv.CloudcorePackage, testenv.EdgecorePackage) }()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	cs := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kube.WaitDefaultNamespace(t)
	// The ServiceAccount admission plugin wants the pod's account.
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: bin, Kube: kube})
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{
		Bin: bin, Cloud: cloud, NodeName: node, Token: cloud.JoinToken(t, time.Hour), Containerd: ctd,
	})
	testenv.WaitLog(t, edge.Process, time.Minute, "in sync with the cloud")

	if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-web"},
		Spec: corev1.PodSpec{NodeName: node, AutomountServiceAccountToken: new(false),
			Containers: []corev1.Container{{Name: "main", Image: testenv.BusyboxImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sleep", "3600"}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 2*time.Minute, "pod metrics-web running in the API", func() error {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "metrics-web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %q", p.Status.Phase)
		}
		return nil
	})

	device := connect(t, edge.MQTT, "metrics-device")
	const topic = "$hw/events/device/default/thermo-1/twin/update"
	if tok := device.Publish(topic, 1, false, `{"event_id":"1","timestamp":1,"twin":{}}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: timed out or %v", tok.Error())
	}

	want := []struct {
		series string
		ok     func(float64) bool
		says   string
	}{
		{`tether_edgehub_connected{transport="websocket"}`, func(v float64) bool { return v == 1 }, "1"},
		{`tether_edgehub_connects_total{transport="websocket"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
		{`tether_edged_pleg_relist_duration_seconds_count`, func(v float64) bool { return v > 0 }, "> 0"},
		{`tether_edged_pod_start_duration_seconds_count`, func(v float64) bool { return v >= 1 }, ">= 1"},
		{`tether_metamanager_sqlite_write_duration_seconds_count`, func(v float64) bool { return v > 0 }, "> 0"},
		{`tether_metamanager_sqlite_writes_total`, func(v float64) bool { return v > 0 }, "> 0"},
		{`tether_eventbus_mqtt_messages_total{direction="in"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
	}
	var got map[string]float64
	testenv.WaitFor(t, 30*time.Second, "edgecore's metrics", func() error {
		var err error
		if got, err = scrape(ctx, edge.Health+"/metrics"); err != nil {
			return err
		}
		var wrong []string
		for _, w := range want {
			if v, ok := got[w.series]; !ok || !w.ok(v) {
				wrong = append(wrong, fmt.Sprintf("%s = %v (present %v), want %s", w.series, v, ok, w.says))
			}
		}
		if len(wrong) > 0 {
			return fmt.Errorf("%s", strings.Join(wrong, "; "))
		}
		return nil
	})
	t.Logf("pod start %.2fs, %v relists, %v commits",
		got["tether_edged_pod_start_duration_seconds_sum"], got["tether_edged_pleg_relist_duration_seconds_count"],
		got["tether_metamanager_sqlite_write_duration_seconds_count"])
}

// scrape reads a Prometheus text exposition: each sample's series (name
// and labels, as written) and its value.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("sample line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
