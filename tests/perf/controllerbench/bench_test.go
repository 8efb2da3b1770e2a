package controllerbench

import (
	"testing"
	"time"

	"github.com/tether-edge/tether/tests/testenv"
)

// The cluster the figures measure; change them here.
const (
	// namespaces hold every pod, configmap and secret, edge or not, so
	// that edge and non-edge objects share namespaces.
	namespaces = 5
	// nonEdgeNodes are Nodes without the edge label; nonEdgePods are bound
	// to them round-robin, and pod i uses configmap and secret
	// i % nonEdgeConfigMaps and i % nonEdgeSecrets.
	nonEdgeNodes      = 50
	nonEdgePods       = 5000
	nonEdgeConfigMaps = 5000
	nonEdgeSecrets    = 5000
	// edgeNodes are labelled node-role.kubernetes.io/edge, each with
	// podsPerEdgeNode pods, each pod with a configmap and a secret of its
	// own.
	edgeNodes       = 50
	podsPerEdgeNode = 20
	edgePods        = edgeNodes * podsPerEdgeNode
	// objectSize is the payload of each configmap and secret, in bytes.
	objectSize = 4 << 10
)

// BenchmarkController is every controller figure; see the package doc.
//
//	make bench BENCH=controller
//	go test -run '^$' -bench Controller -v ./tests/perf/controllerbench
func BenchmarkController(b *testing.B) {
	s := &scenario{}
	b.Run("rss_idle_mb", func(b *testing.B) { s.report(b, func(m measured) (float64, string) { return mb(m.idle), "MB" }) })
	b.Run("rss_nonedge_mb", func(b *testing.B) {
		s.report(b, func(m measured) (float64, string) { return mb(m.nonEdge), "MB" })
	})
	b.Run("rss_edge_mb", func(b *testing.B) { s.report(b, func(m measured) (float64, string) { return mb(m.edge), "MB" }) })
	b.Run("edge_kib_per_pod", func(b *testing.B) {
		s.report(b, func(m measured) (float64, string) {
			return float64(m.edge-m.nonEdge) / 1024 / edgePods, "KiB/pod"
		})
	})
}

// measured is cloudcore's settled RSS in bytes after each step.
type measured struct {
	idle, nonEdge, edge int64
}

// scenario runs the measurement once for all the figures of one
// BenchmarkController.
type scenario struct {
	started bool
	result  *measured // nil until measured, or when measuring failed
}

// report reports figure of what the scenario measured, measuring it the
// first time. Sub-benchmarks run one at a time, so no lock is needed.
func (s *scenario) report(b *testing.B, figure func(measured) (float64, string)) {
	if !s.started {
		s.started = true // a failure below is not retried by the next figure
		m := measure(b)
		s.result = &m
	}
	if s.result == nil {
		b.Fatal("the measurement failed in an earlier figure")
	}
	v, unit := figure(*s.result)
	b.ReportMetric(v, unit)
}

// measure starts etcd, kube-apiserver and cloudcore, and reads cloudcore's
// settled RSS idle, after the non-edge cluster is added, and after the
// edge nodes are added. Cleanup (at the end of b) stops them.
func measure(b *testing.B) measured {
	bin := buildCloudcore(b)
	// No controller-manager, so no service accounts: pods are admitted
	// without one. No scheduler: every pod names its node.
	kube := testenv.StartKube(b, testenv.KubeOptions{APIServerArgs: []string{"--disable-admission-plugins=ServiceAccount"}})
	c := newCluster(b, kube)
	cc := testenv.StartCloudcore(b, testenv.CloudcoreOptions{Bin: bin, Kube: kube})
	var m measured

	m.idle = cc.Process.SettledRSS(b)
	base := c.watches(b)
	b.Logf("idle: cloudcore RSS %.1f MiB; apiserver's open watches %v", mb(m.idle), base)

	start := time.Now()
	c.createNonEdge(b)
	created := time.Since(start)
	m.nonEdge = cc.Process.SettledRSS(b)
	nonEdgeWatches := c.watches(b)
	b.Logf("non-edge: %d nodes, %d pods, %d configmaps, %d secrets created in %v; cloudcore RSS %.1f MiB (%+.1f); watches %v",
		nonEdgeNodes, nonEdgePods, nonEdgeConfigMaps, nonEdgeSecrets, created.Round(time.Millisecond),
		mb(m.nonEdge), mb(m.nonEdge-m.idle), nonEdgeWatches)
	if d := nonEdgeWatches.minus(base); d.Nodes > 0 || d.Pods > 0 || d.ConfigMaps > 0 || d.Secrets > 0 {
		b.Errorf("cloudcore opened watches for non-edge objects: %v more than idle", d)
	}

	start = time.Now()
	c.createEdge(b)
	created = time.Since(start)
	want := base.plus(watchCounts{Pods: edgeNodes, ConfigMaps: edgePods, Secrets: edgePods})
	c.waitWatches(b, cc.Process, want)
	watched := time.Since(start)
	m.edge = cc.Process.SettledRSS(b)
	b.Logf("edge: %d nodes, %d pods, %d configmaps and secrets created in %v, all watched by cloudcore after %v; cloudcore RSS %.1f MiB (%+.1f, %.1f KiB/pod); watches %v",
		edgeNodes, edgePods, edgePods, created.Round(time.Millisecond), watched.Round(time.Millisecond),
		mb(m.edge), mb(m.edge-m.nonEdge), float64(m.edge-m.nonEdge)/1024/edgePods, c.watches(b))
	checkLog(b, cc.Process)
	return m
}

// buildCloudcore builds cloudcore into a folder of its own, as
// StartCloudcore wants it.
func buildCloudcore(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := testenv.BuildBinaries(dir, testenv.CloudcorePackage); err != nil {
		b.Fatal(err)
	}
	return dir
}

// mb is bytes in MiB, the figures' MB.
func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }
