package edged

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/staticpod"
)

func pod(name string, uid types.UID) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: uid}}
}

func TestDesiredPods(t *testing.T) {
	d := newDesired()
	if uid, replaced := d.setPod(pod("web", "u1")); uid != "u1" || replaced != "" {
		t.Fatalf("setPod(web u1) = %q, %q; want u1, none replaced", uid, replaced)
	}
	// The same name with a new UID is a new pod: the old one is to stop.
	if uid, replaced := d.setPod(pod("web", "u2")); uid != "u2" || replaced != "u1" {
		t.Fatalf("setPod(web u2) = %q, %q; want u2 replacing u1", uid, replaced)
	}
	if d.has("u1") || !d.has("u2") {
		t.Errorf("after the replacement: has(u1) %v has(u2) %v; want false, true", d.has("u1"), d.has("u2"))
	}
	// A mirror pod is kept aside and never run.
	mirror := pod("static-web-node", "m1")
	mirror.Annotations = map[string]string{staticpod.AnnotationMirror: "hash"}
	if uid, _ := d.setPod(mirror); uid != "" || d.has("m1") {
		t.Errorf("a mirror pod was taken to run (uid %q)", uid)
	}
	if got := d.deletePod(keyOf("default", "web")); got != "u2" || d.has("u2") {
		t.Errorf("deletePod(web) = %q, has(u2) %v; want u2 stopped", got, d.has("u2"))
	}
	if got := d.deletePod(keyOf("default", "static-web-node")); got != "" {
		t.Errorf("deleting a mirror pod returned %q; nothing runs for it", got)
	}
	if _, mirrors := d.staticAndMirrors(); len(mirrors) != 0 {
		t.Errorf("mirror pods after its delete: %v", mirrors)
	}
}

func TestDesiredStaticPodsAndMirrors(t *testing.T) {
	d := newDesired()
	s1 := pod("web-node", "s1")
	s1.Annotations = map[string]string{staticpod.AnnotationSource: "file", staticpod.AnnotationHash: "s1"}
	if changed := d.setStatic([]*corev1.Pod{s1}); !slices.Equal(changed, []types.UID{"s1"}) {
		t.Errorf("first static set changed %v, want [s1]", changed)
	}
	if changed := d.setStatic([]*corev1.Pod{s1}); len(changed) != 0 {
		t.Errorf("the same static set again changed %v, want nothing", changed)
	}
	// An edited manifest is a new pod (a new UID) under the same name.
	s2 := pod("web-node", "s2")
	s2.Annotations = map[string]string{staticpod.AnnotationSource: "file", staticpod.AnnotationHash: "s2"}
	changed := d.setStatic([]*corev1.Pod{s2})
	slices.Sort(changed)
	if !slices.Equal(changed, []types.UID{"s1", "s2"}) || d.has("s1") || !d.has("s2") {
		t.Errorf("edited static pod: changed %v, has s1 %v s2 %v; want both changed, s2 only", changed, d.has("s1"), d.has("s2"))
	}
	stale := pod("web-node", "m1")
	stale.Annotations = map[string]string{staticpod.AnnotationMirror: "s1"}
	d.setPod(stale)
	if m := d.mirrorOf(s2); m != nil {
		t.Errorf("mirrorOf(s2) = %v; the mirror is of the old version", m.UID)
	}
	fresh := pod("web-node", "m2")
	fresh.Annotations = map[string]string{staticpod.AnnotationMirror: "s2"}
	d.setPod(fresh)
	if m := d.mirrorOf(s2); m == nil || m.UID != "m2" {
		t.Errorf("mirrorOf(s2) = %v, want m2", m)
	}
	if changed := d.setStatic(nil); !slices.Equal(changed, []types.UID{"s2"}) || d.has("s2") {
		t.Errorf("static pod removed: changed %v, has(s2) %v", changed, d.has("s2"))
	}
}

func TestDesiredObjectUsers(t *testing.T) {
	d := newDesired()
	vol := pod("vol", "u1")
	vol.Spec.Volumes = []corev1.Volume{{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
	env := pod("env", "u2")
	env.Spec.InitContainers = []corev1.Container{{Name: "i", Env: []corev1.EnvVar{{Name: "P", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "k"}}}}}}
	projected := pod("projected", "u3")
	projected.Spec.Volumes = []corev1.Volume{{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}}}}
	other := pod("other-ns", "u4")
	other.Namespace = "kube-system"
	other.Spec.Volumes = vol.Spec.Volumes
	for _, p := range []*corev1.Pod{vol, env, projected, other} {
		d.setPod(p)
	}
	users := d.setConfigMap(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"}})
	slices.Sort(users)
	if !slices.Equal(users, []types.UID{"u1", "u3"}) {
		t.Errorf("users of default/cfg = %v, want [u1 u3] (volume and projected; not the other namespace's)", users)
	}
	if users := d.setSecret(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default"}}); !slices.Equal(users, []types.UID{"u2"}) {
		t.Errorf("users of default/creds = %v, want [u2] (an init container's env)", users)
	}
	if cm, _ := d.ConfigMap("default", "cfg"); cm == nil {
		t.Error("ConfigMap(default, cfg) = nil after setConfigMap")
	}
	d.deleteConfigMap(keyOf("default", "cfg"))
	if cm, _ := d.ConfigMap("default", "cfg"); cm != nil {
		t.Error("ConfigMap(default, cfg) still there after deleteConfigMap")
	}
}
