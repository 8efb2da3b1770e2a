package staticpod

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func staticPod(t *testing.T) *corev1.Pod {
	t.Helper()
	p, err := decodeManifest([]byte(webYAML), "edge-a", "2030-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMirror(t *testing.T) {
	p := staticPod(t)
	p.ResourceVersion = "3"
	m := Mirror(p, "edge-a", "node-uid")
	if m.UID != "" || m.ResourceVersion != "" || m.Status.Phase != "" {
		t.Errorf("uid %q rv %q status %+v, want empty", m.UID, m.ResourceVersion, m.Status)
	}
	if m.Annotations[AnnotationMirror] != string(p.UID) || !IsMirror(m) || !IsStatic(m) {
		t.Errorf("annotations %v", m.Annotations)
	}
	if m.Name != p.Name || m.Namespace != p.Namespace || m.Spec.NodeName != "edge-a" || m.Spec.Containers[0].Image != "nginx:1.27" {
		t.Errorf("mirror %s/%s on %q differs from the static pod", m.Namespace, m.Name, m.Spec.NodeName)
	}
	refs := m.OwnerReferences
	if len(refs) != 1 || refs[0].APIVersion != "v1" || refs[0].Kind != "Node" || refs[0].Name != "edge-a" ||
		refs[0].UID != "node-uid" || refs[0].Controller == nil || !*refs[0].Controller || refs[0].BlockOwnerDeletion != nil {
		t.Errorf("owner references %+v", refs)
	}
	if IsMirror(p) || p.UID == "" || p.OwnerReferences != nil || p.Status.Phase == "" {
		t.Error("Mirror changed the static pod")
	}
}

func TestMirrorActions(t *testing.T) {
	st := func(name, hash string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(hash),
			Annotations: map[string]string{AnnotationSource: "file", AnnotationHash: hash}}}
	}
	mirror := func(name, hash string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("api-" + name),
			Annotations: map[string]string{AnnotationSource: "file", AnnotationHash: hash, AnnotationMirror: hash}}}
	}
	deleting := func(p *corev1.Pod) *corev1.Pod {
		p.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
		return p
	}
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "api-plain"}}
	otherNS := mirror("web", "h1")
	otherNS.Namespace = "other"
	tests := []struct {
		name         string
		static       []*corev1.Pod
		mirrors      []*corev1.Pod
		create, dels []string // static pod names; mirror UIDs
	}{
		{name: "nothing"},
		{name: "new static pod", static: []*corev1.Pod{st("web", "h1")}, create: []string{"web"}},
		{name: "mirror current", static: []*corev1.Pod{st("web", "h1")}, mirrors: []*corev1.Pod{mirror("web", "h1")}},
		{name: "static pod gone", mirrors: []*corev1.Pod{mirror("web", "h1")}, dels: []string{"api-web"}},
		{name: "stale hash", static: []*corev1.Pod{st("web", "h2")}, mirrors: []*corev1.Pod{mirror("web", "h1")},
			create: []string{"web"}, dels: []string{"api-web"}},
		{name: "mirror being deleted", static: []*corev1.Pod{st("web", "h1")}, mirrors: []*corev1.Pod{deleting(mirror("web", "h1"))},
			create: []string{"web"}, dels: []string{"api-web"}},
		{name: "a pod that is no mirror is never deleted", static: []*corev1.Pod{st("web", "h1")}, mirrors: []*corev1.Pod{plain},
			create: []string{"web"}},
		{name: "mirror in another namespace", static: []*corev1.Pod{st("web", "h1")}, mirrors: []*corev1.Pod{otherNS},
			create: []string{"web"}, dels: []string{"api-web"}},
		{name: "mixed",
			static:  []*corev1.Pod{st("a", "ha"), st("b", "hb2"), st("c", "hc")},
			mirrors: []*corev1.Pod{mirror("a", "ha"), mirror("b", "hb1"), mirror("d", "hd")},
			create:  []string{"b", "c"}, dels: []string{"api-b", "api-d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create, del := MirrorActions(tt.static, tt.mirrors)
			var gotCreate, gotDel []string
			for _, p := range create {
				gotCreate = append(gotCreate, p.Name)
			}
			for _, p := range del {
				gotDel = append(gotDel, string(p.UID))
			}
			if !slices.Equal(gotCreate, tt.create) || !slices.Equal(gotDel, tt.dels) {
				t.Errorf("create %v delete %v, want %v and %v", gotCreate, gotDel, tt.create, tt.dels)
			}
		})
	}
}
