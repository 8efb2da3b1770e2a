package containerspec

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Kind is what a reference names: a configmap or a secret.
type Kind string

// Kinds of reference.
const (
	KindConfigMap Kind = "configmap"
	KindSecret    Kind = "secret"
)

// ObjectData reads the keys of a configmap (its BinaryData and Data
// merged) or a secret. A missing object gives no keys and no error when
// optional is set; otherwise it is an error naming the object.
func ObjectData(objs Objects, kind Kind, ns, name string, optional *bool) (map[string][]byte, error) {
	var data map[string][]byte
	switch kind {
	case KindConfigMap:
		cm, err := objs.ConfigMap(ns, name)
		if err != nil {
			return nil, fmt.Errorf("read configmap %s/%s: %w", ns, name, err)
		}
		if cm != nil {
			data = make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
			maps.Copy(data, cm.BinaryData)
			for k, v := range cm.Data {
				data[k] = []byte(v)
			}
		}
	case KindSecret:
		s, err := objs.Secret(ns, name)
		if err != nil {
			return nil, fmt.Errorf("read secret %s/%s: %w", ns, name, err)
		}
		if s != nil {
			data = s.Data
			if data == nil {
				data = map[string][]byte{}
			}
		}
	default:
		return nil, fmt.Errorf("unknown kind of object %q", kind)
	}
	if data == nil && !isOptional(optional) {
		return nil, fmt.Errorf("%s %s/%s not found", kind, ns, name)
	}
	return data, nil
}

// envFromSource reads the keys of one envFrom source. An absent optional
// source gives no keys.
func envFromSource(ns string, from corev1.EnvFromSource, objs Objects) (map[string][]byte, error) {
	switch {
	case from.ConfigMapRef != nil:
		return ObjectData(objs, KindConfigMap, ns, from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
	case from.SecretRef != nil:
		return ObjectData(objs, KindSecret, ns, from.SecretRef.Name, from.SecretRef.Optional)
	}
	return nil, fmt.Errorf("envFrom names neither a configmap nor a secret")
}

// valueFrom resolves one env entry's valueFrom; ok is false for an absent
// optional reference, which defines no variable.
func valueFrom(pod *corev1.Pod, src *corev1.EnvVarSource, objs Objects, d Downward) (string, bool, error) {
	switch {
	case src.FieldRef != nil:
		v, err := FieldValue(pod, src.FieldRef.FieldPath, d)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		return keyValue(objs, KindConfigMap, pod.Namespace, ref.Name, ref.Key, ref.Optional)
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		return keyValue(objs, KindSecret, pod.Namespace, ref.Name, ref.Key, ref.Optional)
	case src.ResourceFieldRef != nil:
		return "", false, fmt.Errorf("resourceFieldRef is not supported")
	}
	return "", false, fmt.Errorf("valueFrom names no source")
}

// keyValue reads one key of a configmap or secret; ok is false when the
// reference is optional and the object or the key is missing.
func keyValue(objs Objects, kind Kind, ns, name, key string, optional *bool) (string, bool, error) {
	data, err := ObjectData(objs, kind, ns, name, optional)
	if err != nil {
		return "", false, err
	}
	if v, ok := data[key]; ok {
		return string(v), true, nil
	}
	if isOptional(optional) {
		return "", false, nil
	}
	return "", false, fmt.Errorf("key %q not found in %s %s/%s", key, kind, ns, name)
}

// FieldValue reads a downward-API field path of pod: metadata name,
// namespace, uid, labels and annotations (whole, or one key as
// metadata.labels['k']), spec.nodeName and serviceAccountName, status.podIP and
// hostIP.
func FieldValue(pod *corev1.Pod, path string, d Downward) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return d.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return d.PodIP, nil
	case "status.hostIP", "status.hostIPs":
		return d.HostIP, nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := subscript(path, prefix); ok {
			return m[key], nil
		}
	}
	return "", fmt.Errorf("field path %q is not supported", path)
}

// subscript parses prefix['key'].
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// formatMap renders labels or annotations as the downward API does:
// key="value" lines, sorted by key.
func formatMap(m map[string]string) string {
	lines := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		lines = append(lines, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(lines, "\n")
}

func isOptional(b *bool) bool { return b != nil && *b }
