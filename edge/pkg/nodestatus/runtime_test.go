package nodestatus

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// fakeRuntime answers the status it was last set to.
type fakeRuntime struct {
	// mu guards status.
	mu     sync.Mutex
	status RuntimeStatus
}

func (r *fakeRuntime) RuntimeStatus() RuntimeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *fakeRuntime) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Err = err
}

// images are n images, the i-th of size i MB with i names.
func images(n int) []corev1.ContainerImage {
	var out []corev1.ContainerImage
	for i := 1; i <= n; i++ {
		img := corev1.ContainerImage{SizeBytes: int64(i) << 20}
		for j := range i {
			img.Names = append(img.Names, fmt.Sprintf("registry.local/img%d:%d", i, j))
		}
		out = append(out, img)
	}
	return out
}

func TestNodeImages(t *testing.T) {
	if got := nodeImages(nil); got != nil {
		t.Errorf("no images: %v", got)
	}
	in := images(60)
	got := nodeImages(in)
	if len(got) != 50 {
		t.Fatalf("%d images, want 50", len(got))
	}
	for i, img := range got {
		size := int64(60-i) << 20 // the largest first: 60 MB down to 11 MB
		if img.SizeBytes != size {
			t.Errorf("image %d: %d bytes, want %d", i, img.SizeBytes, size)
		}
		if len(img.Names) != 5 || img.Names[0] != fmt.Sprintf("registry.local/img%d:0", 60-i) {
			t.Errorf("image %d: names %v, want the first 5", i, img.Names)
		}
	}
	if in[0].SizeBytes != 1<<20 || len(in[59].Names) != 60 {
		t.Error("nodeImages changed its argument")
	}
	few := nodeImages(images(3))
	if len(few) != 3 || few[0].SizeBytes != 3<<20 || len(few[0].Names) != 3 || few[2].SizeBytes != 1<<20 {
		t.Errorf("3 images: %v", few)
	}
}

func TestStatusRuntime(t *testing.T) {
	healthy := &RuntimeStatus{Version: "containerd://2.4.2", Images: images(2)}
	plegErr := errors.New("PLEG is not healthy: pleg was last seen active 3m0s ago")
	tests := []struct {
		name                   string
		runtime                *RuntimeStatus
		version                string
		images                 int
		ready, reason, message string
	}{
		{"no runtime", nil, "", 0, "True", "EdgecoreReady", "edgecore is running"},
		{"healthy", healthy, "containerd://2.4.2", 2, "True", "EdgecoreReady", "edgecore is running"},
		{"PLEG unhealthy", &RuntimeStatus{Version: "containerd://2.4.2", Err: plegErr}, "containerd://2.4.2", 0,
			"False", "KubeletNotReady", "PLEG is not healthy: pleg was last seen active 3m0s ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := obsOf(testHostInfo())
			obs.runtime = tt.runtime
			s := status(obs, testConfig(), testID, nil, t0)
			if s.NodeInfo.ContainerRuntimeVersion != tt.version || len(s.Images) != tt.images {
				t.Errorf("runtime version %q, %d images; want %q, %d", s.NodeInfo.ContainerRuntimeVersion, len(s.Images), tt.version, tt.images)
			}
			ready := s.Conditions[len(s.Conditions)-1]
			if ready.Type != corev1.NodeReady || string(ready.Status) != tt.ready || ready.Reason != tt.reason || ready.Message != tt.message {
				t.Errorf("ready %+v, want %s %s %q", ready, tt.ready, tt.reason, tt.message)
			}
		})
	}
}

// The module reports the runtime at each status: Ready goes False with the
// runtime's error and back, each a transition, the rest not.
func TestModuleReportsRuntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := newFakeBus()
		o := testOptions(t, bus, 10*time.Second, time.Hour)
		rt := &fakeRuntime{status: RuntimeStatus{Version: "containerd://2.4.2", Images: images(70)}}
		o.Runtime = rt
		start0 := time.Now()
		stop := start(t, o)
		defer stop()
		synctest.Wait()
		s := sentStatus(t, bus)
		if s.NodeInfo.ContainerRuntimeVersion != "containerd://2.4.2" || len(s.Images) != 50 || s.Images[0].SizeBytes != 70<<20 {
			t.Fatalf("runtime %q, %d images", s.NodeInfo.ContainerRuntimeVersion, len(s.Images))
		}

		rt.setErr(errors.New("PLEG is not healthy: pleg was last seen active 3m0s ago"))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		ready := readyOf(t, sentStatus(t, bus))
		if ready.Status != "False" || ready.Reason != "KubeletNotReady" || ready.Message != "PLEG is not healthy: pleg was last seen active 3m0s ago" ||
			!ready.LastTransitionTime.Time.Equal(start0.Add(10*time.Second)) {
			t.Fatalf("ready with PLEG unhealthy: %+v", ready)
		}

		rt.setErr(nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		s = sentStatus(t, bus)
		ready = readyOf(t, s)
		if ready.Status != "True" || ready.Reason != "EdgecoreReady" || !ready.LastTransitionTime.Time.Equal(start0.Add(20*time.Second)) {
			t.Fatalf("ready once PLEG is healthy: %+v", ready)
		}
		for _, c := range s.Conditions {
			if c.Type != corev1.NodeReady && !c.LastTransitionTime.Time.Equal(start0) {
				t.Errorf("%s transitioned at %v", c.Type, c.LastTransitionTime)
			}
		}
	})
}

func readyOf(t *testing.T, s corev1.NodeStatus) corev1.NodeCondition {
	t.Helper()
	for _, c := range s.Conditions {
		if c.Type == corev1.NodeReady {
			return c
		}
	}
	t.Fatalf("no Ready in %v", s.Conditions)
	return corev1.NodeCondition{}
}
