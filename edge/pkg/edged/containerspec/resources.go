package containerspec

import (
	corev1 "k8s.io/api/core/v1"
)

// CPU settings as the kubelet computes them (cgroup v1 semantics; the
// runtime converts to cgroup v2 weights).
const (
	minShares      = 2
	sharesPerCPU   = 1024
	quotaPeriod    = 100000 // µs
	minQuotaPeriod = 1000   // µs
)

// Resources are a container's Linux resources.
type Resources struct {
	CPUShares   int64
	CPUPeriod   int64 // 0 without a CPU limit
	CPUQuota    int64 // 0 without a CPU limit
	MemoryLimit int64 // bytes; 0 without a memory limit
}

// LinuxResources maps c's requests and limits: CPU shares from the CPU
// request (or the limit when only a limit is set; the minimum otherwise),
// a CFS quota from the CPU limit, and the memory limit.
func LinuxResources(c *corev1.Container) Resources {
	var r Resources
	cpuReq, hasReq := c.Resources.Requests[corev1.ResourceCPU]
	cpuLim, hasLim := c.Resources.Limits[corev1.ResourceCPU]
	switch {
	case hasReq:
		r.CPUShares = shares(cpuReq.MilliValue())
	case hasLim:
		r.CPUShares = shares(cpuLim.MilliValue())
	default:
		r.CPUShares = minShares
	}
	if hasLim {
		r.CPUPeriod = quotaPeriod
		r.CPUQuota = max(cpuLim.MilliValue()*quotaPeriod/1000, minQuotaPeriod)
	}
	if mem, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimit = mem.Value()
	}
	return r
}

func shares(milliCPU int64) int64 {
	return max(milliCPU*sharesPerCPU/1000, minShares)
}
