package controllerbench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tether-edge/tether/tests/testenv"
)

const (
	// edgeLabel marks edge nodes (cloud/pkg/edgecontroller).
	edgeLabel = "node-role.kubernetes.io/edge"
	// createWorkers is how many creates are in flight at once.
	createWorkers = 32
	// createTimeout bounds each batch of creates.
	createTimeout = 3 * time.Minute
	// watchTimeout bounds the wait for cloudcore to watch the edge
	// objects; it asks at its own rate limit (kubeAPI.qps, default 50).
	watchTimeout = 3 * time.Minute
)

// cluster creates the objects the figures measure.
type cluster struct {
	client *kubernetes.Clientset
	// configData and secretData are every object's payload.
	configData string
	secretData []byte
}

// newCluster returns a cluster with a fast client (protobuf, no client
// rate limit to speak of) and creates the namespaces.
func newCluster(b *testing.B, kube *testenv.Kube) *cluster {
	b.Helper()
	cfg := rest.CopyConfig(kube.Config)
	cfg.QPS, cfg.Burst = 5000, 10000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = cfg.ContentType
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := &cluster{client: client, configData: strings.Repeat("c", objectSize), secretData: []byte(strings.Repeat("s", objectSize))}
	c.create(b, "namespaces", namespaces, func(ctx context.Context, i int) error {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace(i)}}, metav1.CreateOptions{})
		return err
	})
	return c
}

// createNonEdge creates the nodes without the edge label, their pods and
// the objects those pods use.
func (c *cluster) createNonEdge(b *testing.B) {
	b.Helper()
	c.createNodes(b, "node", nonEdgeNodes, false)
	c.createObjects(b, "cm", nonEdgeConfigMaps, "secret", nonEdgeSecrets)
	c.create(b, "pods", nonEdgePods, func(ctx context.Context, i int) error {
		p := pod(namespace(i), "pod-"+strconv.Itoa(i), "node-"+strconv.Itoa(i%nonEdgeNodes),
			"cm-"+strconv.Itoa(i%nonEdgeConfigMaps), "secret-"+strconv.Itoa(i%nonEdgeSecrets))
		_, err := c.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
}

// createEdge creates each edge pod's configmap and secret, then the edge
// nodes, then their pods, as a cluster would have them scheduled.
func (c *cluster) createEdge(b *testing.B) {
	b.Helper()
	c.createObjects(b, "edge-cm", edgePods, "edge-secret", edgePods)
	c.createNodes(b, "edge", edgeNodes, true)
	c.create(b, "edge pods", edgePods, func(ctx context.Context, i int) error {
		p := pod(namespace(i), "edge-pod-"+strconv.Itoa(i), "edge-"+strconv.Itoa(i/podsPerEdgeNode),
			"edge-cm-"+strconv.Itoa(i), "edge-secret-"+strconv.Itoa(i))
		_, err := c.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
}

func (c *cluster) createNodes(b *testing.B, prefix string, n int, edge bool) {
	b.Helper()
	c.create(b, prefix+" nodes", n, func(ctx context.Context, i int) error {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-" + strconv.Itoa(i)}}
		if edge {
			node.Labels = map[string]string{edgeLabel: ""}
		}
		_, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		return err
	})
}

// createObjects creates configmaps cm-0.. and secrets secret-0.., object i
// in namespace(i).
func (c *cluster) createObjects(b *testing.B, cmPrefix string, configMaps int, secretPrefix string, secrets int) {
	b.Helper()
	c.create(b, "configmaps and secrets", configMaps+secrets, func(ctx context.Context, i int) error {
		if i < configMaps {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace(i), Name: cmPrefix + "-" + strconv.Itoa(i)},
				Data: map[string]string{"data": c.configData}}
			_, err := c.client.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{})
			return err
		}
		i -= configMaps
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace(i), Name: secretPrefix + "-" + strconv.Itoa(i)},
			Data: map[string][]byte{"data": c.secretData}}
		_, err := c.client.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		return err
	})
}

// create calls fn for 0..n-1, createWorkers at a time, and fails on the
// first error.
func (c *cluster) create(b *testing.B, what string, n int, fn func(ctx context.Context, i int) error) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(createWorkers)
	for i := range n {
		g.Go(func() error {
			if err := fn(ctx, i); err != nil {
				return fmt.Errorf("%d: %w", i, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("create %d %s: %v", n, what, err)
	}
}

func namespace(i int) string { return "bench-" + strconv.Itoa(i%namespaces) }

// pod is a pod bound to node that uses configmap cm and secret as
// volumes.
func pod(ns, name, node, cm, secret string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "app", Image: testenv.BusyboxImage, Command: []string{"sleep", "3600"},
				VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/config"}, {Name: "secret", MountPath: "/secret"}},
			}},
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}},
				{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}},
			},
		},
	}
}

// watchCounts are the watch requests the apiserver is serving, by
// resource: cloudcore's and the apiserver's own (over loopback).
type watchCounts struct {
	Nodes, Pods, ConfigMaps, Secrets int
}

func (w watchCounts) plus(o watchCounts) watchCounts {
	return watchCounts{w.Nodes + o.Nodes, w.Pods + o.Pods, w.ConfigMaps + o.ConfigMaps, w.Secrets + o.Secrets}
}

func (w watchCounts) minus(o watchCounts) watchCounts {
	return watchCounts{w.Nodes - o.Nodes, w.Pods - o.Pods, w.ConfigMaps - o.ConfigMaps, w.Secrets - o.Secrets}
}

// covers reports whether w has at least the pod, configmap and secret
// watches of o.
func (w watchCounts) covers(o watchCounts) bool {
	return w.Pods >= o.Pods && w.ConfigMaps >= o.ConfigMaps && w.Secrets >= o.Secrets
}

func (w watchCounts) String() string {
	return fmt.Sprintf("{nodes %d, pods %d, configmaps %d, secrets %d}", w.Nodes, w.Pods, w.ConfigMaps, w.Secrets)
}

// watches reads the open watch requests from the apiserver's metrics.
func (c *cluster) watches(b *testing.B) watchCounts {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	text, err := c.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		b.Fatalf("read the apiserver's metrics: %v", err)
	}
	w, err := parseWatches(string(text))
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// waitWatches waits until the apiserver serves at least want's pod,
// configmap and secret watches, failing if cloudcore exits or after
// watchTimeout.
func (c *cluster) waitWatches(b *testing.B, cc *testenv.Process, want watchCounts) {
	b.Helper()
	tick := time.NewTicker(time.Second) // the metrics are large: do not ask too often
	defer tick.Stop()
	deadline := time.Now().Add(watchTimeout)
	for {
		got := c.watches(b)
		if got.covers(want) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %v the apiserver serves %v watches, want %v; cloudcore's log tail:\n%s", watchTimeout, got, want, cc.Tail(20))
		}
		select {
		case <-cc.Done():
			b.Fatalf("cloudcore exited (%v); log tail:\n%s", cc.Err(), cc.Tail(30))
		case <-tick.C:
		}
	}
}

// parseWatches sums the apiserver_longrunning_requests gauge of verb
// WATCH by resource, from the Prometheus text format.
func parseWatches(metrics string) (watchCounts, error) {
	var w watchCounts
	found := false
	for line := range strings.Lines(metrics) {
		if strings.HasPrefix(line, "# TYPE apiserver_longrunning_requests ") {
			found = true
		}
		rest, ok := strings.CutPrefix(line, "apiserver_longrunning_requests{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok || !strings.Contains(labels, `verb="WATCH"`) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return w, fmt.Errorf("metric line %q: %w", line, err)
		}
		switch {
		case strings.Contains(labels, `resource="nodes"`):
			w.Nodes += int(v)
		case strings.Contains(labels, `resource="pods"`):
			w.Pods += int(v)
		case strings.Contains(labels, `resource="configmaps"`):
			w.ConfigMaps += int(v)
		case strings.Contains(labels, `resource="secrets"`):
			w.Secrets += int(v)
		}
	}
	if !found {
		return w, fmt.Errorf("the apiserver's metrics have no apiserver_longrunning_requests")
	}
	return w, nil
}
