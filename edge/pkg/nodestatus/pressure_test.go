package nodestatus

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/kubemsg"
)

func TestNewThresholds(t *testing.T) {
	tests := []struct {
		in   config.Pressure
		want thresholds
		ok   bool
	}{
		{config.Pressure{}, thresholds{}, true},
		{config.Pressure{MemoryAvailable: "100Mi", DiskAvailablePercent: 10, PIDAvailablePercent: 5}, thresholds{100 << 20, 10, 5}, true},
		{config.Pressure{MemoryAvailable: "0"}, thresholds{}, true},
		{config.Pressure{MemoryAvailable: "many"}, thresholds{}, false},
		{config.Pressure{MemoryAvailable: "-1"}, thresholds{}, false},
		{config.Pressure{DiskAvailablePercent: 101}, thresholds{}, false},
		{config.Pressure{PIDAvailablePercent: -5}, thresholds{}, false},
	}
	for _, tt := range tests {
		got, err := newThresholds(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("newThresholds(%+v) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if (thresholds{}).set() || !(thresholds{pidPercent: 1}).set() {
		t.Error("set: want false for the zero thresholds only")
	}
}

func TestUnderPressure(t *testing.T) {
	th := thresholds{memoryAvailable: 100 << 20, diskPercent: 10, pidPercent: 5}
	calm := PressureReadings{
		MemAvailableBytes: 1 << 30,
		FileSystems:       []FSUsage{{"/", 50 << 30, 100 << 30}, {"/var/lib/containerd", 50 << 30, 100 << 30}},
		PIDs:              300, PIDMax: 4096,
	}
	with := func(change func(*PressureReadings)) PressureReadings {
		r := calm
		r.FileSystems = slices.Clone(calm.FileSystems)
		change(&r)
		return r
	}
	tests := []struct {
		name string
		r    PressureReadings
		th   thresholds
		want []corev1.NodeConditionType // the True ones
	}{
		{"calm", calm, th, nil},
		{"memory at the threshold", with(func(r *PressureReadings) { r.MemAvailableBytes = 100 << 20 }), th, nil},
		{"memory a byte under", with(func(r *PressureReadings) { r.MemAvailableBytes = 100<<20 - 1 }), th, []corev1.NodeConditionType{"MemoryPressure"}},
		{"root fs at 10%", with(func(r *PressureReadings) { r.FileSystems[0].AvailableBytes = 10 << 30 }), th, nil},
		{"root fs under 10%", with(func(r *PressureReadings) { r.FileSystems[0].AvailableBytes = 10<<30 - 1 }), th, []corev1.NodeConditionType{"DiskPressure"}},
		{"image fs under 10%", with(func(r *PressureReadings) { r.FileSystems[1].AvailableBytes = 1 << 30 }), th, []corev1.NodeConditionType{"DiskPressure"}},
		{"empty fs is no pressure", with(func(r *PressureReadings) { r.FileSystems[1] = FSUsage{Path: "/x"} }), th, nil},
		{"pids: 5% free", with(func(r *PressureReadings) { r.PIDMax, r.PIDs = 1000, 950 }), th, nil},
		{"pids: under 5% free", with(func(r *PressureReadings) { r.PIDMax, r.PIDs = 1000, 951 }), th, []corev1.NodeConditionType{"PIDPressure"}},
		{"all", PressureReadings{FileSystems: []FSUsage{{"/", 0, 1}}, PIDs: 10, PIDMax: 10}, th, []corev1.NodeConditionType{"MemoryPressure", "DiskPressure", "PIDPressure"}},
		{"all, no thresholds", PressureReadings{FileSystems: []FSUsage{{"/", 0, 1}}, PIDs: 10, PIDMax: 10}, thresholds{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := underPressure(tt.r, tt.th)
			if len(got) != 3 {
				t.Fatalf("underPressure = %v, want the 3 conditions", got)
			}
			for typ, under := range got {
				if want := slices.Contains(tt.want, typ); under != want {
					t.Errorf("%s = %v, want %v", typ, under, want)
				}
			}
		})
	}
}

// Each pressure condition has the kubelet's reason and message for its
// status; an unknown pressure keeps the last status and its transition.
func TestPressureConditions(t *testing.T) {
	before := t0.Add(-time.Hour)
	obs := obsOf(testHostInfo())
	obs.pressure = map[corev1.NodeConditionType]bool{"MemoryPressure": true, "DiskPressure": false, "PIDPressure": true}
	pressed := status(obs, testConfig(), testID, nil, before)
	want := map[corev1.NodeConditionType][3]string{
		"MemoryPressure": {"True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"},
		"DiskPressure":   {"False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		"PIDPressure":    {"True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available"},
		"Ready":          {"True", "EdgecoreReady", "edgecore is running"},
	}
	checkConditions(t, "pressed", pressed, want)

	unknown := obsOf(testHostInfo())
	unknown.pressure = nil
	s := status(unknown, testConfig(), testID, &pressed, t0)
	checkConditions(t, "unknown after pressed", s, want)
	for _, c := range s.Conditions {
		if !c.LastTransitionTime.Time.Equal(before) || !c.LastHeartbeatTime.Time.Equal(t0) {
			t.Errorf("%s: transition %v, heartbeat %v; want %v, %v", c.Type, c.LastTransitionTime, c.LastHeartbeatTime, before, t0)
		}
	}

	s = status(obsOf(testHostInfo()), testConfig(), testID, &s, t0.Add(time.Minute))
	checkConditions(t, "relieved", s, map[corev1.NodeConditionType][3]string{
		"MemoryPressure": {"False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		"DiskPressure":   {"False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		"PIDPressure":    {"False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		"Ready":          {"True", "EdgecoreReady", "edgecore is running"},
	})
	for _, c := range s.Conditions {
		changed := c.Type == corev1.NodeMemoryPressure || c.Type == corev1.NodePIDPressure
		if got := c.LastTransitionTime.Time.Equal(t0.Add(time.Minute)); got != changed {
			t.Errorf("relieved %s: transition %v, changed %v", c.Type, c.LastTransitionTime, changed)
		}
	}

	s = status(unknown, testConfig(), testID, nil, t0)
	checkConditions(t, "unknown at first", s, map[corev1.NodeConditionType][3]string{
		"MemoryPressure": {"False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		"DiskPressure":   {"False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		"PIDPressure":    {"False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		"Ready":          {"True", "EdgecoreReady", "edgecore is running"},
	})
}

// checkConditions checks s has exactly the conditions of want, each with
// its status, reason and message.
func checkConditions(t *testing.T, what string, s corev1.NodeStatus, want map[corev1.NodeConditionType][3]string) {
	t.Helper()
	if len(s.Conditions) != len(want) {
		t.Fatalf("%s: conditions %v, want %v", what, s.Conditions, want)
	}
	for _, c := range s.Conditions {
		if got := [3]string{string(c.Status), c.Reason, c.Message}; got != want[c.Type] {
			t.Errorf("%s: %s = %q, want %q", what, c.Type, got, want[c.Type])
		}
	}
}

// The module reads the pressure of "/" and the image filesystem at each
// report and keeps the conditions while the reading fails; without
// thresholds it never reads it.
func TestModuleReportsPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		o := testOptions(t, bus, 10*time.Second, time.Hour)
		host := o.Host.(*fakeHost)
		host.setPressure(PressureReadings{MemAvailableBytes: 50 << 20, FileSystems: []FSUsage{{"/", 50, 100}}, PIDs: 1, PIDMax: 100}, nil)
		o.Pressure = config.Pressure{MemoryAvailable: "100Mi", DiskAvailablePercent: 10, PIDAvailablePercent: 5}
		o.ImageFSPath = "/var/lib/containerd/"
		stop := start(t, o)
		defer stop()
		synctest.Wait()
		if got := conditionStatus(t, sentStatus(t, bus), "MemoryPressure"); got != "True" {
			t.Fatalf("MemoryPressure %s with 50Mi available", got)
		}
		if asked := host.pressureCalls(); len(asked) != 1 || !slices.Equal(asked[0], []string{"/", "/var/lib/containerd"}) {
			t.Fatalf("Pressure calls %q", asked)
		}

		host.setPressure(PressureReadings{}, errors.New("no /proc"))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := conditionStatus(t, sentStatus(t, bus), "MemoryPressure"); got != "True" {
			t.Fatalf("MemoryPressure %s after a failed reading, want it kept", got)
		}
		host.setPressure(PressureReadings{MemAvailableBytes: 1 << 30, PIDMax: 100}, nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := conditionStatus(t, sentStatus(t, bus), "MemoryPressure"); got != "False" {
			t.Fatalf("MemoryPressure %s with 1Gi available", got)
		}
	})

	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		o := testOptions(t, bus, 10*time.Second, time.Hour)
		host := o.Host.(*fakeHost)
		host.setPressure(PressureReadings{}, nil) // everything under pressure, were it asked
		stop := start(t, o)
		defer stop()
		time.Sleep(25 * time.Second)
		synctest.Wait()
		if asked := host.pressureCalls(); len(asked) != 0 {
			t.Fatalf("Pressure called %d times without thresholds", len(asked))
		}
		s := sentStatus(t, bus)
		for _, typ := range []corev1.NodeConditionType{"MemoryPressure", "DiskPressure", "PIDPressure"} {
			if got := conditionStatus(t, s, typ); got != "False" {
				t.Errorf("%s = %s without thresholds", typ, got)
			}
		}
	})
}

// sentStatus is the newest node status sent to the sink.
func sentStatus(t *testing.T, bus fakeBus) corev1.NodeStatus {
	t.Helper()
	sent := bus.Sent()
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].Route.Resource.Type == kubemsg.TypeNodeStatus {
			var s corev1.NodeStatus
			if err := json.Unmarshal(sent[i].Content, &s); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatal("no node status sent")
	return corev1.NodeStatus{}
}

// conditionStatus is the status of the condition typ of s.
func conditionStatus(t *testing.T, s corev1.NodeStatus, typ corev1.NodeConditionType) corev1.ConditionStatus {
	t.Helper()
	for _, c := range s.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	t.Fatalf("no %s condition in %v", typ, s.Conditions)
	return ""
}
