package nodestatus

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/common/config"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func testHostInfo() HostInfo {
	return HostInfo{
		Machine: Machine{
			KernelVersion: "6.8.0-45-generic",
			OSImage:       "Debian GNU/Linux 13 (trixie)",
			MachineID:     "0123456789abcdef0123456789abcdef",
			BootID:        "6c0e3a58-6b0e-4d2c-9f3c-2b1f7e5f4a10",
			Architecture:  "arm64",
		},
		Resources: Resources{
			CPUs:        4,
			MemoryBytes: 8 << 30,
			RootFSBytes: 64 << 30,
			Hostname:    "gw-17",
		},
	}
}

func testConfig() config.NodeStatus {
	return config.NodeStatus{
		MaxPods:       110,
		UpdatePeriod:  config.Duration{Duration: 10 * time.Second},
		LeaseDuration: config.Duration{Duration: 40 * time.Second},
		EventQPS:      5, EventBurst: 10, EventBuffer: 256,
	}
}

// obsOf is an observation of info with no runtime and no pressure.
func obsOf(info HostInfo) observation {
	return observation{HostInfo: info, pressure: underPressure(PressureReadings{}, thresholds{})}
}

var testID = identity{name: "edge-1", internalIP: "10.0.0.7", kubeletVersion: "v1.4.0"}

func qty(s string) resource.Quantity { return resource.MustParse(s) }

func TestStatusResources(t *testing.T) {
	tests := []struct {
		name     string
		reserved map[string]string
		want     map[corev1.ResourceName]string // allocatable
	}{
		{"nothing reserved", nil, map[corev1.ResourceName]string{"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "64Gi"}},
		{"cpu and memory reserved", map[string]string{"cpu": "500m", "memory": "1Gi"}, map[corev1.ResourceName]string{"cpu": "3500m", "memory": "7Gi", "pods": "110", "ephemeral-storage": "64Gi"}},
		{"more reserved than there is", map[string]string{"cpu": "8", "memory": "16Gi"}, map[corev1.ResourceName]string{"cpu": "0", "memory": "0", "pods": "110", "ephemeral-storage": "64Gi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Reserved = tt.reserved
			s := status(obsOf(testHostInfo()), cfg, testID, nil, t0)
			for name, want := range map[corev1.ResourceName]string{"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "64Gi"} {
				if got := s.Capacity[name]; got.Cmp(qty(want)) != 0 {
					t.Errorf("capacity %s = %s, want %s", name, got.String(), want)
				}
			}
			for name, want := range tt.want {
				if got := s.Allocatable[name]; got.Cmp(qty(want)) != 0 {
					t.Errorf("allocatable %s = %s, want %s", name, got.String(), want)
				}
			}
			if len(s.Capacity) != 4 || len(s.Allocatable) != 4 {
				t.Errorf("capacity %v, allocatable %v: want 4 resources each", s.Capacity, s.Allocatable)
			}
			exported := Allocatable(testHostInfo().Resources, cfg)
			if len(exported) != len(s.Allocatable) {
				t.Errorf("Allocatable %v, status allocatable %v", exported, s.Allocatable)
			}
			for name, q := range s.Allocatable {
				if got := exported[name]; got.Cmp(q) != 0 {
					t.Errorf("Allocatable %s = %s, status says %s", name, got.String(), q.String())
				}
			}
		})
	}
}

func TestStatusAddressesAndInfo(t *testing.T) {
	noHostname := testHostInfo()
	noHostname.Hostname = ""
	noIP := testID
	noIP.internalIP = ""
	tests := []struct {
		name string
		info HostInfo
		id   identity
		want []corev1.NodeAddress
	}{
		{"both", testHostInfo(), testID, []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.7"}, {Type: corev1.NodeHostName, Address: "gw-17"}}},
		{"no internal IP known", testHostInfo(), noIP, []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "gw-17"}}},
		{"no host name", noHostname, testID, []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.7"}, {Type: corev1.NodeHostName, Address: "edge-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := status(obsOf(tt.info), testConfig(), tt.id, nil, t0)
			if len(s.Addresses) != len(tt.want) {
				t.Fatalf("addresses %v, want %v", s.Addresses, tt.want)
			}
			for i := range tt.want {
				if s.Addresses[i] != tt.want[i] {
					t.Errorf("address %d = %v, want %v", i, s.Addresses[i], tt.want[i])
				}
			}
		})
	}

	s := status(obsOf(testHostInfo()), testConfig(), testID, nil, t0)
	want := corev1.NodeSystemInfo{
		MachineID: "0123456789abcdef0123456789abcdef", BootID: "6c0e3a58-6b0e-4d2c-9f3c-2b1f7e5f4a10",
		KernelVersion: "6.8.0-45-generic", OSImage: "Debian GNU/Linux 13 (trixie)",
		OperatingSystem: "linux", Architecture: "arm64", KubeletVersion: "v1.4.0",
	}
	if s.NodeInfo != want {
		t.Errorf("nodeInfo %+v\nwant     %+v", s.NodeInfo, want)
	}
	if s.DaemonEndpoints.KubeletEndpoint.Port != 10350 {
		t.Errorf("kubelet endpoint %+v", s.DaemonEndpoints)
	}
}

func TestConditionTransitions(t *testing.T) {
	before := metav1.NewTime(t0.Add(-time.Hour))
	now := t0
	healthy := status(obsOf(testHostInfo()), testConfig(), testID, nil, before.Time)
	notReady := healthy.DeepCopy()
	for i := range notReady.Conditions {
		if notReady.Conditions[i].Type == corev1.NodeReady {
			notReady.Conditions[i].Status = corev1.ConditionFalse
		}
	}
	tests := []struct {
		name string
		prev *corev1.NodeStatus
		// transitioned are the conditions whose lastTransitionTime is now.
		transitioned map[corev1.NodeConditionType]bool
	}{
		{"first status", nil, map[corev1.NodeConditionType]bool{"Ready": true, "MemoryPressure": true, "DiskPressure": true, "PIDPressure": true}},
		{"nothing changed", &healthy, map[corev1.NodeConditionType]bool{}},
		{"Ready was False", notReady, map[corev1.NodeConditionType]bool{"Ready": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := status(obsOf(testHostInfo()), testConfig(), testID, tt.prev, now)
			want := map[corev1.NodeConditionType]corev1.ConditionStatus{"Ready": "True", "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False"}
			if len(s.Conditions) != len(want) {
				t.Fatalf("conditions %v", s.Conditions)
			}
			for _, c := range s.Conditions {
				if c.Status != want[c.Type] {
					t.Errorf("%s = %s, want %s", c.Type, c.Status, want[c.Type])
				}
				if !c.LastHeartbeatTime.Time.Equal(now) {
					t.Errorf("%s heartbeat %v, want %v", c.Type, c.LastHeartbeatTime, now)
				}
				wantTransition := before.Time
				if tt.transitioned[c.Type] {
					wantTransition = now
				}
				if !c.LastTransitionTime.Time.Equal(wantTransition) {
					t.Errorf("%s transition %v, want %v", c.Type, c.LastTransitionTime, wantTransition)
				}
			}
			ready := s.Conditions[len(s.Conditions)-1]
			if ready.Type != corev1.NodeReady || ready.Reason != "EdgecoreReady" || ready.Message != "edgecore is running" {
				t.Errorf("ready condition %+v", ready)
			}
		})
	}
}

func TestNodeObject(t *testing.T) {
	cfg := testConfig()
	cfg.Labels = map[string]string{"site": "plant-3", "kubernetes.io/hostname": "override"}
	n := node(obsOf(testHostInfo()), cfg, testID, t0)
	if n.APIVersion != "v1" || n.Kind != "Node" || n.Name != "edge-1" {
		t.Fatalf("node %v %v %q", n.APIVersion, n.Kind, n.Name)
	}
	want := map[string]string{
		"node-role.kubernetes.io/edge":  "",
		"node-role.kubernetes.io/agent": "",
		"kubernetes.io/hostname":        "override", // Config.Labels come last
		"kubernetes.io/os":              "linux",
		"kubernetes.io/arch":            "arm64",
		"site":                          "plant-3",
	}
	if len(n.Labels) != len(want) {
		t.Errorf("labels %v, want %v", n.Labels, want)
	}
	for k, v := range want {
		if got, ok := n.Labels[k]; !ok || got != v {
			t.Errorf("label %s = %q (%v), want %q", k, got, ok, v)
		}
	}
	if len(n.Status.Conditions) != 4 || n.Status.NodeInfo.KubeletVersion != "v1.4.0" {
		t.Errorf("status %+v", n.Status)
	}
}

func TestKubeletVersion(t *testing.T) {
	tests := map[string]string{
		"v1.4.0":             "v1.4.0",
		"v0.3.0-12-gabc1234": "v0.3.0-12-gabc1234",
		"v1.4.0+dirty":       "v1.4.0+dirty",
		"1.4.0":              "v0.0.0-1.4.0",
		"dev":                "v0.0.0-dev",
		"(devel)":            "v0.0.0--devel-",
		"v1.4":               "v0.0.0-v1.4",
		"1.04":               "v0.0.0-unknown", // a numeric pre-release part may not start with 0
		"":                   "v0.0.0-unknown",
	}
	for in, want := range tests {
		if got := kubeletVersion(in); got != want {
			t.Errorf("kubeletVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
