package volume

import (
	"fmt"
	"io/fs"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

// defaultMode is the mode of a volume's files when the spec sets none.
const defaultMode fs.FileMode = 0o644

// Objects gives the configmaps and secrets volumes refer to; a missing
// object is (nil, nil).
type Objects = containerspec.Objects

// Sources is what a volume's files come from besides the pod.
type Sources struct {
	Objects  Objects
	Downward containerspec.Downward
	// Token returns a service-account token for a projected
	// serviceAccountToken source of pod; nil refuses such sources.
	Token func(pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error)
}

// Payload returns the files of pod's volume v, for configMap, secret,
// downwardAPI and projected volumes. ok is false for other volume types,
// which have no payload.
func Payload(pod *corev1.Pod, v *corev1.Volume, s Sources) (files map[string]File, ok bool, err error) {
	files = map[string]File{}
	switch {
	case v.ConfigMap != nil:
		src := v.ConfigMap
		err = addObject(files, containerspec.KindConfigMap, pod.Namespace, src.Name, src.Items, src.Optional, mode(src.DefaultMode), s.Objects)
	case v.Secret != nil:
		src := v.Secret
		err = addObject(files, containerspec.KindSecret, pod.Namespace, src.SecretName, src.Items, src.Optional, mode(src.DefaultMode), s.Objects)
	case v.DownwardAPI != nil:
		err = addDownward(files, pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode), s.Downward)
	case v.Projected != nil:
		err = addProjected(files, pod, v.Projected, s)
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("volume %s: %w", v.Name, err)
	}
	return files, true, nil
}

func mode(m *int32) fs.FileMode {
	if m == nil {
		return defaultMode
	}
	return fs.FileMode(*m) & fs.ModePerm
}

func addProjected(files map[string]File, pod *corev1.Pod, p *corev1.ProjectedVolumeSource, s Sources) error {
	def := mode(p.DefaultMode)
	for _, src := range p.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			err = addObject(files, containerspec.KindConfigMap, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def, s.Objects)
		case src.Secret != nil:
			err = addObject(files, containerspec.KindSecret, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def, s.Objects)
		case src.DownwardAPI != nil:
			err = addDownward(files, pod, src.DownwardAPI.Items, def, s.Downward)
		case src.ServiceAccountToken != nil:
			if s.Token == nil {
				return fmt.Errorf("serviceAccountToken %s: no token source", src.ServiceAccountToken.Path)
			}
			var tok []byte
			if tok, err = s.Token(pod, src.ServiceAccountToken); err == nil {
				files[src.ServiceAccountToken.Path] = File{Data: tok, Mode: def}
			}
		default:
			err = fmt.Errorf("unsupported projected source")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addObject adds the files of a configmap or secret source.
func addObject(files map[string]File, kind containerspec.Kind, ns, name string, items []corev1.KeyToPath, optional *bool, def fs.FileMode, objs Objects) error {
	data, err := containerspec.ObjectData(objs, kind, ns, name, optional)
	if err != nil {
		return err
	}
	return addKeys(files, fmt.Sprintf("%s %s/%s", kind, ns, name), data, items, optional, def)
}

// addKeys adds every key of data as a file of its name, or, with items,
// the listed keys at their paths and modes. A listed key that is missing
// is an error unless the source is optional.
func addKeys(files map[string]File, what string, data map[string][]byte, items []corev1.KeyToPath, optional *bool, def fs.FileMode) error {
	if len(items) == 0 {
		for k, v := range data {
			files[k] = File{Data: v, Mode: def}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if isOptional(optional) {
				continue
			}
			return fmt.Errorf("key %q not found in %s", it.Key, what)
		}
		m := def
		if it.Mode != nil {
			m = mode(it.Mode)
		}
		files[it.Path] = File{Data: v, Mode: m}
	}
	return nil
}

func addDownward(files map[string]File, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def fs.FileMode, d containerspec.Downward) error {
	for _, it := range items {
		if it.FieldRef == nil {
			return fmt.Errorf("downwardAPI %s: only fieldRef is supported", it.Path)
		}
		v, err := containerspec.FieldValue(pod, it.FieldRef.FieldPath, d)
		if err != nil {
			return fmt.Errorf("downwardAPI %s: %w", it.Path, err)
		}
		m := def
		if it.Mode != nil {
			m = mode(it.Mode)
		}
		files[it.Path] = File{Data: []byte(v), Mode: m}
	}
	return nil
}

func isOptional(b *bool) bool { return b != nil && *b }
