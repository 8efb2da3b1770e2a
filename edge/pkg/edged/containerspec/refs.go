package containerspec

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// envFromSource reads the keys of one envFrom source. An absent optional
// source gives no keys.
func envFromSource(ns string, from corev1.EnvFromSource, objs Objects) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		ref := from.ConfigMapRef
		cm, err := objs.ConfigMap(ns, ref.Name)
		if err != nil {
			return nil, fmt.Errorf("read configmap %s/%s: %w", ns, ref.Name, err)
		}
		if cm == nil {
			if isOptional(ref.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("configmap %s/%s not found", ns, ref.Name)
		}
		kv := make(map[string]string, len(cm.Data)+len(cm.BinaryData))
		for k, v := range cm.BinaryData {
			kv[k] = string(v)
		}
		for k, v := range cm.Data {
			kv[k] = v
		}
		return kv, nil
	case from.SecretRef != nil:
		ref := from.SecretRef
		s, err := objs.Secret(ns, ref.Name)
		if err != nil {
			return nil, fmt.Errorf("read secret %s/%s: %w", ns, ref.Name, err)
		}
		if s == nil {
			if isOptional(ref.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %s/%s not found", ns, ref.Name)
		}
		kv := make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			kv[k] = string(v)
		}
		return kv, nil
	}
	return nil, fmt.Errorf("envFrom names neither a configmap nor a secret")
}

// valueFrom resolves one env entry's valueFrom; ok is false for an absent
// optional reference, which defines no variable.
func valueFrom(pod *corev1.Pod, src *corev1.EnvVarSource, objs Objects, d Downward) (string, bool, error) {
	ns := pod.Namespace
	switch {
	case src.FieldRef != nil:
		v, err := FieldValue(pod, src.FieldRef.FieldPath, d)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := objs.ConfigMap(ns, ref.Name)
		if err != nil {
			return "", false, fmt.Errorf("read configmap %s/%s: %w", ns, ref.Name, err)
		}
		var v string
		var found bool
		if cm != nil {
			if v, found = cm.Data[ref.Key]; !found {
				b, ok := cm.BinaryData[ref.Key]
				v, found = string(b), ok
			}
		}
		return keyResult("configmap", ns, ref.Name, ref.Key, cm != nil, found, ref.Optional, v)
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := objs.Secret(ns, ref.Name)
		if err != nil {
			return "", false, fmt.Errorf("read secret %s/%s: %w", ns, ref.Name, err)
		}
		var b []byte
		var found bool
		if s != nil {
			b, found = s.Data[ref.Key]
		}
		return keyResult("secret", ns, ref.Name, ref.Key, s != nil, found, ref.Optional, string(b))
	case src.ResourceFieldRef != nil:
		return "", false, fmt.Errorf("resourceFieldRef is not supported")
	}
	return "", false, fmt.Errorf("valueFrom names no source")
}

func keyResult(kind, ns, name, key string, exists, found bool, optional *bool, v string) (string, bool, error) {
	switch {
	case found:
		return v, true, nil
	case isOptional(optional):
		return "", false, nil
	case !exists:
		return "", false, fmt.Errorf("%s %s/%s not found", kind, ns, name)
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
	for _, k := range sortedKeys(m) {
		lines = append(lines, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(lines, "\n")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isOptional(b *bool) bool { return b != nil && *b }
