package containerspec

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestLinuxResources(t *testing.T) {
	list := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	cases := []struct {
		name string
		req  corev1.ResourceRequirements
		want Resources
	}{
		{"nothing set", corev1.ResourceRequirements{}, Resources{CPUShares: 2}},
		{"request only", corev1.ResourceRequirements{Requests: list("cpu", "250m")}, Resources{CPUShares: 256}},
		{"limit only", corev1.ResourceRequirements{Limits: list("cpu", "1", "memory", "64Mi")},
			Resources{CPUShares: 1024, CPUPeriod: 100000, CPUQuota: 100000, MemoryLimit: 64 << 20}},
		{"request and limit", corev1.ResourceRequirements{Requests: list("cpu", "100m"), Limits: list("cpu", "500m")},
			Resources{CPUShares: 102, CPUPeriod: 100000, CPUQuota: 50000}},
		{"tiny values hit the minimums", corev1.ResourceRequirements{Requests: list("cpu", "1m"), Limits: list("cpu", "1m")},
			Resources{CPUShares: 2, CPUPeriod: 100000, CPUQuota: 1000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := LinuxResources(&corev1.Container{Resources: c.req}); got != c.want {
				t.Fatalf("got %+v; want %+v", got, c.want)
			}
		})
	}
}
