package nodestatus

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// The kubelet's limits on the images a Node reports.
const (
	// maxImages is how many images are reported, the largest.
	maxImages = 50
	// maxNamesPerImage is how many names are reported per image.
	maxNamesPerImage = 5
)

// Runtime tells node status about the pod runtime (Edged). Without one
// (Edged disabled) the node reports no runtime version and no images, and
// Ready is True while edgecore runs.
type Runtime interface {
	// RuntimeStatus is the runtime's state now; it must be cheap (Edged
	// answers from memory) and safe to call from any goroutine.
	RuntimeStatus() RuntimeStatus
}

// RuntimeStatus is the pod runtime's state.
type RuntimeStatus struct {
	// Version is reported as nodeInfo.containerRuntimeVersion, e.g.
	// "containerd://2.4.2".
	Version string
	// Images are the node's images; the 50 largest are reported, largest
	// first, with at most 5 names each (the kubelet's rule).
	Images []corev1.ContainerImage
	// Err, when not nil, says why the node cannot run pods (the runtime is
	// unreachable, PLEG is not healthy): Ready is False with reason
	// KubeletNotReady and Err's text as the message, as kubelets report it.
	Err error
}

// nodeImages are the images a Node reports of images: the largest
// maxImages, largest first, with at most maxNamesPerImage names each.
// images is not changed.
func nodeImages(images []corev1.ContainerImage) []corev1.ContainerImage {
	if len(images) == 0 {
		return nil
	}
	out := slices.Clone(images)
	slices.SortStableFunc(out, func(a, b corev1.ContainerImage) int { return cmp.Compare(b.SizeBytes, a.SizeBytes) })
	out = out[:min(len(out), maxImages)]
	for i := range out {
		if len(out[i].Names) > maxNamesPerImage {
			out[i].Names = slices.Clone(out[i].Names[:maxNamesPerImage])
		}
	}
	return out
}
