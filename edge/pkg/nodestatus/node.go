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

// observation is what one status reports, read at one time.
type observation struct {
	HostInfo
	// runtime is the pod runtime's state; nil when there is no runtime.
	runtime *RuntimeStatus
	// pressure says which pressure conditions are True; nil when unknown
	// (the host could not be read): each keeps its last status.
	pressure map[corev1.NodeConditionType]bool
}

// node is the Node registered for this edge: the role and well-known
// labels, cfg.Labels over them, and a status as of now.
func node(obs observation, cfg config.NodeStatus, id identity, now time.Time) *corev1.Node {
	labels := map[string]string{
		LabelEdge:              "",
		LabelAgent:             "",
		corev1.LabelHostname:   id.name,
		corev1.LabelOSStable:   operatingSystem,
		corev1.LabelArchStable: obs.Architecture,
	}
	maps.Copy(labels, cfg.Labels)
	return &corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: id.name, Labels: labels},
		Status:     status(obs, cfg, id, nil, now),
	}
}

// status is the Node's status as of now. A condition's lastTransitionTime
// is kept from prev (nil for none) when its status did not change.
func status(obs observation, cfg config.NodeStatus, id identity, prev *corev1.NodeStatus, now time.Time) corev1.NodeStatus {
	c := capacity(obs.Resources, cfg)
	s := corev1.NodeStatus{
		Capacity:    c,
		Allocatable: allocatable(c, cfg.Reserved),
		Conditions:  conditions(obs, prev, now),
		Addresses:   addresses(obs.HostInfo, id),
		DaemonEndpoints: corev1.NodeDaemonEndpoints{
			KubeletEndpoint: corev1.DaemonEndpoint{Port: KubeletPort},
		},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:       obs.MachineID,
			BootID:          obs.BootID,
			KernelVersion:   obs.KernelVersion,
			OSImage:         obs.OSImage,
			OperatingSystem: operatingSystem,
			Architecture:    obs.Architecture,
			KubeletVersion:  id.kubeletVersion,
		},
	}
	if obs.runtime != nil {
		s.NodeInfo.ContainerRuntimeVersion = obs.runtime.Version
		s.Images = nodeImages(obs.runtime.Images)
	}
	return s
}

// Allocatable is what the Node reports allocatable on a host with r and
// edgecore's nodeStatus section cfg: the capacity (cpu, memory, pods =
// cfg.MaxPods, ephemeral-storage = the root filesystem) less cfg.Reserved,
// never below zero. Edged admits pods against it, so a pod is refused by
// the numbers the scheduler sees.
func Allocatable(r Resources, cfg config.NodeStatus) corev1.ResourceList {
	return allocatable(capacity(r, cfg), cfg.Reserved)
}

// capacity is the host's resources and cfg.MaxPods as a Node reports them.
func capacity(r Resources, cfg config.NodeStatus) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(r.CPUs), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(r.MemoryBytes, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(cfg.MaxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(r.RootFSBytes, resource.BinarySI),
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

// conditions are the pressure conditions as obs.pressure says, and Ready:
// False with the runtime's error while it has one, else True (edgecore
// reports only while it runs).
func conditions(obs observation, prev *corev1.NodeStatus, now time.Time) []corev1.NodeCondition {
	var out []corev1.NodeCondition
	for _, k := range pressureKinds {
		under, known := obs.pressure[k.typ]
		if !known {
			under = lastStatus(prev, k.typ) == corev1.ConditionTrue
		}
		if under {
			out = append(out, condition(prev, now, k.typ, corev1.ConditionTrue, k.reasonTrue, k.messageTrue))
		} else {
			out = append(out, condition(prev, now, k.typ, corev1.ConditionFalse, k.reasonFalse, k.messageFalse))
		}
	}
	if obs.runtime != nil && obs.runtime.Err != nil {
		return append(out, condition(prev, now, corev1.NodeReady, corev1.ConditionFalse, "KubeletNotReady", obs.runtime.Err.Error()))
	}
	return append(out, condition(prev, now, corev1.NodeReady, corev1.ConditionTrue, "EdgecoreReady", "edgecore is running"))
}

// lastStatus is the status of condition t in prev; "" if none.
func lastStatus(prev *corev1.NodeStatus, t corev1.NodeConditionType) corev1.ConditionStatus {
	if prev == nil {
		return ""
	}
	for _, c := range prev.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
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
