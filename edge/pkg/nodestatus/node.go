package nodestatus

import (
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/tether-edge/tether/common/config"
)

// The Node's role labels (REFERENCE.md, "Edge node").
const (
	LabelEdge  = "node-role.kubernetes.io/edge"
	LabelAgent = "node-role.kubernetes.io/agent"
)

// KubeletPort is the port of edgecore's kubelet-style server
// (logs/exec/metrics), reported as the Node's kubelet endpoint.
const KubeletPort = 10350

// operatingSystem is the only one edgecore runs on.
const operatingSystem = "linux"

// identity is what the Node says of this edgecore, apart from the host.
type identity struct {
	// name is the Node's name.
	name string
	// internalIP is the address reported as InternalIP; "" for none.
	internalIP string
	// kubeletVersion is edgecore's version as a "v" semver (kubeletVersion).
	kubeletVersion string
}

// node is the Node registered for this edge: the role and well-known
// labels, cfg.Labels over them, and a status as of now.
func node(info HostInfo, cfg config.NodeStatus, id identity, now time.Time) *corev1.Node {
	labels := map[string]string{
		LabelEdge:              "",
		LabelAgent:             "",
		corev1.LabelHostname:   id.name,
		corev1.LabelOSStable:   operatingSystem,
		corev1.LabelArchStable: info.Architecture,
	}
	maps.Copy(labels, cfg.Labels)
	return &corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: id.name, Labels: labels},
		Status:     status(info, cfg, id, nil, now),
	}
}

// status is the Node's status as of now. A condition's lastTransitionTime
// is kept from prev (nil for none) when its status did not change.
func status(info HostInfo, cfg config.NodeStatus, id identity, prev *corev1.NodeStatus, now time.Time) corev1.NodeStatus {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(info.CPUs), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(info.MemoryBytes, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(cfg.MaxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(info.RootFSBytes, resource.BinarySI),
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: allocatable(capacity, cfg.Reserved),
		Conditions:  conditions(prev, now),
		Addresses:   addresses(info, id),
		DaemonEndpoints: corev1.NodeDaemonEndpoints{
			KubeletEndpoint: corev1.DaemonEndpoint{Port: KubeletPort},
		},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:       info.MachineID,
			BootID:          info.BootID,
			KernelVersion:   info.KernelVersion,
			OSImage:         info.OSImage,
			OperatingSystem: operatingSystem,
			Architecture:    info.Architecture,
			KubeletVersion:  id.kubeletVersion,
			// ContainerRuntimeVersion is Edged's to fill in.
		},
	}
}

// allocatable is capacity less reserved, never below zero.
func allocatable(capacity corev1.ResourceList, reserved map[string]string) corev1.ResourceList {
	out := capacity.DeepCopy()
	for name, v := range reserved {
		q, err := resource.ParseQuantity(v)
		c, ok := out[corev1.ResourceName(name)]
		if err != nil || !ok {
			continue // New rejects both
		}
		c.Sub(q)
		if c.Sign() < 0 {
			c.Set(0)
		}
		out[corev1.ResourceName(name)] = c
	}
	return out
}

// conditions are Ready and no pressure: edgecore reports only while it runs.
func conditions(prev *corev1.NodeStatus, now time.Time) []corev1.NodeCondition {
	return []corev1.NodeCondition{
		condition(prev, now, corev1.NodeMemoryPressure, corev1.ConditionFalse, "EdgecoreHasSufficientMemory", "edgecore has sufficient memory available"),
		condition(prev, now, corev1.NodeDiskPressure, corev1.ConditionFalse, "EdgecoreHasNoDiskPressure", "edgecore has no disk pressure"),
		condition(prev, now, corev1.NodePIDPressure, corev1.ConditionFalse, "EdgecoreHasSufficientPID", "edgecore has sufficient PID available"),
		condition(prev, now, corev1.NodeReady, corev1.ConditionTrue, "EdgecoreReady", "edgecore is running"),
	}
}

func condition(prev *corev1.NodeStatus, now time.Time, t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
	c := corev1.NodeCondition{
		Type:               t,
		Status:             s,
		Reason:             reason,
		Message:            msg,
		LastHeartbeatTime:  metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
	}
	if prev == nil {
		return c
	}
	for _, p := range prev.Conditions {
		if p.Type == t && p.Status == s {
			c.LastTransitionTime = p.LastTransitionTime
		}
	}
	return c
}

// addresses are the InternalIP, if known, and the host name.
func addresses(info HostInfo, id identity) []corev1.NodeAddress {
	var out []corev1.NodeAddress
	if id.internalIP != "" {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: id.internalIP})
	}
	host := info.Hostname
	if host == "" {
		host = id.name
	}
	return append(out, corev1.NodeAddress{Type: corev1.NodeHostName, Address: host})
}

// kubeletVersion is v if it is a semver starting with "v", otherwise
// v0.0.0-<v> with the characters a pre-release may not hold replaced by
// "-"; v0.0.0-unknown when even that is not a semver.
func kubeletVersion(v string) string {
	if strings.HasPrefix(v, "v") {
		if _, err := version.ParseSemantic(v); err == nil {
			return v
		}
	}
	clean := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, v)
	if s := "v0.0.0-" + clean; clean != "" {
		if _, err := version.ParseSemantic(s); err == nil {
			return s
		}
	}
	return "v0.0.0-unknown"
}
