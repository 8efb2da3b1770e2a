package staticpod

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/tether-edge/tether/common/kubemsg"
)

// Annotations of static and mirror pods, as the kubelet sets them.
const (
	// AnnotationSource is "file" on a static pod.
	AnnotationSource = "kubernetes.io/config.source"
	// AnnotationHash is a static pod's UID: a hash of its manifest.
	AnnotationHash = "kubernetes.io/config.hash"
	// AnnotationSeen is when this version of the manifest was first read.
	AnnotationSeen = "kubernetes.io/config.seen"
	// AnnotationMirror marks a mirror pod: the static pod's config.hash.
	AnnotationMirror = kubemsg.MirrorPodAnnotation
)

// sourceFile is AnnotationSource's value on static pods.
const sourceFile = "file"

// ErrManifest is wrapped by every error about a manifest's content (as
// opposed to reading it).
var ErrManifest = errors.New("bad static pod manifest")

// decodeManifest turns the content of one manifest file into the static
// pod node runs; seen is its config.seen. It checks what Edged relies on
// and leaves the rest of the API's validation out.
func decodeManifest(content []byte, node, seen string) (*corev1.Pod, error) {
	if moreThanOneDocument(content) {
		return nil, fmt.Errorf("%w: more than one YAML document (one pod per file)", ErrManifest)
	}
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict(content, pod); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" {
		return nil, fmt.Errorf("%w: apiVersion %q kind %q, want v1 Pod", ErrManifest, pod.APIVersion, pod.Kind)
	}
	if pod.Name == "" {
		return nil, fmt.Errorf("%w: metadata.name is empty", ErrManifest)
	}
	pod.Name = pod.Name + "-" + strings.ToLower(node)
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	if err := validate(pod); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	pod.UID = manifestUID(content, node)
	pod.Spec.NodeName = node
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationSource] = sourceFile
	pod.Annotations[AnnotationHash] = string(pod.UID)
	pod.Annotations[AnnotationSeen] = seen
	tolerateNoExecute(pod)
	setDefaults(pod)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	return pod, nil
}

// manifestUID is the UID of the static pod of content on node: stable
// across restarts, new when the file changes.
func manifestUID(content []byte, node string) types.UID {
	h := sha256.New()
	h.Write(content)
	h.Write([]byte{0})
	h.Write([]byte(node))
	return types.UID(hex.EncodeToString(h.Sum(nil)))
}

// moreThanOneDocument reports whether a YAML stream holds a document after
// a "---" separator that follows a first one.
func moreThanOneDocument(content []byte) bool {
	docs := 0
	nonEmpty := false
	for line := range bytes.Lines(content) {
		l := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(l, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) {
			if nonEmpty {
				docs++
				nonEmpty = false
			}
			continue
		}
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' {
			nonEmpty = true
		}
	}
	if nonEmpty {
		docs++
	}
	return docs > 1
}

// validate checks the names Edged uses: the pod's (as generated), its
// namespace, and its containers' (at least one, unique, each with an
// image).
func validate(pod *corev1.Pod) error {
	if errs := validation.IsDNS1123Subdomain(pod.Name); len(errs) > 0 {
		return fmt.Errorf("pod name %q: %s", pod.Name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(pod.Namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", pod.Namespace, strings.Join(errs, "; "))
	}
	if len(pod.Spec.Containers) == 0 {
		return errors.New("spec.containers is empty")
	}
	seen := map[string]bool{}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
				return fmt.Errorf("container name %q: %s", c.Name, strings.Join(errs, "; "))
			}
			if seen[c.Name] {
				return fmt.Errorf("container name %q is used twice", c.Name)
			}
			seen[c.Name] = true
			if strings.TrimSpace(c.Image) == "" {
				return fmt.Errorf("container %q has no image", c.Name)
			}
		}
	}
	return nil
}

// tolerateNoExecute adds a toleration of every NoExecute taint, so a
// static pod is never evicted for a node problem (the kubelet's rule).
func tolerateNoExecute(pod *corev1.Pod) {
	all := corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	for _, t := range pod.Spec.Tolerations {
		if t.Key == "" && t.Operator == corev1.TolerationOpExists && t.Effect == corev1.TaintEffectNoExecute {
			return
		}
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, all)
}
