package podruntime

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// maxHostnameLen is the longest hostname a pod gets (a DNS label).
const maxHostnameLen = 63

// SandboxParams is what a sandbox config takes from the node rather than
// the pod.
type SandboxParams struct {
	NodeName   string
	PodLogsDir string
	// ClusterDNS and ClusterDomain serve the ClusterFirst DNS policies;
	// with no ClusterDNS they fall back to Default.
	ClusterDNS    []string
	ClusterDomain string
	// HostHostname is ignored: a hostNetwork pod shares the host's UTS
	// namespace, so it has the host's hostname already, and runc refuses
	// to set one there ("unable to set hostname without a private UTS
	// namespace"); its sandbox config leaves Hostname empty, as the
	// kubelet's does.
	HostHostname string
	// HostDNS is the host's resolv.conf, the base the pod's dnsConfig is
	// merged into under the Default policy; nil is an empty one.
	HostDNS *runtimeapi.DNSConfig
}

// LogDir is a pod's log folder: <podLogsDir>/<namespace>_<name>_<uid>.
func LogDir(podLogsDir, namespace, name string, uid types.UID) string {
	return filepath.Join(podLogsDir, namespace+"_"+name+"_"+string(uid))
}

// SandboxConfig is pod's CRI sandbox config for attempt (pure, exported for
// tests). The cgroup parent is left empty: the runtime's default cgroup
// (Edged does not keep a QoS cgroup tree).
func SandboxConfig(pod *corev1.Pod, attempt uint32, p SandboxParams) (*runtimeapi.PodSandboxConfig, error) {
	ports, err := portMappings(pod)
	if err != nil {
		return nil, err
	}
	labels := maps.Clone(pod.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, podLabels(pod))
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{
			Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt,
		},
		Hostname:     hostname(pod),
		LogDirectory: LogDir(p.PodLogsDir, pod.Namespace, pod.Name, pod.UID),
		DnsConfig:    dnsConfig(pod, p),
		PortMappings: ports,
		Labels:       labels,
		Annotations:  maps.Clone(pod.Annotations),
		Linux:        linuxSandbox(pod),
	}, nil
}

// podLabels are the labels naming the pod on every sandbox and container.
func podLabels(pod *corev1.Pod) map[string]string {
	return map[string]string{
		runstate.LabelPodUID:       string(pod.UID),
		runstate.LabelPodName:      pod.Name,
		runstate.LabelPodNamespace: pod.Namespace,
	}
}

// hostname is the pod's hostname: spec.hostname or the pod's name, cut
// to 63 characters without a trailing '-' or '.'; none for hostNetwork
// (see SandboxParams.HostHostname).
func hostname(pod *corev1.Pod) string {
	if pod.Spec.HostNetwork {
		return ""
	}
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > maxHostnameLen {
		h = strings.TrimRight(h[:maxHostnameLen], "-.")
	}
	return h
}

// portMappings maps the app containers' ports that have a host port.
func portMappings(pod *corev1.Pod) ([]*runtimeapi.PortMapping, error) {
	var out []*runtimeapi.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto, err := protocol(p.Protocol)
			if err != nil {
				return nil, fmt.Errorf("container %s port %d: %w", c.Name, p.ContainerPort, err)
			}
			out = append(out, &runtimeapi.PortMapping{
				Protocol: proto, ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIp: p.HostIP,
			})
		}
	}
	return out, nil
}

func protocol(p corev1.Protocol) (runtimeapi.Protocol, error) {
	switch p {
	case corev1.ProtocolTCP, "":
		return runtimeapi.Protocol_TCP, nil
	case corev1.ProtocolUDP:
		return runtimeapi.Protocol_UDP, nil
	case corev1.ProtocolSCTP:
		return runtimeapi.Protocol_SCTP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q", p)
}

// namespaces are the pod's Linux namespace modes, the same for the sandbox
// and each of its containers.
func namespaces(pod *corev1.Pod) *runtimeapi.NamespaceOption {
	mode := func(host bool, notHost runtimeapi.NamespaceMode) runtimeapi.NamespaceMode {
		if host {
			return runtimeapi.NamespaceMode_NODE
		}
		return notHost
	}
	pid := runtimeapi.NamespaceMode_CONTAINER
	if share := pod.Spec.ShareProcessNamespace; share != nil && *share {
		pid = runtimeapi.NamespaceMode_POD
	}
	return &runtimeapi.NamespaceOption{
		Network: mode(pod.Spec.HostNetwork, runtimeapi.NamespaceMode_POD),
		Pid:     mode(pod.Spec.HostPID, pid),
		Ipc:     mode(pod.Spec.HostIPC, runtimeapi.NamespaceMode_POD),
	}
}

// linuxSandbox is the sandbox's Linux config: namespaces, the pod's
// user, groups and sysctls. The sandbox is privileged when any container
// is, since the runtime refuses privileged containers in an unprivileged
// sandbox.
func linuxSandbox(pod *corev1.Pod) *runtimeapi.LinuxPodSandboxConfig {
	sc := &runtimeapi.LinuxSandboxSecurityContext{
		NamespaceOptions: namespaces(pod),
		Privileged:       anyPrivileged(pod),
	}
	var sysctls map[string]string
	if psc := pod.Spec.SecurityContext; psc != nil {
		sc.RunAsUser = int64Value(psc.RunAsUser)
		sc.RunAsGroup = int64Value(psc.RunAsGroup)
		sc.SupplementalGroups = supplementalGroups(psc)
		for _, s := range psc.Sysctls {
			if sysctls == nil {
				sysctls = map[string]string{}
			}
			sysctls[s.Name] = s.Value
		}
	}
	return &runtimeapi.LinuxPodSandboxConfig{SecurityContext: sc, Sysctls: sysctls}
}

// supplementalGroups are the pod's fsGroup (first) and supplemental groups.
func supplementalGroups(psc *corev1.PodSecurityContext) []int64 {
	if psc == nil {
		return nil
	}
	var groups []int64
	if psc.FSGroup != nil {
		groups = append(groups, *psc.FSGroup)
	}
	return append(groups, psc.SupplementalGroups...)
}

func anyPrivileged(pod *corev1.Pod) bool {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				return true
			}
		}
	}
	return false
}

func int64Value(v *int64) *runtimeapi.Int64Value {
	if v == nil {
		return nil
	}
	return &runtimeapi.Int64Value{Value: *v}
}
