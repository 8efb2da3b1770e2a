package admit

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// rl is a resource list of name, quantity pairs.
func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// ctr is a container requesting kv.
func ctr(kv ...string) corev1.Container {
	return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: rl(kv...)}}
}

// mkPod is a pod of containers cs, changed by opts.
func mkPod(name string, cs []corev1.Container, opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: cs},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func phase(ph corev1.PodPhase) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Status.Phase = ph } }

func withPorts(ports ...corev1.ContainerPort) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports = ports }
}

func selector(kv map[string]string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.NodeSelector = kv }
}

func affinity(terms ...corev1.NodeSelectorTerm) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
}

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func pods(n int, kv ...string) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range n {
		out = append(out, mkPod(fmt.Sprintf("p%d", i), []corev1.Container{ctr(kv...)}))
	}
	return out
}

var testNode = Node{
	Name:        "edge-1",
	Allocatable: rl("cpu", "2", "memory", "4Gi", "ephemeral-storage", "10Gi", "pods", "5"),
	Labels:      map[string]string{"site": "plant-3", "gen": "3", "kubernetes.io/os": "linux"},
}

const (
	portsMsg    = "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
	affinityMsg = "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
)

func TestAdmitResources(t *testing.T) {
	initPod := func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{ctr("cpu", "1800m")} }
	tests := []struct {
		name     string
		pod      *corev1.Pod
		admitted []*corev1.Pod
		node     Node
		reason   string
		message  string
	}{
		{"empty node", mkPod("new", []corev1.Container{ctr("cpu", "1", "memory", "1Gi")}), nil, testNode, "", ""},
		{"exact fit", mkPod("new", []corev1.Container{ctr("cpu", "1500m", "memory", "3Gi", "ephemeral-storage", "9Gi")}),
			pods(1, "cpu", "500m", "memory", "1Gi", "ephemeral-storage", "1Gi"), testNode, "", ""},
		{"cpu", mkPod("new", []corev1.Container{ctr("cpu", "2")}), pods(1, "cpu", "500m"), testNode,
			"OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 500, capacity: 2000"},
		{"memory", mkPod("new", []corev1.Container{ctr("memory", "3Gi")}), pods(2, "memory", "600Mi"), testNode,
			"OutOfmemory", "Pod was rejected: Node didn't have enough resource: memory, requested: 3221225472, used: 1258291200, capacity: 4294967296"},
		{"ephemeral storage", mkPod("new", []corev1.Container{ctr("ephemeral-storage", "11Gi")}), nil, testNode,
			"OutOfephemeral-storage", "Pod was rejected: Node didn't have enough resource: ephemeral-storage, requested: 11811160064, used: 0, capacity: 10737418240"},
		{"pods", mkPod("new", nil), pods(5), testNode,
			"OutOfpods", "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 5, capacity: 5"},
		{"pods before cpu", mkPod("new", []corev1.Container{ctr("cpu", "3")}), pods(5), testNode,
			"OutOfpods", "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 5, capacity: 5"},
		{"no pods allocatable", mkPod("new", nil), nil, Node{Allocatable: rl("cpu", "2")},
			"OutOfpods", "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 0, capacity: 0"},
		{"no requests fit a full node", mkPod("new", []corev1.Container{{Name: "c"}}), pods(4, "cpu", "500m", "memory", "1Gi"), testNode, "", ""},
		{"zero request fits a full node", mkPod("new", []corev1.Container{ctr("cpu", "0")}), pods(1, "cpu", "2"), testNode, "", ""},
		{"terminal pods do not count",
			mkPod("new", []corev1.Container{ctr("cpu", "2")}),
			[]*corev1.Pod{mkPod("done", []corev1.Container{ctr("cpu", "2")}, phase(corev1.PodSucceeded)),
				mkPod("failed", []corev1.Container{ctr("cpu", "2")}, phase(corev1.PodFailed)),
				mkPod("a", nil), mkPod("b", nil), mkPod("c", nil), mkPod("d", nil)},
			testNode, "", ""},
		{"pending pods count", mkPod("new", []corev1.Container{ctr("cpu", "2")}),
			[]*corev1.Pod{mkPod("pending", []corev1.Container{ctr("cpu", "1")}, phase(corev1.PodPending))}, testNode,
			"OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 1000, capacity: 2000"},
		{"the pod itself does not count", mkPod("new", []corev1.Container{ctr("cpu", "2")}),
			[]*corev1.Pod{mkPod("new", []corev1.Container{ctr("cpu", "2")})}, testNode, "", ""},
		{"init container fits alone", mkPod("new", []corev1.Container{ctr("cpu", "200m"), ctr("cpu", "200m")}, initPod), nil, testNode, "", ""},
		{"init container's request counts over the sum", mkPod("new", []corev1.Container{ctr("cpu", "200m"), ctr("cpu", "200m")}, initPod),
			pods(1, "cpu", "300m"), testNode,
			"OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 1800, used: 300, capacity: 2000"},
		{"an admitted pod's init request counts", mkPod("new", []corev1.Container{ctr("cpu", "300m")}),
			[]*corev1.Pod{mkPod("old", []corev1.Container{ctr("cpu", "100m")}, initPod)}, testNode,
			"OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 300, used: 1800, capacity: 2000"},
		{"overhead counts", mkPod("new", []corev1.Container{ctr("cpu", "1900m")}, func(p *corev1.Pod) { p.Spec.Overhead = rl("cpu", "250m") }), nil, testNode,
			"OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 2150, used: 0, capacity: 2000"},
		{"a limit without request is the request", mkPod("new", []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Limits: rl("memory", "5Gi")}}}), nil, testNode,
			"OutOfmemory", "Pod was rejected: Node didn't have enough resource: memory, requested: 5368709120, used: 0, capacity: 4294967296"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, Admit(tt.pod, tt.admitted, tt.node), tt.reason, tt.message)
		})
	}
}

func checkResult(t *testing.T, got Result, reason, message string) {
	t.Helper()
	want := Result{OK: reason == "", Reason: reason, Message: message}
	if got != want {
		t.Errorf("Admit = %+v\n        want %+v", got, want)
	}
}

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := func(kv ...string) corev1.Container {
		c := ctr(kv...)
		c.RestartPolicy = &always
		return c
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want corev1.ResourceList
	}{
		{"nothing", mkPod("p", []corev1.Container{{Name: "c"}}), rl()},
		{"sum of containers", mkPod("p", []corev1.Container{ctr("cpu", "100m", "memory", "1Gi"), ctr("cpu", "250m")}), rl("cpu", "350m", "memory", "1Gi")},
		{"max with each init container, per resource", mkPod("p", []corev1.Container{ctr("cpu", "100m", "memory", "1Gi")}, func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{ctr("cpu", "500m"), ctr("cpu", "200m", "memory", "512Mi")}
		}), rl("cpu", "500m", "memory", "1Gi")},
		{"sidecars add up, and to later init containers", mkPod("p", []corev1.Container{ctr("cpu", "1")}, func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{ctr("cpu", "1200m"), sidecar("cpu", "500m"), ctr("cpu", "1200m")}
		}), rl("cpu", "1700m")},
		{"sidecars alone", mkPod("p", []corev1.Container{ctr("cpu", "100m")}, func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{sidecar("cpu", "300m")}
		}), rl("cpu", "400m")},
		{"pod-level requests replace the containers'", mkPod("p", []corev1.Container{ctr("cpu", "100m", "memory", "1Gi")}, func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: rl("cpu", "2")}
			p.Spec.Overhead = rl("cpu", "100m", "memory", "64Mi")
		}), rl("cpu", "2100m", "memory", "1088Mi")},
		{"limits default requests", mkPod("p", []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: rl("cpu", "100m"), Limits: rl("cpu", "1", "memory", "256Mi")}}}), rl("cpu", "100m", "memory", "256Mi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodRequests(tt.pod)
			if len(got) != len(tt.want) {
				t.Fatalf("PodRequests = %v, want %v", got, tt.want)
			}
			for name, q := range tt.want {
				if g := got[name]; g.Cmp(q) != 0 {
					t.Errorf("%s = %s, want %s", name, g.String(), q.String())
				}
			}
		})
	}
}

func TestAdmitNodeAffinity(t *testing.T) {
	c := []corev1.Container{{Name: "c"}}
	name := func(op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: op, Values: values}}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		ok   bool
	}{
		{"no selector", mkPod("p", c), true},
		{"selector matches", mkPod("p", c, selector(map[string]string{"site": "plant-3", "gen": "3"})), true},
		{"selector value differs", mkPod("p", c, selector(map[string]string{"site": "plant-4"})), false},
		{"selector label missing", mkPod("p", c, selector(map[string]string{"gpu": ""})), false},
		{"In", mkPod("p", c, affinity(expr("site", "In", "plant-1", "plant-3"))), true},
		{"In, no value", mkPod("p", c, affinity(expr("site", "In", "plant-1"))), false},
		{"NotIn", mkPod("p", c, affinity(expr("site", "NotIn", "plant-1"))), true},
		{"NotIn, missing label", mkPod("p", c, affinity(expr("gpu", "NotIn", "a100"))), true},
		{"Exists", mkPod("p", c, affinity(expr("gen", "Exists"))), true},
		{"DoesNotExist", mkPod("p", c, affinity(expr("gen", "DoesNotExist"))), false},
		{"Gt", mkPod("p", c, affinity(expr("gen", "Gt", "2"))), true},
		{"Lt", mkPod("p", c, affinity(expr("gen", "Lt", "3"))), false},
		{"Gt, bad value", mkPod("p", c, affinity(expr("gen", "Gt", "two"))), false},
		{"terms are ORed", mkPod("p", c, affinity(expr("site", "In", "plant-1"), expr("gen", "Exists"))), true},
		{"requirements are ANDed", mkPod("p", c, affinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: "gen", Operator: "Exists"}, {Key: "site", Operator: "In", Values: []string{"plant-1"}}}})), false},
		{"empty term", mkPod("p", c, affinity(corev1.NodeSelectorTerm{})), false},
		{"no terms", mkPod("p", c, affinity()), false},
		{"name In", mkPod("p", c, affinity(name("In", "edge-1"))), true},
		{"name NotIn", mkPod("p", c, affinity(name("NotIn", "edge-1"))), false},
		{"other field", mkPod("p", c, affinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "spec.unschedulable", Operator: "In", Values: []string{"false"}}}})), false},
		{"selector and affinity both must match", mkPod("p", c, selector(map[string]string{"site": "plant-4"}), affinity(expr("gen", "Exists"))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ok {
				checkResult(t, Admit(tt.pod, nil, testNode), "", "")
			} else {
				checkResult(t, Admit(tt.pod, nil, testNode), "NodeAffinity", affinityMsg)
			}
		})
	}
}

func TestAdmitHostPorts(t *testing.T) {
	port := func(ip string, proto corev1.Protocol, n int32) corev1.ContainerPort {
		return corev1.ContainerPort{ContainerPort: 80, HostIP: ip, Protocol: proto, HostPort: n}
	}
	c := func() []corev1.Container { return []corev1.Container{{Name: "c"}} }
	tests := []struct {
		name      string
		want, has corev1.ContainerPort
		phase     corev1.PodPhase
		ok        bool
	}{
		{"same port", port("", "TCP", 8080), port("", "TCP", 8080), "", false},
		{"empty protocol is TCP", port("", "", 8080), port("", "TCP", 8080), "", false},
		{"other protocol", port("", "UDP", 8080), port("", "TCP", 8080), "", true},
		{"other port", port("", "TCP", 8081), port("", "TCP", 8080), "", true},
		{"same IP", port("10.0.0.7", "TCP", 8080), port("10.0.0.7", "TCP", 8080), "", false},
		{"other IPs", port("10.0.0.7", "TCP", 8080), port("10.0.0.8", "TCP", 8080), "", true},
		{"0.0.0.0 overlaps an IP", port("0.0.0.0", "TCP", 8080), port("10.0.0.8", "TCP", 8080), "", false},
		{"an IP overlaps 0.0.0.0", port("10.0.0.7", "TCP", 8080), port("0.0.0.0", "TCP", 8080), "", false},
		{"an IP overlaps the empty IP", port("10.0.0.7", "TCP", 8080), port("", "TCP", 8080), "", false},
		{"no host port", port("", "TCP", 0), port("", "TCP", 0), "", true},
		{"a terminal pod's port is free", port("", "TCP", 8080), port("", "TCP", 8080), corev1.PodSucceeded, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := mkPod("old", c(), withPorts(tt.has))
			if tt.phase != "" {
				old.Status.Phase = tt.phase
			}
			pod := mkPod("new", c(), withPorts(tt.want))
			if tt.ok {
				checkResult(t, Admit(pod, []*corev1.Pod{old}, testNode), "", "")
			} else {
				checkResult(t, Admit(pod, []*corev1.Pod{old}, testNode), "NodePorts", portsMsg)
			}
		})
	}
}

// The first failing check gives the reason, in the kubelet's order.
func TestAdmitOrder(t *testing.T) {
	used := mkPod("old", []corev1.Container{ctr("cpu", "1")}, withPorts(corev1.ContainerPort{HostPort: 80}))
	everything := func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{"site": "elsewhere"}
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{HostPort: 80}}
	}
	pod := mkPod("new", []corev1.Container{ctr("cpu", "2")}, everything)
	checkResult(t, Admit(pod, []*corev1.Pod{used}, testNode), "OutOfcpu",
		"Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 1000, capacity: 2000")
	pod = mkPod("new", []corev1.Container{ctr("cpu", "1")}, everything)
	checkResult(t, Admit(pod, []*corev1.Pod{used}, testNode), "NodeAffinity", affinityMsg)
	pod.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
	checkResult(t, Admit(pod, []*corev1.Pod{used}, testNode), "PodOSNotSupported",
		"Pod was rejected: Failed to admit pod as the OS field doesn't match node OS")
	pod = mkPod("new", []corev1.Container{ctr("cpu", "1")}, everything, selector(nil), func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Linux} })
	checkResult(t, Admit(pod, []*corev1.Pod{used}, testNode), "NodePorts", portsMsg)
}
