package edgecontroller

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/common/kubemsg"
)

// mirrorPod is a mirror pod edge-a may create, changed by edit.
func mirrorPod(edit func(p *corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: "web-edge-a",
			Annotations: map[string]string{kubemsg.MirrorPodAnnotation: "hash-1", "kubernetes.io/config.source": "file"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: "edge-a", UID: "uid-edge-a", Controller: new(true)}},
		},
		Spec: corev1.PodSpec{
			NodeName:   "edge-a",
			Containers: []corev1.Container{{Name: "web", Image: "nginx"}},
			Volumes: []corev1.Volume{
				{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}
	if edit != nil {
		edit(p)
	}
	return p
}

func volume(src corev1.VolumeSource) func(p *corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "v", VolumeSource: src})
	}
}

func TestAuthorizeMirrorCreate(t *testing.T) {
	tests := []struct {
		name   string
		pod    *corev1.Pod
		res    string // the resource's name; web-edge-a when empty
		reason string // "" when allowed
	}{
		{name: "own mirror pod", pod: mirrorPod(nil)},
		{name: "not a mirror pod", reason: "may create only mirror pods",
			pod: mirrorPod(func(p *corev1.Pod) { delete(p.Annotations, kubemsg.MirrorPodAnnotation) })},
		{name: "bound to another node", reason: `bound to itself, not to "edge-b"`,
			pod: mirrorPod(func(p *corev1.Pod) { p.Spec.NodeName = "edge-b" })},
		{name: "unbound", reason: `not to ""`,
			pod: mirrorPod(func(p *corev1.Pod) { p.Spec.NodeName = "" })},
		{name: "named otherwise than its resource", res: "other", reason: "sent as default/other",
			pod: mirrorPod(nil)},
		{name: "no owner", reason: "(0 given)",
			pod: mirrorPod(func(p *corev1.Pod) { p.OwnerReferences = nil })},
		{name: "a second owner", reason: "(2 given)",
			pod: mirrorPod(func(p *corev1.Pod) {
				p.OwnerReferences = append(p.OwnerReferences, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "u"})
			})},
		{name: "owned by another node", reason: `not by v1 Node "edge-b"`,
			pod: mirrorPod(func(p *corev1.Pod) { p.OwnerReferences[0].Name = "edge-b" })},
		{name: "owned by a replicaset", reason: `ReplicaSet`,
			pod: mirrorPod(func(p *corev1.Pod) { p.OwnerReferences[0].Kind = "ReplicaSet" })},
		{name: "owner with another node's uid", reason: `has uid uid-edge-a, not "uid-edge-b"`,
			pod: mirrorPod(func(p *corev1.Pod) { p.OwnerReferences[0].UID = "uid-edge-b" })},
		{name: "owner not controller", reason: "controller owner reference",
			pod: mirrorPod(func(p *corev1.Pod) { p.OwnerReferences[0].Controller = nil })},
		{name: "owner blocks deletion", reason: "blockOwnerDeletion",
			pod: mirrorPod(func(p *corev1.Pod) { p.OwnerReferences[0].BlockOwnerDeletion = new(true) })},
		{name: "service account", reason: "reference a service account",
			pod: mirrorPod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "admin" })},
		{name: "secret volume", reason: "reference secrets",
			pod: mirrorPod(volume(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}))},
		{name: "configmap volume", reason: "reference configmaps",
			pod: mirrorPod(volume(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}))},
		{name: "secret env", reason: "reference secrets",
			pod: mirrorPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "k"}}}}
			})},
		{name: "configmap envFrom of an init container", reason: "reference configmaps",
			pod: mirrorPod(func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}}
			})},
		{name: "image pull secret", reason: "reference secrets",
			pod: mirrorPod(func(p *corev1.Pod) { p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}} })},
		{name: "claim", reason: "reference persistentvolumeclaims",
			pod: mirrorPod(volume(corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}))},
		{name: "ephemeral claim", reason: "reference persistentvolumeclaims",
			pod: mirrorPod(volume(corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}))},
		{name: "token projection", reason: "reference service account tokens",
			pod: mirrorPod(volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}))},
		{name: "trust bundle projection", reason: "reference clustertrustbundles",
			pod: mirrorPod(volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "ca"}}}}}))},
		{name: "CSI secret", reason: "reference secrets",
			pod: mirrorPod(volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d",
				NodePublishSecretRef: &corev1.LocalObjectReference{Name: "s"}}}))},
		{name: "CSI without secret", pod: mirrorPod(volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}))},
		{name: "resource claim", reason: "reference resource claims",
			pod: mirrorPod(func(p *corev1.Pod) { p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu"}} })},
	}
	idx := upTestIndex()
	idx.nodes = map[string]*corev1.Node{"edge-a": {ObjectMeta: metav1.ObjectMeta{Name: "edge-a", UID: "uid-edge-a"}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.res
			if name == "" {
				name = "web-edge-a"
			}
			u := upMsg{kind: upMirrorCreate, node: "edge-a", res: upRes("default", kubemsg.TypeMirrorPod, name), mirrorPod: tt.pod}
			_, err := authorize(idx, u)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("authorize = %v, want allowed", err)
				}
				return
			}
			var d *denial
			if !errors.As(err, &d) || !strings.Contains(d.reason, tt.reason) {
				t.Errorf("authorize = %v, want a denial saying %q", err, tt.reason)
			}
		})
	}
}

// TestAuthorizeMirrorCreateUnknownNode: the owner's uid cannot be checked
// before the index holds the Node.
func TestAuthorizeMirrorCreateUnknownNode(t *testing.T) {
	u := upMsg{kind: upMirrorCreate, node: "edge-a", res: upRes("default", kubemsg.TypeMirrorPod, "web-edge-a"), mirrorPod: mirrorPod(nil)}
	_, err := authorize(upTestIndex(), u)
	var d *denial
	if !errors.As(err, &d) || !strings.Contains(d.reason, "not known") {
		t.Errorf("authorize = %v, want a denial", err)
	}
}
