package gc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// mkfiles creates empty files (and their folders) under dir.
func mkfiles(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// files lists the files under dir, relative, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestCollectContainers(t *testing.T) {
	ready, notReady := runstate.SandboxReady, runstate.SandboxNotReady
	rt := &fakeRuntime{snap: snapshot(
		// live: four exited attempts of app; keep 2.
		pod("live", []runstate.Sandbox{sb("sbL", ready)},
			exited("l3", "sbL", "app", 3, 3*time.Minute), exited("l2", "sbL", "app", 2, 2*time.Minute),
			exited("l1", "sbL", "app", 1, time.Minute), exited("l0", "sbL", "app", 0, 0)),
		// dead: not live, everything goes.
		pod("dead", []runstate.Sandbox{sb("sbD", notReady)}, exited("d0", "sbD", "app", 0, 0)),
		// running: not live but still running: its logs stay.
		pod("running", []runstate.Sandbox{sb("sbR", ready)},
			withState(exited("r0", "sbR", "app", 0, 0), runstate.ContainerRunning)),
	)}
	logs := t.TempDir()
	mkfiles(t, logs,
		"ns_name-live_live/app/0.log", "ns_name-live_live/app/0.log.20260101-000000.gz", "ns_name-live_live/app/1.log",
		"ns_name-live_live/app/2.log", "ns_name-live_live/app/3.log", "ns_name-live_live/app/10.log",
		"ns_name-dead_dead/app/0.log",
		"ns_name-gone_gone/app/0.log",   // a pod the runtime no longer holds
		"ns_name-live2_live2/app/0.log", // live, not started yet
		"ns_name-running_running/app/0.log",
		"not-a-pod/x.log", "ns_file_uid", // not pod folders: left alone
	)
	c := newTestCollector(t, Options{
		Runtime: rt, PodLogsDir: logs, Live: liveSet("live", "live2"),
		Containers: config.ContainerGC{MaxPerContainer: 2},
	})
	r, err := c.CollectContainers(t.Context())
	if err != nil {
		t.Fatalf("CollectContainers: %v", err)
	}
	if want := (Removed{Containers: 3, Sandboxes: 1, LogDirs: 2}); r != want {
		t.Errorf("Removed = %+v, want %+v", r, want)
	}
	removed, _, _ := rt.calls()
	if want := []string{"container d0", "container l0", "container l1", "sandbox sbD"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v (containers first, then sandboxes)", removed, want)
	}
	wantFiles := []string{
		"not-a-pod/x.log", "ns_file_uid",
		"ns_name-live2_live2/app/0.log",
		"ns_name-live_live/app/10.log", "ns_name-live_live/app/2.log", "ns_name-live_live/app/3.log",
		"ns_name-running_running/app/0.log",
	}
	if got := files(t, logs); !slices.Equal(got, wantFiles) {
		t.Errorf("log files left:\n%v\nwant\n%v", got, wantFiles)
	}

	r, err = c.CollectContainers(t.Context())
	if err != nil || r != (Removed{}) {
		t.Errorf("second pass: %+v, %v; want nothing removed", r, err)
	}
}

// TestCollectContainersFailures: a container that cannot be removed keeps
// its sandbox and its pod's logs, and the error names it; NotFound is no
// error and counts nothing.
func TestCollectContainersFailures(t *testing.T) {
	notReady := runstate.SandboxNotReady
	rt := &fakeRuntime{
		snap: snapshot(
			pod("a", []runstate.Sandbox{sb("sbA", notReady)}, exited("stuck", "sbA", "app", 0, 0)),
			pod("b", []runstate.Sandbox{sb("sbB", notReady)}, exited("vanished", "sbB", "app", 0, 0)),
		),
		failRemove: map[string]bool{"stuck": true},
		goneRemove: map[string]bool{"vanished": true},
	}
	logs := t.TempDir()
	mkfiles(t, logs, "ns_name-a_a/app/0.log", "ns_name-b_b/app/0.log")
	c := newTestCollector(t, Options{Runtime: rt, PodLogsDir: logs, Live: liveSet()})
	r, err := c.CollectContainers(t.Context())
	if err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Errorf("CollectContainers error %v, want one naming container stuck", err)
	}
	if want := (Removed{Sandboxes: 1, LogDirs: 1}); r != want {
		t.Errorf("Removed = %+v, want %+v", r, want)
	}
	if removed, _, _ := rt.calls(); !slices.Equal(removed, []string{"sandbox sbB"}) {
		t.Errorf("removed %v, want only sandbox sbB", removed)
	}
	if got, want := files(t, logs), []string{"ns_name-a_a/app/0.log"}; !slices.Equal(got, want) {
		t.Errorf("log files left %v, want %v", got, want)
	}
}

func TestCollectImages(t *testing.T) {
	now := t0
	var usage struct {
		sync.Mutex
		used, total uint64
		path        string
	}
	setUsed := func(used uint64) { usage.Lock(); usage.used = used; usage.Unlock() }
	rt := &fakeRuntime{
		mountpoint: "/var/lib/containerd/snapshots",
		snap: snapshot(pod("p", nil,
			runstate.Container{ID: "c1", Name: "a", State: runstate.ContainerExited, Image: "repo/a:1", ImageRef: "sha256:a"},
			runstate.Container{ID: "c2", Name: "b", State: runstate.ContainerRunning, Image: "repo/b:1"},
			runstate.Container{ID: "c3", Name: "c", State: runstate.ContainerCreated, ImageRef: "repo/c@sha256:cc"},
		)),
		images: []*runtimeapi.Image{
			{Id: "sha256:a", Size: 10},
			{Id: "sha256:b", RepoTags: []string{"repo/b:1"}, Size: 10},
			{Id: "sha256:c", RepoDigests: []string{"repo/c@sha256:cc"}, Size: 10},
			{Id: "sha256:pause", Size: 10, Pinned: true},
			{Id: "sha256:sandbox", RepoTags: []string{"repo/pause:1"}, Size: 10}, // Options.PinnedImages
			{Id: "sha256:old", Size: 10},
			{Id: "sha256:stuck", Size: 10},
		},
		failRemove: map[string]bool{"sha256:stuck": true},
	}
	c := newTestCollector(t, Options{
		Runtime: rt, Live: liveSet(), PinnedImages: []string{"repo/pause:1"},
		Images: config.ImageGC{HighThresholdPercent: 80, LowThresholdPercent: 10, MinAge: config.Duration{Duration: time.Minute}},
		FSUsage: func(path string) (uint64, uint64, error) {
			usage.Lock()
			defer usage.Unlock()
			usage.path = path
			return usage.used, usage.total, nil
		},
		Now: func() time.Time { return now },
	})
	usage.total = 100
	setUsed(90)
	// First pass: every image is new (first seen now): nothing old enough.
	if freed, err := c.CollectImages(t.Context()); freed != 0 || err != nil {
		t.Fatalf("first pass: freed %d, %v; want nothing (all new)", freed, err)
	}
	if usage.path != rt.mountpoint {
		t.Errorf("measured %q, want the image file system %q", usage.path, rt.mountpoint)
	}
	// The containers go; images a, b, c were last used at t0.
	rt.snap = snapshot()
	now = t0.Add(2 * time.Minute)
	setUsed(50)
	if freed, err := c.CollectImages(t.Context()); freed != 0 || err != nil {
		t.Fatalf("below the threshold: freed %d, %v; want nothing", freed, err)
	}
	setUsed(90)
	freed, err := c.CollectImages(t.Context())
	if err == nil || !strings.Contains(err.Error(), "sha256:stuck") {
		t.Errorf("error %v, want one naming the image that failed", err)
	}
	if freed != 40 {
		t.Errorf("freed %d, want 40", freed)
	}
	removed, _, _ := rt.calls()
	if want := []string{"image sha256:a", "image sha256:b", "image sha256:c", "image sha256:old"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v (never the pinned ones)", removed, want)
	}
}

// TestImageUseTracking: an image in use is not freed, and once unused it
// waits MinAge from its last use, not from when it was first seen.
func TestImageUseTracking(t *testing.T) {
	now := t0
	inUse := snapshot(pod("p", nil, runstate.Container{ID: "c", Name: "a", State: runstate.ContainerExited, ImageRef: "sha256:a"}))
	rt := &fakeRuntime{mountpoint: "/m", snap: inUse, images: []*runtimeapi.Image{{Id: "sha256:a", Size: 10}}}
	c := newTestCollector(t, Options{
		Runtime: rt, Live: liveSet(),
		Images:  config.ImageGC{HighThresholdPercent: 1, MinAge: config.Duration{Duration: 10 * time.Minute}},
		FSUsage: func(string) (uint64, uint64, error) { return 90, 100, nil },
		Now:     func() time.Time { return now },
	})
	for _, step := range []struct {
		at      time.Duration
		snap    *runstate.Snapshot
		wantGot uint64
	}{
		{0, inUse, 0},
		{20 * time.Minute, inUse, 0},       // in use
		{25 * time.Minute, snapshot(), 0},  // unused, but last used 5m ago
		{30 * time.Minute, snapshot(), 10}, // last used 10m ago
	} {
		now = t0.Add(step.at)
		rt.mu.Lock()
		rt.snap = step.snap
		rt.mu.Unlock()
		if freed, err := c.CollectImages(t.Context()); freed != step.wantGot || err != nil {
			t.Errorf("at %v: freed %d, %v; want %d", step.at, freed, err, step.wantGot)
		}
	}
}

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRuntime{snap: snapshot(), mountpoint: "/m"}
		c := newTestCollector(t, Options{
			Runtime: rt, Live: liveSet(),
			Containers: config.ContainerGC{Period: config.Duration{Duration: time.Minute}},
			Images:     config.ImageGC{Period: config.Duration{Duration: 3 * time.Minute}},
			FSUsage:    func(string) (uint64, uint64, error) { return 0, 0, errors.New("no disk") },
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		for _, step := range []struct {
			after             time.Duration
			lists, imageLists int
		}{
			{0, 0, 0},
			{time.Minute, 1, 0},
			{2 * time.Minute, 4, 1}, // at 3m: a container pass and an image pass
			{3 * time.Minute, 8, 2}, // the failing image pass did not stop the loop
		} {
			time.Sleep(step.after)
			synctest.Wait()
			// Each image pass lists containers too.
			if _, lists, imageLists := rt.calls(); lists != step.lists || imageLists != step.imageLists {
				t.Errorf("after %v more: %d lists, %d image lists; want %d, %d", step.after, lists, imageLists, step.lists, step.imageLists)
			}
		}
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run did not return after cancel")
		}
	})
}

func TestNew(t *testing.T) {
	rt := &fakeRuntime{}
	live := liveSet()
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"defaults", Options{Runtime: rt, Live: live}, true},
		{"no runtime", Options{Live: live}, false},
		{"no live", Options{Runtime: rt}, false},
		{"negative keep", Options{Runtime: rt, Live: live, Containers: config.ContainerGC{MaxPerContainer: -1}}, false},
		{"negative min age", Options{Runtime: rt, Live: live, Images: config.ImageGC{MinAge: config.Duration{Duration: -1}}}, false},
		{"negative period", Options{Runtime: rt, Live: live, Containers: config.ContainerGC{Period: config.Duration{Duration: -1}}}, false},
		{"low not below high", Options{Runtime: rt, Live: live, Images: config.ImageGC{HighThresholdPercent: 50, LowThresholdPercent: 50}}, false},
		{"high above 100", Options{Runtime: rt, Live: live, Images: config.ImageGC{HighThresholdPercent: 101}}, false},
		{"low only", Options{Runtime: rt, Live: live, Images: config.ImageGC{LowThresholdPercent: 10}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.o)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v, want ok %v", err, tc.ok)
			}
			if tc.name == "defaults" {
				if c.ctrGC.Period.Duration != DefaultContainerPeriod || c.imgGC.Period.Duration != DefaultImagePeriod ||
					c.imgGC.HighThresholdPercent != DefaultHighThresholdPercent || c.imgGC.LowThresholdPercent != DefaultLowThresholdPercent {
					t.Errorf("defaults: %+v %+v", c.ctrGC, c.imgGC)
				}
			}
		})
	}
}
