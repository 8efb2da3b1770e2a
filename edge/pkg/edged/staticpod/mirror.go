package staticpod

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// IsStatic reports whether pod came from a manifest (config.source=file).
func IsStatic(pod *corev1.Pod) bool {
	return pod.Annotations[AnnotationSource] == sourceFile
}

// IsMirror reports whether pod is a mirror pod in the API (it carries
// config.mirror). Edged never runs a mirror pod: its static pod runs.
func IsMirror(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[AnnotationMirror]
	return ok
}

// Mirror returns the mirror pod to create in the API for static pod p on
// node nodeName (whose Node has nodeUID), as the kubelet's mirror client
// does: a copy of p with config.mirror set to its config.hash, no UID,
// resourceVersion or status, and a controller owner reference to the Node
// (the NodeRestriction admission plugin requires controller=true and no
// blockOwnerDeletion).
func Mirror(p *corev1.Pod, nodeName string, nodeUID types.UID) *corev1.Pod {
	m := p.DeepCopy()
	m.UID = ""
	m.ResourceVersion = ""
	m.Generation = 0
	m.CreationTimestamp = metav1.Time{}
	m.ManagedFields = nil
	m.Status = corev1.PodStatus{}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[AnnotationMirror] = p.Annotations[AnnotationHash]
	m.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: corev1.SchemeGroupVersion.String(),
		Kind:       "Node",
		Name:       nodeName,
		UID:        nodeUID,
		Controller: new(true),
	}}
	return m
}

// MirrorActions compares the static pods with the mirror pods the node
// holds (its pods from the API that IsMirror; others are ignored) and says
// what to do, deletes first: del are mirror pods to delete (no static pod
// of their namespace/name, a stale config.mirror, or already being
// deleted), create the static pods whose mirror pod to create (pass each
// to Mirror) once the deletes are done. A static pod whose mirror is
// deleted is in both.
func MirrorActions(static, mirrors []*corev1.Pod) (create []*corev1.Pod, del []*corev1.Pod) {
	byName := make(map[string]*corev1.Pod, len(static))
	for _, p := range static {
		byName[p.Namespace+"/"+p.Name] = p
	}
	current := make(map[string]bool, len(mirrors))
	for _, m := range mirrors {
		if !IsMirror(m) {
			continue
		}
		key := m.Namespace + "/" + m.Name
		p, ok := byName[key]
		if ok && m.DeletionTimestamp == nil && m.Annotations[AnnotationMirror] == p.Annotations[AnnotationHash] {
			current[key] = true
			continue
		}
		del = append(del, m)
	}
	for _, p := range static {
		if !current[p.Namespace+"/"+p.Name] {
			create = append(create, p)
		}
	}
	return create, del
}
