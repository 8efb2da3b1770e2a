package containerspec

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Objects gives the configmaps and secrets a container refers to. A
// missing object is (nil, nil); an error means it could not be read.
type Objects interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
}

// Downward is what the downward API exposes besides the pod's own fields.
type Downward struct {
	NodeName string
	PodIP    string
	HostIP   string
}

// EnvVar is one variable of a container's environment.
type EnvVar struct {
	Name  string
	Value string
}

// ConfigError is a reference in a container's spec that cannot be
// satisfied.
type ConfigError struct {
	Container string
	Err       error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("container %s: %v", e.Container, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Env builds the environment of c in pod, as the kubelet does: envFrom
// sources in order (a later one wins; keys that are not valid variable
// names are skipped), then env entries in order (overriding envFrom), each
// value with $(NAME) expanded from the variables defined before it ($$
// escapes a dollar). The result keeps the order in which names were first
// defined.
func Env(pod *corev1.Pod, c *corev1.Container, objs Objects, d Downward) ([]EnvVar, error) {
	b := envBuilder{index: map[string]int{}}
	for _, from := range c.EnvFrom {
		kv, err := envFromSource(pod.Namespace, from, objs)
		if err != nil {
			return nil, &ConfigError{Container: c.Name, Err: err}
		}
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			name := from.Prefix + k
			if len(validation.IsEnvVarName(name)) > 0 {
				continue
			}
			b.set(name, string(kv[k]))
		}
	}
	for _, e := range c.Env {
		value := Expand(e.Value, b.lookup)
		if e.ValueFrom != nil {
			v, ok, err := valueFrom(pod, e.ValueFrom, objs, d)
			if err != nil {
				return nil, &ConfigError{Container: c.Name, Err: fmt.Errorf("env %s: %w", e.Name, err)}
			}
			if !ok {
				continue // an optional reference that is absent
			}
			value = v
		}
		b.set(e.Name, value)
	}
	return b.vars, nil
}

type envBuilder struct {
	vars  []EnvVar
	index map[string]int
}

func (b *envBuilder) set(name, value string) {
	if i, ok := b.index[name]; ok {
		b.vars[i].Value = value
		return
	}
	b.index[name] = len(b.vars)
	b.vars = append(b.vars, EnvVar{Name: name, Value: value})
}

func (b *envBuilder) lookup(name string) (string, bool) {
	i, ok := b.index[name]
	if !ok {
		return "", false
	}
	return b.vars[i].Value, true
}

// Expand replaces $(NAME) with NAME's value when lookup knows it, keeps
// the reference as written when it does not, and turns $$ into $: the
// kubelet's rule for env values, command and args.
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			out.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			out.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				out.WriteString(s[i:])
				return out.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				out.WriteString(v)
			} else {
				out.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			out.WriteByte('$')
		}
	}
	return out.String()
}
