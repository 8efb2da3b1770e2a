package volume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

func TestMounts(t *testing.T) {
	objs := newLiveObjects()
	m := newTestManager(t, objs)
	hostDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(hostDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	pod := testPod("uid-1",
		vol("scratch", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}),
		vol("host", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}),
		cmVol("config", "app", nil),
		vol("creds", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}),
	)
	vols, err := m.SetUp(pod, containerspec.Downward{})
	if err != nil {
		t.Fatal(err)
	}
	// A container planted a symlink to the host's /etc in its emptyDir.
	if err := os.Symlink("/etc", filepath.Join(vols["scratch"], "escape")); err != nil {
		t.Fatal(err)
	}
	dataDir, err := filepath.EvalSymlinks(filepath.Join(vols["config"], "..data"))
	if err != nil {
		t.Fatal(err)
	}
	realScratch, _ := filepath.EvalSymlinks(vols["scratch"])
	realHost, _ := filepath.EvalSymlinks(hostDir)
	prop := func(p corev1.MountPropagationMode) *corev1.MountPropagationMode { return &p }
	privileged := &corev1.SecurityContext{Privileged: ptr(true)}

	cases := []struct {
		name    string
		vm      corev1.VolumeMount
		sc      *corev1.SecurityContext
		want    *runtimeapi.Mount
		wantErr string
	}{
		{name: "emptyDir read-write", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/tmp/s"},
			want: &runtimeapi.Mount{ContainerPath: "/tmp/s", HostPath: vols["scratch"]}},
		{name: "hostPath read-only, host-to-container", vm: corev1.VolumeMount{Name: "host", MountPath: "/h", ReadOnly: true, MountPropagation: prop(corev1.MountPropagationHostToContainer)},
			want: &runtimeapi.Mount{ContainerPath: "/h", HostPath: hostDir, Readonly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}},
		{name: "propagation None", vm: corev1.VolumeMount{Name: "host", MountPath: "/h", MountPropagation: prop(corev1.MountPropagationNone)},
			want: &runtimeapi.Mount{ContainerPath: "/h", HostPath: hostDir}},
		{name: "bidirectional, privileged", vm: corev1.VolumeMount{Name: "host", MountPath: "/h", MountPropagation: prop(corev1.MountPropagationBidirectional)}, sc: privileged,
			want: &runtimeapi.Mount{ContainerPath: "/h", HostPath: hostDir, Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}},
		{name: "bidirectional, unprivileged", vm: corev1.VolumeMount{Name: "host", MountPath: "/h", MountPropagation: prop(corev1.MountPropagationBidirectional)},
			wantErr: "needs a privileged container"},
		{name: "configmap always read-only", vm: corev1.VolumeMount{Name: "config", MountPath: "/etc/app"},
			want: &runtimeapi.Mount{ContainerPath: "/etc/app", HostPath: vols["config"], Readonly: true}},
		{name: "secret always read-only", vm: corev1.VolumeMount{Name: "creds", MountPath: "/creds"},
			want: &runtimeapi.Mount{ContainerPath: "/creds", HostPath: vols["creds"], Readonly: true}},
		{name: "configmap subPath is the file in ..data", vm: corev1.VolumeMount{Name: "config", MountPath: "/etc/mode", SubPath: "mode"},
			want: &runtimeapi.Mount{ContainerPath: "/etc/mode", HostPath: filepath.Join(dataDir, "mode"), Readonly: true}},
		{name: "configmap subPath missing", vm: corev1.VolumeMount{Name: "config", MountPath: "/x", SubPath: "nokey"},
			wantErr: "no such file"},
		{name: "emptyDir subPath created", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/cache", SubPath: "a/b"},
			want: &runtimeapi.Mount{ContainerPath: "/cache", HostPath: filepath.Join(realScratch, "a", "b")}},
		{name: "emptyDir subPath through a planted symlink", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "escape/new"},
			wantErr: "is a symlink"},
		{name: "emptyDir subPath leading out", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "escape"},
			wantErr: "leads out of the volume"},
		{name: "hostPath subPath", vm: corev1.VolumeMount{Name: "host", MountPath: "/x", SubPath: "sub"},
			want: &runtimeapi.Mount{ContainerPath: "/x", HostPath: filepath.Join(realHost, "sub")}},
		{name: "hostPath subPath missing", vm: corev1.VolumeMount{Name: "host", MountPath: "/x", SubPath: "nothere"},
			wantErr: "no such file"},
		{name: "subPath with ..", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "a/../b"},
			wantErr: "without '..'"},
		{name: "absolute subPath", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "/etc"},
			wantErr: "must be relative"},
		{name: "subPathExpr", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPathExpr: "$(POD)"},
			wantErr: "subPathExpr is not supported"},
		{name: "relative mountPath", vm: corev1.VolumeMount{Name: "scratch", MountPath: "x"},
			wantErr: "mountPath is not absolute"},
		{name: "unknown volume", vm: corev1.VolumeMount{Name: "nope", MountPath: "/x"},
			wantErr: "no such volume"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctr := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{c.vm}, SecurityContext: c.sc}
			got, err := vols.Mounts(pod, ctr)
			if c.wantErr != "" {
				prefix := "container main: mount of volume " + c.vm.Name + " at " + c.vm.MountPath + ": "
				if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v; want %q after %q", err, c.wantErr, prefix)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].String() != c.want.String() {
				t.Fatalf("mounts %v; want %v", got, c.want)
			}
		})
	}
	if info, err := os.Stat(filepath.Join(vols["scratch"], "a", "b")); err != nil || info.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir subPath folder: %v, %v; want 0777 like its volume", info, err)
	}
	if _, err := os.Stat("/etc/new"); err == nil {
		t.Error("a subPath through a symlink made /etc/new")
	}
}

// A configmap subPath mount keeps the file it had: after an update the
// bound file still holds the old content (kubelet semantics), while the
// volume shows the new one.
func TestMountsSubPathDoesNotFollowUpdates(t *testing.T) {
	objs := newLiveObjects()
	m := newTestManager(t, objs)
	pod := testPod("uid-1", cmVol("config", "app", nil))
	vols, err := m.SetUp(pod, containerspec.Downward{})
	if err != nil {
		t.Fatal(err)
	}
	ctr := &corev1.Container{Name: "main", VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/mode", SubPath: "mode"}}}
	mounts, err := vols.Mounts(pod, ctr)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the file open as a bind mount would hold its inode.
	f, err := os.Open(mounts[0].HostPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs.setConfigMap("app", &corev1.ConfigMap{Data: map[string]string{"mode": "slow"}})
	if _, err := m.SetUp(pod, containerspec.Downward{}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := f.ReadAt(buf, 0)
	if string(buf[:n]) != "fast" {
		t.Fatalf("the bound file holds %q; want the old fast", buf[:n])
	}
	if got := read(t, filepath.Join(vols["config"], "mode")); got != "slow" {
		t.Fatalf("the volume holds %q; want slow", got)
	}
	again, err := vols.Mounts(pod, ctr)
	if err != nil || again[0].HostPath == mounts[0].HostPath {
		t.Fatalf("a new container's subPath %v, %v; want the new ..data folder", again, err)
	}
}
