package edgecontroller

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/kubemsg"
)

// authorizeMirrorCreate allows node n to create pod as ns/name only if it
// is a mirror pod of n, as the NodeRestriction admission plugin allows a
// kubelet: the mirror annotation, bound to n, owned by n's Node alone (a
// controller reference with n's UID, no blockOwnerDeletion), and no
// reference to any other API object (service account, secrets,
// configmaps, volume claims, cluster trust bundles, resource claims), so
// a node cannot reach what its pods were not given through a pod it makes
// up. The ServiceAccount admission plugin adds no token to a mirror pod
// and refuses token projections in one.
func authorizeMirrorCreate(idx index, n, ns, name string, pod *corev1.Pod) error {
	if pod.Namespace != ns || pod.Name != name {
		return deny("pod %s/%s sent as %s/%s", pod.Namespace, pod.Name, ns, name)
	}
	if _, ok := pod.Annotations[kubemsg.MirrorPodAnnotation]; !ok {
		return deny("pod %s/%s has no %s annotation: node %s may create only mirror pods", ns, name, kubemsg.MirrorPodAnnotation, n)
	}
	if pod.Spec.NodeName != n {
		return deny("node %s may create only pods bound to itself, not to %q", n, pod.Spec.NodeName)
	}
	if err := ownedByNode(idx, n, pod); err != nil {
		return err
	}
	if what := foreignReference(pod); what != "" {
		return deny("node %s may not create pods that reference %s", n, what)
	}
	return nil
}

// ownedByNode allows a pod whose one owner is node n's Node, as its
// controller.
func ownedByNode(idx index, n string, pod *corev1.Pod) error {
	if len(pod.OwnerReferences) != 1 {
		return deny("node %s may create only pods with one owner reference, to itself (%d given)", n, len(pod.OwnerReferences))
	}
	o := pod.OwnerReferences[0]
	if o.APIVersion != corev1.SchemeGroupVersion.String() || o.Kind != "Node" || o.Name != n {
		return deny("node %s may create only pods owned by itself, not by %s %s %q", n, o.APIVersion, o.Kind, o.Name)
	}
	if o.Controller == nil || !*o.Controller {
		return deny("node %s may create only pods with a controller owner reference", n)
	}
	if o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
		return deny("node %s may not set blockOwnerDeletion", n)
	}
	node, ok := idx.node(n)
	if !ok {
		return deny("node %s is not known, its owner reference cannot be checked", n)
	}
	if o.UID != node.UID {
		return deny("node %s has uid %s, not %q", n, node.UID, o.UID)
	}
	return nil
}

// foreignReference names the first kind of API object pod references
// besides its node, or returns "".
func foreignReference(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName != "" || pod.Spec.DeprecatedServiceAccount != "" {
		return "a service account"
	}
	if refs := podRefs(pod); len(refs) > 0 {
		return refs[0].Kind + "s"
	}
	if len(pod.Spec.ResourceClaims) > 0 {
		return "resource claims"
	}
	for i := range pod.Spec.Volumes {
		if what := volumeReference(&pod.Spec.Volumes[i]); what != "" {
			return what
		}
	}
	return ""
}

// volumeReference names what API object v references beyond podRefs':
// claims, token and trust-bundle projections, and the secrets of volume
// plugins.
func volumeReference(v *corev1.Volume) string {
	s := v.VolumeSource
	switch {
	case s.PersistentVolumeClaim != nil, s.Ephemeral != nil:
		return "persistentvolumeclaims"
	case s.Projected != nil:
		for _, p := range s.Projected.Sources {
			if p.ServiceAccountToken != nil {
				return "service account tokens"
			}
			if p.ClusterTrustBundle != nil {
				return "clustertrustbundles"
			}
		}
	case s.CSI != nil && s.CSI.NodePublishSecretRef != nil,
		s.AzureFile != nil,
		s.CephFS != nil && s.CephFS.SecretRef != nil,
		s.Cinder != nil && s.Cinder.SecretRef != nil,
		s.FlexVolume != nil && s.FlexVolume.SecretRef != nil,
		s.ISCSI != nil && s.ISCSI.SecretRef != nil,
		s.RBD != nil && s.RBD.SecretRef != nil,
		s.ScaleIO != nil,
		s.StorageOS != nil && s.StorageOS.SecretRef != nil:
		return "secrets"
	}
	return ""
}
