package admit

import corev1 "k8s.io/api/core/v1"

// anyIP is the host IP that binds every address.
const anyIP = "0.0.0.0"

// hostPort is a host port a container binds, normalised: ip anyIP when
// empty, protocol TCP when empty.
type hostPort struct {
	ip       string
	protocol corev1.Protocol
	port     int32
}

// hostPorts are the host ports of pods' app containers, as the scheduler
// counts them.
func hostPorts(pods ...*corev1.Pod) []hostPort {
	var out []hostPort
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.HostPort <= 0 {
					continue
				}
				hp := hostPort{ip: cp.HostIP, protocol: cp.Protocol, port: cp.HostPort}
				if hp.ip == "" {
					hp.ip = anyIP
				}
				if hp.protocol == "" {
					hp.protocol = corev1.ProtocolTCP
				}
				out = append(out, hp)
			}
		}
	}
	return out
}

// fitsPorts says whether none of pod's host ports is taken by others: the
// same protocol and port on the same IP, or where either IP is anyIP.
func fitsPorts(pod *corev1.Pod, others []*corev1.Pod) bool {
	want := hostPorts(pod)
	if len(want) == 0 {
		return true
	}
	used := hostPorts(others...)
	for _, w := range want {
		for _, u := range used {
			if w.protocol == u.protocol && w.port == u.port && (w.ip == u.ip || w.ip == anyIP || u.ip == anyIP) {
				return false
			}
		}
	}
	return true
}
