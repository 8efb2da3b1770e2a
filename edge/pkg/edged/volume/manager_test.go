package volume

import (
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

// liveObjects is an Objects whose configmaps and secrets tests change
// between SetUps.
type liveObjects struct {
	// mu guards cms and secrets.
	mu      sync.Mutex
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func newLiveObjects() *liveObjects {
	return &liveObjects{
		cms:     map[string]*corev1.ConfigMap{"app": {Data: map[string]string{"mode": "fast"}}},
		secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"password": []byte("s3cret")}}},
	}
}

func (o *liveObjects) ConfigMap(_, name string) (*corev1.ConfigMap, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cms[name], nil
}

func (o *liveObjects) Secret(_, name string) (*corev1.Secret, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.secrets[name], nil
}

func (o *liveObjects) setConfigMap(name string, cm *corev1.ConfigMap) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cm == nil {
		delete(o.cms, name)
		return
	}
	o.cms[name] = cm
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestManager(t *testing.T, objs Objects) *Manager {
	t.Helper()
	m, err := NewManager(ManagerOptions{
		PodsDir: filepath.Join(t.TempDir(), "pods"),
		Logger:  quietLogger(),
		Objects: objs,
		Token: func(pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error) {
			return []byte("token-of-" + pod.Name), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failed test may leave a tmpfs mounted; TempDir's removal would fail.
	t.Cleanup(func() { unmountBelow(m.podsDir) }) //nolint:errcheck // best effort
	return m
}

func testPod(uid string, vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: types.UID(uid)},
		Spec:       corev1.PodSpec{Volumes: vols},
	}
}

func vol(name string, src corev1.VolumeSource) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: src}
}

func cmVol(name, cm string, optional *bool) corev1.Volume {
	return vol(name, corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: cm}, Optional: optional}})
}

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

// Every supported type of volume gets its folder, content and modes.
func TestSetUpEachType(t *testing.T) {
	m := newTestManager(t, newLiveObjects())
	hostDir := filepath.Join(t.TempDir(), "host", "data")
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	pod := testPod("uid-1",
		vol("scratch", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}),
		vol("host", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: &dirOrCreate}}),
		cmVol("config", "app", nil),
		vol("creds", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr[int32](0o400)}}),
		vol("info", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "node", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}}}),
		vol("all", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}),
	)
	vols, err := m.SetUp(pod, containerspec.Downward{NodeName: "edge-1"})
	if err != nil {
		t.Fatal(err)
	}
	podVols := filepath.Join(m.podsDir, "uid-1", "volumes")
	want := Volumes{
		"scratch": filepath.Join(podVols, "kubernetes.io~empty-dir", "scratch"),
		"host":    hostDir,
		"config":  filepath.Join(podVols, "kubernetes.io~configmap", "config"),
		"creds":   filepath.Join(podVols, "kubernetes.io~secret", "creds"),
		"info":    filepath.Join(podVols, "kubernetes.io~downward-api", "info"),
		"all":     filepath.Join(podVols, "kubernetes.io~projected", "all"),
	}
	if len(vols) != len(want) {
		t.Fatalf("volumes %v; want %v", vols, want)
	}
	for name, path := range want {
		if vols[name] != path {
			t.Errorf("volume %s at %q; want %q", name, vols[name], path)
		}
	}
	files := []struct {
		path, content string
		mode          fs.FileMode
	}{
		{"config/mode", "fast", 0o644},
		{"creds/password", "s3cret", 0o400},
		{"info/node", "edge-1", 0o644},
		{"all/password", "s3cret", 0o644},
		{"all/token", "token-of-web", 0o644},
	}
	for _, f := range files {
		name, file, _ := strings.Cut(f.path, "/")
		p := filepath.Join(vols[name], file)
		if got := read(t, p); got != f.content {
			t.Errorf("%s = %q; want %q", f.path, got, f.content)
		}
		if got := perm(t, p); got != f.mode {
			t.Errorf("%s has mode %v; want %v", f.path, got, f.mode)
		}
	}
	dirs := []struct {
		path string
		mode fs.FileMode
	}{
		{vols["scratch"], 0o777},
		{hostDir, 0o755},
		{filepath.Join(podVols, "kubernetes.io~configmap"), 0o755},
		{filepath.Join(podVols, "kubernetes.io~secret"), 0o700},
		{filepath.Join(podVols, "kubernetes.io~projected"), 0o700},
	}
	for _, d := range dirs {
		if got := perm(t, d.path); got != d.mode {
			t.Errorf("%s has mode %v; want %v", d.path, got, d.mode)
		}
	}
}

// A changed configmap is rewritten in place: same host path, new content
// through it; an unchanged one is not rewritten.
func TestSetUpUpdatesInPlace(t *testing.T) {
	objs := newLiveObjects()
	m := newTestManager(t, objs)
	pod := testPod("uid-1", cmVol("config", "app", nil))
	vols, err := m.SetUp(pod, containerspec.Downward{})
	if err != nil {
		t.Fatal(err)
	}
	dir := vols["config"]
	data := func() string {
		t.Helper()
		link, err := os.Readlink(filepath.Join(dir, "..data"))
		if err != nil {
			t.Fatal(err)
		}
		return link
	}
	first := data()

	again, err := m.SetUp(pod, containerspec.Downward{})
	if err != nil || again["config"] != dir {
		t.Fatalf("second SetUp: %v, %v", again, err)
	}
	if data() != first {
		t.Fatal("an unchanged configmap was rewritten")
	}

	objs.setConfigMap("app", &corev1.ConfigMap{Data: map[string]string{"mode": "slow", "extra": "1"}})
	again, err = m.SetUp(pod, containerspec.Downward{})
	if err != nil || again["config"] != dir {
		t.Fatalf("SetUp after the change: %v, %v; want the same path %s", again, err, dir)
	}
	if data() == first {
		t.Fatal("..data still names the old folder")
	}
	if got := read(t, filepath.Join(dir, "mode")); got != "slow" {
		t.Fatalf("mode = %q after the update; want slow", got)
	}
	if got := read(t, filepath.Join(dir, "extra")); got != "1" {
		t.Fatalf("extra = %q after the update; want 1", got)
	}
}

// A volume that cannot be set up is an error naming it; the others are
// still set up, and its old content stays.
func TestSetUpErrors(t *testing.T) {
	objs := newLiveObjects()
	m := newTestManager(t, objs)
	pod := testPod("uid-1", cmVol("config", "app", nil), vol("scratch", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}))
	vols, err := m.SetUp(pod, containerspec.Downward{})
	if err != nil {
		t.Fatal(err)
	}

	objs.setConfigMap("app", nil)
	got, err := m.SetUp(pod, containerspec.Downward{})
	if err == nil || err.Error() != "volume config: configmap shop/app not found" {
		t.Fatalf("err %v; want the missing configmap named", err)
	}
	if _, ok := got["config"]; ok || got["scratch"] != vols["scratch"] {
		t.Fatalf("volumes %v; want scratch only", got)
	}
	if c := read(t, filepath.Join(vols["config"], "mode")); c != "fast" {
		t.Fatalf("the failed volume lost its content: mode = %q", c)
	}

	cases := []struct {
		name    string
		vol     corev1.Volume
		wantErr string
	}{
		{"optional missing configmap", cmVol("opt", "nope", ptr(true)), ""},
		{"persistent volume claim", vol("data", corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}),
			"volume data: type persistentVolumeClaim is not supported on edge nodes"},
		{"nfs", vol("share", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}),
			"volume share: type nfs is not supported on edge nodes"},
		{"hugepages", vol("huge", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumHugePages}}),
			`volume huge: emptyDir medium "HugePages" is not supported on edge nodes`},
		{"relative hostPath", vol("rel", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "var/data"}}),
			`volume rel: hostPath "var/data" is not absolute`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vols, err := m.SetUp(testPod("uid-2", c.vol), containerspec.Downward{})
			if c.wantErr == "" {
				if err != nil || vols[c.vol.Name] == "" {
					t.Fatalf("volumes %v, err %v", vols, err)
				}
				return
			}
			if err == nil || err.Error() != c.wantErr {
				t.Fatalf("err %v; want %q", err, c.wantErr)
			}
		})
	}
}

func TestSetUpTokenRefusedWithoutSource(t *testing.T) {
	m, err := NewManager(ManagerOptions{PodsDir: t.TempDir(), Logger: quietLogger(), Objects: newLiveObjects()})
	if err != nil {
		t.Fatal(err)
	}
	pod := testPod("uid-1", vol("tok", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}))
	if _, err := m.SetUp(pod, containerspec.Downward{}); err == nil || !strings.Contains(err.Error(), "no token source") {
		t.Fatalf("err %v; want the token source refused", err)
	}
}

func TestNewManagerOptions(t *testing.T) {
	ok := ManagerOptions{PodsDir: t.TempDir(), Logger: quietLogger(), Objects: newLiveObjects()}
	for name, mutate := range map[string]func(*ManagerOptions){
		"no pods dir": func(o *ManagerOptions) { o.PodsDir = "" },
		"no logger":   func(o *ManagerOptions) { o.Logger = nil },
		"no objects":  func(o *ManagerOptions) { o.Objects = nil },
	} {
		o := ok
		mutate(&o)
		if _, err := NewManager(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewManager(ok); err != nil {
		t.Fatal(err)
	}
}

// UIDs name folders that TearDown removes: they must be one path element.
func TestBadUIDs(t *testing.T) {
	m := newTestManager(t, newLiveObjects())
	for _, uid := range []string{"", ".", "..", "../x", "a/b"} {
		if _, err := m.SetUp(testPod(uid), containerspec.Downward{}); err == nil {
			t.Errorf("SetUp accepted UID %q", uid)
		}
		if err := m.TearDown(types.UID(uid)); err == nil {
			t.Errorf("TearDown accepted UID %q", uid)
		}
	}
}

func TestTearDownAndPods(t *testing.T) {
	m := newTestManager(t, newLiveObjects())
	for _, uid := range []string{"uid-b", "uid-a"} { // uid-a has no volumes: its folder is still made
		var vols []corev1.Volume
		if uid == "uid-b" {
			vols = append(vols, cmVol("config", "app", nil))
		}
		if _, err := m.SetUp(testPod(uid, vols...), containerspec.Downward{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(m.podsDir, "stray-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pods, err := m.Pods()
	if err != nil || strings.Join(uidStrings(pods), ",") != "uid-a,uid-b" {
		t.Fatalf("Pods() = %v, %v; want uid-a,uid-b", pods, err)
	}
	if err := m.TearDown("uid-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(m.podsDir, "uid-a")); !os.IsNotExist(err) {
		t.Fatalf("the pod folder is still there: %v", err)
	}
	if err := m.TearDown("uid-a"); err != nil {
		t.Fatalf("second TearDown: %v", err)
	}
	pods, err = m.Pods()
	if err != nil || strings.Join(uidStrings(pods), ",") != "uid-b" {
		t.Fatalf("Pods() = %v, %v; want uid-b", pods, err)
	}
}

func uidStrings(uids []types.UID) []string {
	out := make([]string, len(uids))
	for i, u := range uids {
		out[i] = string(u)
	}
	return out
}

// Pods' workers set up and tear down their pods at the same time.
func TestConcurrentPods(t *testing.T) {
	m := newTestManager(t, newLiveObjects())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			uid := string(rune('a'+i)) + "-uid"
			pod := testPod(uid, cmVol("config", "app", nil),
				vol("scratch", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}))
			for range 5 {
				if _, err := m.SetUp(pod, containerspec.Downward{}); err != nil {
					errs <- err
					return
				}
			}
			if i%2 == 0 {
				if err := m.TearDown(pod.UID); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if pods, err := m.Pods(); err != nil || len(pods) != 4 {
		t.Fatalf("Pods() = %v, %v; want the 4 pods not torn down", pods, err)
	}
}
